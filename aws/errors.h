/*
 * errors: AWS's error answers read into a struct err, and which of their
 * codes mean "throttled".
 *
 * Three shapes: EC2's <Response><Errors><Error><Code/><Message/></Error>
 * </Errors><RequestID/></Response>, the Query APIs' <ErrorResponse><Error>
 * <Type/><Code/><Message/></Error><RequestId/></ErrorResponse> (also with
 * <Errors> around the <Error>, and S3's bare <Error>), and the JSON
 * protocols' {"__type" or "code": "ns#Name", "message" or "Message": ...}
 * with the x-amzn-ErrorType header (SSO OIDC's message is
 * "error_description", as OAuth 2.0 names it). The body is read with expat (no DOCTYPE,
 * no entities) or jansson; nothing of it reaches the message but AWS's own
 * message, made one line of valid UTF-8.
 */
#ifndef EBSSH_AWS_ERRORS_H
#define EBSSH_AWS_ERRORS_H

#include <stddef.h>

#include "../util/err.h"

/*
 * Fills e (may be NULL) via err_set_aws with code ERR_AWS and returns
 * ERR_AWS; the caller turns it into ERR_THROTTLED when it gives up on a
 * throttling code. The body's shape is sniffed ('<' XML, '{' JSON), is_json
 * deciding otherwise. The error code is, for JSON, the x-amzn-ErrorType
 * header, else the body's "code", else its "__type"; for XML the first
 * <Error>'s <Code>, else the header. A code loses any ":http://..." suffix
 * and any "namespace#" prefix. The request id is the body's
 * RequestID/RequestId (XML), else request_id_header (x-amzn-RequestId).
 * headers may be NULL. A body without a code or a message gives aws_code ""
 * and the message "HTTP 503 with an unreadable body" (or "... an empty
 * body"); a code without a message gives "HTTP 400 <Code>".
 */
int errors_parse(int is_json, long http_status, const char *body, size_t len,
                 const char *error_type_header, const char *request_id_header, struct err *e);

/*
 * 1 when AWS's code says "slow down" (the throttling codes of botocore's
 * retry rules: Throttling, ThrottlingException, RequestLimitExceeded, ...)
 * or the status is 429; else 0. aws_code may be NULL.
 */
int errors_is_throttling(const char *aws_code, long http_status);

#endif
