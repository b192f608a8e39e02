/* sqs: SendMessageBatch in AWS JSON 1.0, with per-entry retries; see sqs.h. */
#include "sqs.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "client.h"
#include "../util/env.h"
#include "../util/monotime.h"

#define SQS_MAX_ANSWER     ((size_t)1 << 20)
#define SQS_RETRY_BASE_MS  1000L  /* aws/client.c's DEFAULT_RETRY_BASE_MS */
#define SQS_MAX_BACKOFF_MS 20000L /* aws/client.c's MAX_BACKOFF_MS */

int sqs_send_batch_request(const char *queue_url, const char *const *bodies, const int *only,
                           size_t n, struct buf *out, struct err *e)
{
	json_t *root = NULL, *entries;
	char id[24], *text = NULL;
	size_t i, used = 0;
	int rc = ERR_NOMEM;

	if (!queue_url || !*queue_url)
		return err_set(e, ERR_INVALID, "SendMessageBatch: no queue URL");
	if (n == 0 || n > SQS_BATCH_MAX)
		return err_set(e, ERR_INVALID, "SendMessageBatch: %zu entries (1 to %d)", n,
		               SQS_BATCH_MAX);
	root = json_pack("{s:s, s:[]}", "QueueUrl", queue_url, "Entries");
	entries = json_object_get(root, "Entries");
	for (i = 0; root && i < n; i++) {
		if (only && !only[i])
			continue;
		if (!bodies[i]) {
			json_decref(root);
			return err_set(e, ERR_INVALID, "SendMessageBatch: entry %zu has no body",
			               i);
		}
		snprintf(id, sizeof(id), "%zu", i);
		if (json_array_append_new(
		        entries, json_pack("{s:s, s:s}", "Id", id, "MessageBody", bodies[i])) < 0)
			goto out;
		used++;
	}
	if (!root)
		goto out;
	if (used == 0) {
		json_decref(root);
		return err_set(e, ERR_INVALID, "SendMessageBatch: no entry to send");
	}
	text = json_dumps(root, JSON_COMPACT);
	if (text)
		rc = buf_append_str(out, text);
out:
	free(text);
	json_decref(root);
	if (rc)
		err_set(e, rc, "SendMessageBatch: cannot build the request (%s)",
		        err_code_name(rc));
	return rc;
}

/* The index an entry's Id names, or -1. */
static long entry_index(json_t *entry, size_t n)
{
	const char *id = json_string_value(json_object_get(entry, "Id"));
	char *end;
	long v;

	if (!id || !*id || strlen(id) > 2)
		return -1;
	v = strtol(id, &end, 10);
	if (*end || v < 0 || (size_t)v >= n)
		return -1;
	return v;
}

static void copy_str(char *dst, size_t size, json_t *v)
{
	const char *s = json_string_value(v);

	snprintf(dst, size, "%s", s ? s : "");
}

int sqs_parse_send_batch(const char *json, size_t len, struct sqs_entry_result *results, size_t n,
                         struct err *e)
{
	json_error_t jerr;
	json_t *root = json_loadb(json, len, 0, &jerr), *ok, *failed, *entry;
	size_t i;
	long k;
	int rc = 0;

	if (!json_is_object(root)) {
		json_decref(root);
		return err_set(e, ERR_PARSE, "SendMessageBatch: the answer is no JSON object");
	}
	ok = json_object_get(root, "Successful");
	failed = json_object_get(root, "Failed");
	if ((ok && !json_is_array(ok)) || (failed && !json_is_array(failed))) {
		json_decref(root);
		return err_set(e, ERR_PARSE, "SendMessageBatch: Successful or Failed is no list");
	}
	json_array_foreach(ok, i, entry)
	{
		k = entry_index(entry, n);
		if (k < 0 || !json_is_string(json_object_get(entry, "MessageId"))) {
			rc = err_set(e, ERR_PARSE,
			             "SendMessageBatch: a Successful entry with a bad Id "
			             "or no MessageId");
			break;
		}
		results[k].sent = 1;
		results[k].sender_fault = 0;
		results[k].code[0] = results[k].message[0] = '\0';
		copy_str(results[k].message_id, sizeof(results[k].message_id),
		         json_object_get(entry, "MessageId"));
	}
	json_array_foreach(failed, i, entry)
	{
		if (rc)
			break;
		k = entry_index(entry, n);
		if (k < 0 || !json_is_string(json_object_get(entry, "Code"))) {
			rc = err_set(e, ERR_PARSE,
			             "SendMessageBatch: a Failed entry with a bad Id or no Code");
			break;
		}
		results[k].sent = 0;
		results[k].sender_fault = json_is_true(json_object_get(entry, "SenderFault"));
		copy_str(results[k].code, sizeof(results[k].code), json_object_get(entry, "Code"));
		copy_str(results[k].message, sizeof(results[k].message),
		         json_object_get(entry, "Message"));
	}
	json_decref(root);
	return rc;
}

/* aws/client.c's full-jitter backoff before attempt + 1. */
static long entry_backoff_ms(int attempt)
{
	long base = env_ms("EBSSH_AWS_RETRY_BASE_MS", SQS_RETRY_BASE_MS);
	double cap = (double)base * (double)(1L << (attempt - 1));
	uint32_t r = 0;

	if (cap > SQS_MAX_BACKOFF_MS)
		cap = SQS_MAX_BACKOFF_MS;
	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
		r = UINT32_MAX / 2;
	return (long)((double)r / 4294967296.0 * cap);
}

int sqs_send_message_batch(struct aws_client *c, const char *queue_url, const char *const *bodies,
                           size_t n, struct sqs_entry_result *results, struct err *e)
{
	int pending[SQS_BATCH_MAX];
	struct buf req, answer;
	struct aws_call call;
	size_t i, left;
	int attempt, rc = 0;

	if (n == 0 || n > SQS_BATCH_MAX)
		return err_set(e, ERR_INVALID, "SendMessageBatch: %zu entries (1 to %d)", n,
		               SQS_BATCH_MAX);
	for (i = 0; i < n; i++) {
		memset(&results[i], 0, sizeof(results[i]));
		pending[i] = 1;
	}
	for (attempt = 1; attempt <= SQS_ENTRY_ATTEMPTS; attempt++) {
		if (attempt > 1)
			monotime_sleep_ms(entry_backoff_ms(attempt - 1));
		buf_init(&req, SQS_MAX_ANSWER);
		buf_init(&answer, SQS_MAX_ANSWER);
		rc = sqs_send_batch_request(queue_url, bodies, pending, n, &req, e);
		if (!rc) {
			memset(&call, 0, sizeof(call));
			call.service = "sqs";
			call.endpoint_id = "SQS";
			call.endpoint_prefix = "sqs";
			call.protocol = AWS_PROTOCOL_JSON;
			call.method = "POST";
			call.path = "/";
			call.content_type = SQS_CONTENT_TYPE;
			call.target = SQS_TARGET_SEND_BATCH;
			call.body = req.data;
			call.body_len = req.len;
			rc = aws_client_call(c, &call, &answer, e);
		}
		if (!rc)
			rc = sqs_parse_send_batch(answer.data, answer.len, results, n, e);
		buf_free(&req);
		buf_free(&answer);
		if (rc)
			return rc;
		for (i = 0, left = 0; i < n; i++) {
			/* an entry SQS named in neither list stays pending: sent again */
			pending[i] = !results[i].sent && !results[i].sender_fault;
			left += (size_t)pending[i];
		}
		if (left == 0)
			break;
	}
	for (i = 0; i < n; i++)
		if (!results[i].sent && !results[i].code[0])
			snprintf(results[i].code, sizeof(results[i].code), "NotAnswered");
	return 0;
}
