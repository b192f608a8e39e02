/*
 * event: what a Lambda invocation's payload is, and the HTTP answer in the
 * shape its caller expects.
 *
 * event_parse recognises API Gateway REST events (payload 1.0), HTTP API
 * events (1.0 or 2.0), Function URL events (2.0), EventBridge events
 * (scheduled, CodePipeline state changes, others), CloudWatch Logs
 * subscriptions, CodePipeline jobs and CodeDeploy lifecycle hook events
 * ({"DeploymentId", "LifecycleEventHookExecutionId"}, both non-empty
 * strings: the pre-traffic hook's) and SQS batches from an event source
 * mapping ({"Records": [...]} whose records' eventSource is "aws:sqs":
 * each record's messageId, a non-empty string, its body (NULL when not a
 * string: the workflow fails that record) and
 * attributes.ApproximateReceiveCount, at most EVENT_MAX_SQS_RECORDS; a
 * record of another source makes the event invalid). EVENT_S3: S3 event
 * notifications ({"Records": [{"eventSource": "aws:s3", "s3": ...}]}) as S3
 * sends them to a function, inside SNS records (Records[].Sns.Message, the
 * seed's path), inside an SQS batch (each body an S3 event or an SNS
 * envelope {"Type": "Notification", "Message": ...}: a redrive), and the
 * retry topic's doubly wrapped form (an SNS record whose Message is a Lambda
 * destination record whose requestPayload is the first stage's SNS event):
 * every ObjectCreated:* record of every layer, in order, keys decoded; other
 * S3 events (s3:TestEvent, ObjectRemoved) are left out. An SNS event whose
 * messages hold no S3 event is still EVENT_S3 with no records; an SQS batch
 * is EVENT_S3 when its first body is one of those shapes. An HTTP event becomes a
 * router_request: the path percent-decoded once (invalid escapes and %00
 * kept as they are) and, for an HTTP API on a named stage, without its
 * "/{stage}" prefix; query parameters decoded ('+' is a space); 1.0's
 * multi-value headers and query preferred to the single-value ones; 2.0's
 * cookies as one "Cookie" header; a base64 body decoded. request_id is API
 * Gateway's requestContext.requestId (NULL when the event has none). The
 * caller (router_request.caller, message.h): REST / 1.0's
 * requestContext.identity.apiKeyId, userArn, caller and sourceIp; 2.0's
 * requestContext.authorizer.iam.userArn and callerId and http.sourceIp;
 * a field that is absent, empty or no string stays NULL (never an error).
 * The key match stays ROUTER_KEY_UNCHECKED: the router decides by the ids.
 *
 * event_format_response writes the router_response as the matching Lambda
 * proxy answer: 1.0 {"statusCode", "headers", "multiValueHeaders" (names
 * that repeat), "body", "isBase64Encoded"}; 2.0 {"statusCode", "headers"
 * (repeats comma-joined), "cookies" (from Set-Cookie), "body",
 * "isBase64Encoded"}. A body that is not UTF-8 goes out in base64.
 */
#ifndef EBSSH_LAMBDA_EVENT_H
#define EBSSH_LAMBDA_EVENT_H

#include <jansson.h>
#include <stddef.h>

#include "../../util/buf.h"
#include "../../util/err.h"
#include "../router/message.h"

#define EVENT_MAX_BYTES       ((size_t)6 * 1024 * 1024) /* Lambda's synchronous payload limit */
#define EVENT_MAX_PATH        8192
#define EVENT_MAX_PAIRS       512 /* headers, and query parameters */
#define EVENT_MAX_METHOD      16
#define EVENT_MAX_SQS_RECORDS 10000 /* an event source mapping's largest batch */

enum event_kind {
	EVENT_HTTP = 1,         /* API Gateway or Function URL: request and format */
	EVENT_SCHEDULED,        /* EventBridge "Scheduled Event": rule_name */
	EVENT_CODEPIPELINE,     /* EventBridge event from aws.codepipeline (state changes) */
	EVENT_EVENTBRIDGE,      /* any other EventBridge event: source, detail_type */
	EVENT_LOGS,             /* CloudWatch Logs subscription: logs_data */
	EVENT_CODEPIPELINE_JOB, /* a CodePipeline job ("CodePipeline.job") */
	EVENT_CODEDEPLOY_HOOK,  /* a CodeDeploy lifecycle hook: deployment_id, hook_execution_id */
	EVENT_SQS,              /* an SQS batch from an event source mapping: sqs_records */
	EVENT_S3                /* S3 object notifications: s3_records */
};

/* One S3 ObjectCreated notification; strings owned. */
struct event_s3_record {
	char *event_name;     /* "ObjectCreated:Put", ... */
	char *bucket;         /* s3.bucket.name */
	char *key;            /* s3.object.key decoded ('+' a space, %XX) */
	char *version_id;     /* s3.object.versionId; NULL when absent */
	char *etag;           /* s3.object.eTag; NULL when absent */
	long long size;       /* s3.object.size; -1 when absent */
	char *sqs_message_id; /* the SQS message that carried it; NULL when not via SQS */
};

/* One message of an SQS batch; strings borrowed from event.json. */
struct event_sqs_record {
	const char *message_id; /* never NULL: the batch item failure's itemIdentifier */
	const char *body;       /* NULL when absent or not a string */
	long receive_count;     /* attributes.ApproximateReceiveCount; 0 when absent */
};

enum event_format {
	EVENT_FORMAT_V1 = 1, /* API Gateway REST, HTTP API payload 1.0 */
	EVENT_FORMAT_V2 = 2  /* HTTP API payload 2.0, Function URL */
};

struct event {
	enum event_kind kind;
	enum event_format format;      /* EVENT_HTTP only */
	struct router_request request; /* EVENT_HTTP only; owned */
	char *source;                  /* EventBridge "source"; owned, NULL when absent */
	char *detail_type;             /* EventBridge "detail-type"; owned, NULL when absent */
	char *rule_name;               /* EVENT_SCHEDULED: resources[0] after its last '/';
	                                  owned, NULL when absent */
	char *logs_data;               /* EVENT_LOGS: awslogs.data as sent (base64 of gzip) */
	char *deployment_id;           /* EVENT_CODEDEPLOY_HOOK: DeploymentId; owned */
	char *hook_execution_id;       /* EVENT_CODEDEPLOY_HOOK: LifecycleEventHookExecutionId;
	                                  owned */
	json_t *json;                  /* the whole event for the non-HTTP kinds (owned
	                                  reference), NULL for EVENT_HTTP */
	struct event_sqs_record *sqs_records; /* EVENT_SQS: owned array */
	size_t n_sqs_records;
	struct event_s3_record *s3_records; /* EVENT_S3: owned array */
	size_t n_s3_records;
};

void event_init(struct event *ev);
void event_free(struct event *ev);

/* The kind's name in logs and answers: "http", "scheduled", "codepipeline",
 * "eventbridge", "logs", "codepipeline-job", "codedeploy-hook", "sqs", "s3"; "unknown" for
 * anything else. */
const char *event_kind_name(enum event_kind kind);

/*
 * Parses one invocation payload into *out (initialised here; event_free it
 * even on failure). ERR_INVALID for malformed JSON or an event of no known
 * kind or shape, ERR_TOO_LARGE past the bounds above, ERR_NOMEM.
 */
int event_parse(const char *json, size_t len, struct event *out, struct err *e);

/* Appends the proxy answer of format for resp to out. ERR_NOMEM, ERR_TOO_LARGE. */
int event_format_response(enum event_format format, const struct router_response *resp,
                          struct buf *out, struct err *e);

/*
 * Decodes padded standard base64 (util/b64's strict rules; whitespace
 * around it ignored) into a malloc'd NUL-terminated buffer; *out_len
 * excludes the NUL. ERR_INVALID when malformed.
 */
int event_base64_decode(const char *in, size_t len, char **out, size_t *out_len, struct err *e);

#endif
