/*
 * sqs: Amazon SQS SendMessageBatch, in the protocol current SDKs use (AWS
 * JSON 1.0: POST / with X-Amz-Target "AmazonSQS.SendMessageBatch" and
 * Content-Type application/x-amz-json-1.0, botocore 1.43's model; the
 * older Query protocol of botocore 1.29 is not spoken). The endpoint is
 * resolved by aws/endpoint.c (AWS_ENDPOINT_URL_SQS, AWS_ENDPOINT_URL, the
 * regional https://sqs.<region>.amazonaws.com); the queue is named by its
 * URL in the body (QueueUrl), as the SDKs do.
 *
 * One call carries up to SQS_BATCH_MAX messages (SQS's limit), each with
 * the Id "<its index in the call>". SQS answers each entry separately
 * (Successful, Failed): an entry that failed on SQS's side (SenderFault
 * false: InternalError, throttling) is sent again in a new call, up to
 * SQS_ENTRY_ATTEMPTS calls in all, after the client's full-jitter
 * exponential backoff (EBSSH_AWS_RETRY_BASE_MS, default 1000 ms, doubling,
 * at most 20 s: aws/client.c's schedule); a sender's fault is not retried.
 * A throttled or failing call as a whole is retried by aws_client_call
 * (its standard retries and backoff); when it still fails, no entry of
 * that call is known sent and the call's error is returned.
 */
#ifndef EBSSH_AWS_SQS_H
#define EBSSH_AWS_SQS_H

#include <stddef.h>

#include "../util/buf.h"
#include "../util/err.h"

#define SQS_BATCH_MAX         10 /* entries of one SendMessageBatch */
#define SQS_ENTRY_ATTEMPTS    3  /* calls that may carry one entry */
#define SQS_TARGET_SEND_BATCH "AmazonSQS.SendMessageBatch"
#define SQS_CONTENT_TYPE      "application/x-amz-json-1.0"

struct aws_client;

/* One entry's outcome. */
struct sqs_entry_result {
	int sent;             /* 1: SQS accepted it */
	int sender_fault;     /* the last failure was the sender's (not retried) */
	char message_id[128]; /* SQS's MessageId when sent, else "" */
	char code[64];        /* the last failure's Code, else "" */
	char message[256];    /* the last failure's Message, else "" */
};

/*
 * The JSON body of one SendMessageBatch carrying bodies[i] for each i with
 * (!only || only[i]) (at most SQS_BATCH_MAX of n), with the Id "i",
 * appended to out. ERR_INVALID (no queue URL, n = 0 or > SQS_BATCH_MAX, no
 * entry selected, a NULL body), ERR_NOMEM.
 */
int sqs_send_batch_request(const char *queue_url, const char *const *bodies, const int *only,
                           size_t n, struct buf *out, struct err *e);

/*
 * Reads one SendMessageBatch answer into results[0..n-1]: a Successful
 * entry with Id "i" sets results[i].sent and its message id; a Failed one
 * its code, message and sender_fault (sent stays 0). ERR_PARSE for JSON
 * that is not such an answer, or an Id that is not one of 0..n-1.
 */
int sqs_parse_send_batch(const char *json, size_t len, struct sqs_entry_result *results, size_t n,
                         struct err *e);

/*
 * Sends n (1..SQS_BATCH_MAX) message bodies to queue_url, retrying the
 * entries that failed on SQS's side as above. 0 when the calls were
 * answered: results[i] says whether bodies[i] was sent (a caller counts
 * failures itself). Else a negative code and e: the call failed (network,
 * AWS error, still throttled) and the entries not yet sent stay unsent
 * (results filled as far as known).
 */
int sqs_send_message_batch(struct aws_client *c, const char *queue_url, const char *const *bodies,
                           size_t n, struct sqs_entry_result *results, struct err *e);

#endif
