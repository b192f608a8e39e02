/*
 * lambda: the AWS Lambda REST-JSON calls ebssh makes (signing name
 * "lambda", endpoint id LAMBDA), their answers read by jansson:
 *   ListFunctions           GET  /2015-03-31/functions/?Marker=&MaxItems=
 *   ListVersionsByFunction  GET  /2015-03-31/functions/{name}/versions?Marker=&MaxItems=
 *   GetAccountSettings      GET  /2016-08-19/account-settings/
 *   Invoke (Event)          POST /2015-03-31/functions/{name}/invocations,
 *                           X-Amz-Invocation-Type: Event (202, nothing waits)
 *   Invoke (RequestResponse) the same path (?Qualifier=), X-Amz-Invocation-Type:
 *                           RequestResponse: 200 with the function's answer, and
 *                           X-Amz-Function-Error when the function failed
 * The list calls follow NextMarker to the end (page cap LAMBDA_MAX_PAGES).
 * Queries are built in canonical (sorted) order.
 */
#ifndef EBSSH_AWS_LAMBDA_H
#define EBSSH_AWS_LAMBDA_H

#include <stddef.h>
#include <stdint.h>

#include "../util/buf.h"
#include "../util/err.h"

#define LAMBDA_MAX_PAGES     1000
#define LAMBDA_PAGE_ITEMS    "50" /* MaxItems asked per page (Lambda's own default) */
#define LAMBDA_MAX_NAME      64   /* a bare function name */
#define LAMBDA_MAX_QUALIFIED 170  /* a name or ARN with its qualifier, as Invoke takes it */

struct aws_client;

/* One function configuration as the list calls give it. */
struct lambda_function {
	char *name;        /* FunctionName; owned */
	char *version;     /* Version: "$LATEST", "1", ...; owned */
	char *arn;         /* FunctionArn; owned; "" when absent */
	int64_t code_size; /* CodeSize in bytes; 0 when absent */
};

struct lambda_function_list {
	struct lambda_function *items; /* owned */
	size_t n;
};

struct lambda_account_settings {
	int64_t total_code_size_limit; /* AccountLimit.TotalCodeSize; 0 when absent */
	int64_t total_code_size_used;  /* AccountUsage.TotalCodeSize; 0 when absent */
	int64_t function_count;        /* AccountUsage.FunctionCount; 0 when absent */
};

void lambda_function_list_free(struct lambda_function_list *list);

/*
 * 0 when name is a bare Lambda function name (1 to 64 of A-Z a-z 0-9 - _,
 * Lambda's own rule), else ERR_INVALID with a message saying why.
 */
int lambda_check_function_name(const char *name, struct err *e);

/*
 * Parses one ListFunctions ("Functions") or ListVersionsByFunction
 * ("Versions") answer, appending to *out (zeroed or earlier pages); the
 * list key is list_key. *next_marker gets NextMarker (owned) or NULL.
 * ERR_PARSE for malformed JSON, wrong types, a negative CodeSize or an
 * entry without FunctionName or Version.
 */
int lambda_parse_function_list(const char *json, size_t len, const char *list_key,
                               struct lambda_function_list *out, char **next_marker, struct err *e);

/* Parses a GetAccountSettings answer. ERR_PARSE as above. */
int lambda_parse_account_settings(const char *json, size_t len, struct lambda_account_settings *out,
                                  struct err *e);

/* ListFunctions, every page: $LATEST of every function. *out zeroed. */
int lambda_list_functions(struct aws_client *c, struct lambda_function_list *out, struct err *e);

/* ListVersionsByFunction, every page: $LATEST and every published version. */
int lambda_list_versions(struct aws_client *c, const char *function,
                         struct lambda_function_list *out, struct err *e);

int lambda_get_account_settings(struct aws_client *c, struct lambda_account_settings *out,
                                struct err *e);

/*
 * Invoke with InvocationType Event: Lambda queues payload (JSON, at most
 * 256 KiB for asynchronous calls) and answers 202. function is a name or
 * ARN, optionally qualified. ERR_INVALID for an empty or oversized name or
 * payload; errors as aws_client_call gives them.
 */
int lambda_invoke_event(struct aws_client *c, const char *function, const char *payload, size_t len,
                        struct err *e);

/*
 * 0 when s is a FunctionName as Invoke takes it (botocore's pattern, whole):
 * a name (1 to 64 of A-Z a-z 0-9 - _ .), "ACCOUNT:function:name" or
 * "arn:aws[-...]:lambda:REGION:ACCOUNT:function:name", each with an optional
 * ":qualifier" ($LATEST, a version or an alias); at most
 * LAMBDA_MAX_QUALIFIED characters. Else ERR_INVALID saying what it expects.
 */
int lambda_check_invoke_target(const char *s, struct err *e);

/* What a synchronous Invoke answered. */
struct lambda_invoke_result {
	char *function_error; /* X-Amz-Function-Error: "Unhandled", "Handled"; NULL when the
	                         function returned normally; owned */
	struct buf payload;   /* the function's answer, or its error document; owned */
};

void lambda_invoke_result_init(struct lambda_invoke_result *r);
void lambda_invoke_result_free(struct lambda_invoke_result *r);

/*
 * Invoke with InvocationType RequestResponse: runs function (checked by
 * lambda_check_invoke_target; a qualified name or a version's ARN) with
 * payload (JSON, at most 6 MiB) and waits for its answer. qualifier, when
 * not NULL, goes as ?Qualifier= (1 to 128 of A-Z a-z 0-9 $ _ -). timeout_ms
 * bounds the call, retries included (0: the client's defaults). A function
 * that failed is no error here: out->function_error says so, out->payload
 * holds its error document. *out is initialised here. ERR_INVALID for bad
 * arguments; errors as aws_client_call gives them (ResourceNotFoundException
 * is ERR_AWS with http_status 404).
 */
int lambda_invoke_sync(struct aws_client *c, const char *function, const char *qualifier,
                       const char *payload, size_t len, long timeout_ms,
                       struct lambda_invoke_result *out, struct err *e);

#endif
