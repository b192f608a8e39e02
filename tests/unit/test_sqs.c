/*
 * Unit tests of aws/sqs: the SendMessageBatch request body (AWS JSON 1.0,
 * botocore 1.43's shape: QueueUrl, Entries[{Id, MessageBody}]), the answer
 * parser (Successful, Failed with SenderFault, bad answers), and the entry
 * retries against a fake aws_client_call (a weak symbol, as in test_logs.c):
 * a partly failed batch sends only its failed entries again, a sender's
 * fault is not retried, a failed call is returned.
 */
#include "test.h"

#include <jansson.h>
#include <stdlib.h>

#include "aws/client.h"
#include "aws/sqs.h"
#include "util/buf.h"

#define FAKE_MAX 8

static struct {
	const char *answers[FAKE_MAX]; /* answer of call i; NULL: the call fails (throttled) */
	size_t n_answers;
	size_t calls;
	char *bodies[FAKE_MAX];
	struct aws_call last;
} fake;

static void fake_reset(void)
{
	size_t i;

	for (i = 0; i < FAKE_MAX; i++)
		free(fake.bodies[i]);
	memset(&fake, 0, sizeof(fake));
}

__attribute__((weak)) int aws_client_call(struct aws_client *c, const struct aws_call *call,
                                          struct buf *body, struct err *e)
{
	size_t i = fake.calls++;
	const char *a = i < fake.n_answers ? fake.answers[i] : NULL;

	(void)c;
	fake.last = *call;
	if (i < FAKE_MAX)
		fake.bodies[i] = strndup(call->body, call->body_len);
	if (!a)
		return err_set_aws(e, ERR_THROTTLED, 400, "RequestThrottled", "rid-1",
		                   "Rate exceeded");
	buf_init(body, 0);
	return buf_append_str(body, a);
}

static const char *const three[] = {"{\"v\":1,\"instance_id\":\"i-0\"}", "b\"1", "c\\2"};

TEST_CASE(request_body_is_json_1_0)
{
	struct buf b;
	struct err e;
	json_t *doc;
	json_error_t jerr;
	int only[3] = {1, 0, 1};

	buf_init(&b, 0);
	CHECK_INT(sqs_send_batch_request("http://q/123/backup", three, NULL, 3, &b, &e), 0);
	doc = json_loadb(b.data, b.len, 0, &jerr);
	CHECK(doc != NULL);
	CHECK_STR(json_string_value(json_object_get(doc, "QueueUrl")), "http://q/123/backup");
	CHECK_INT((int)json_array_size(json_object_get(doc, "Entries")), 3);
	CHECK_STR(json_string_value(
	              json_object_get(json_array_get(json_object_get(doc, "Entries"), 1), "Id")),
	          "1");
	CHECK_STR(json_string_value(json_object_get(
	              json_array_get(json_object_get(doc, "Entries"), 2), "MessageBody")),
	          "c\\2");
	json_decref(doc);
	buf_free(&b);
	buf_init(&b, 0);
	CHECK_INT(sqs_send_batch_request("http://q", three, only, 3, &b, &e), 0);
	CHECK(strstr(b.data, "\"Id\":\"1\"") == NULL);
	CHECK(strstr(b.data, "\"Id\":\"2\"") != NULL);
	buf_free(&b);
}

TEST_CASE(request_refuses_bad_batches)
{
	const char *eleven[11] = {"a", "a", "a", "a", "a", "a", "a", "a", "a", "a", "a"};
	const char *nulls[1] = {NULL};
	int none[3] = {0, 0, 0};
	struct buf b;
	struct err e;

	buf_init(&b, 0);
	CHECK_INT(sqs_send_batch_request("http://q", eleven, NULL, 11, &b, &e), ERR_INVALID);
	CHECK_INT(sqs_send_batch_request("http://q", eleven, NULL, 0, &b, &e), ERR_INVALID);
	CHECK_INT(sqs_send_batch_request(NULL, eleven, NULL, 1, &b, &e), ERR_INVALID);
	CHECK_INT(sqs_send_batch_request("http://q", nulls, NULL, 1, &b, &e), ERR_INVALID);
	CHECK_INT(sqs_send_batch_request("http://q", three, none, 3, &b, &e), ERR_INVALID);
	CHECK_INT((int)b.len, 0);
	buf_free(&b);
}

/* The answer of the SQS API reference's SendMessageBatch example, with a Failed entry. */
static const char partial[] =
    "{\"Successful\":[{\"Id\":\"0\",\"MessageId\":\"0a5231c7-8bff-4955-be2e-8dc7c50a25fa\","
    "\"MD5OfMessageBody\":\"0e024d309850c78cba5eabbeff7cae71\"},{\"Id\":\"2\",\"MessageId\":"
    "\"15ee1ed3-87e7-40c1-bdaa-2e49968ea7e9\",\"MD5OfMessageBody\":\"7fb8146a82f95e0af155278f406"
    "862c2\"}],\"Failed\":[{\"Id\":\"1\",\"SenderFault\":false,\"Code\":\"InternalError\","
    "\"Message\":\"try again\"}]}";

TEST_CASE(parses_partial_answers)
{
	struct sqs_entry_result r[3];
	struct err e;

	memset(r, 0, sizeof(r));
	CHECK_INT(sqs_parse_send_batch(partial, strlen(partial), r, 3, &e), 0);
	CHECK_INT(r[0].sent, 1);
	CHECK_STR(r[0].message_id, "0a5231c7-8bff-4955-be2e-8dc7c50a25fa");
	CHECK_INT(r[1].sent, 0);
	CHECK_STR(r[1].code, "InternalError");
	CHECK_STR(r[1].message, "try again");
	CHECK_INT(r[1].sender_fault, 0);
	CHECK_INT(r[2].sent, 1);
}

TEST_CASE(refuses_bad_answers)
{
	static const char *const bad[] = {
	    "[]",
	    "not json",
	    "{\"Successful\":{}}",
	    "{\"Successful\":[{\"Id\":\"3\",\"MessageId\":\"m\"}]}",
	    "{\"Successful\":[{\"Id\":\"x\",\"MessageId\":\"m\"}]}",
	    "{\"Successful\":[{\"Id\":\"0\"}]}",
	    "{\"Failed\":[{\"Id\":\"0\",\"SenderFault\":true}]}",
	};
	struct sqs_entry_result r[3];
	struct err e;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_INT(sqs_parse_send_batch(bad[i], strlen(bad[i]), r, 3, &e), ERR_PARSE);
}

TEST_CASE(retries_only_failed_entries)
{
	struct sqs_entry_result r[3];
	struct err e;

	setenv("EBSSH_AWS_RETRY_BASE_MS", "1", 1);
	fake_reset();
	fake.answers[0] = partial;
	fake.answers[1] = "{\"Successful\":[{\"Id\":\"1\",\"MessageId\":\"m1\"}],\"Failed\":[]}";
	fake.n_answers = 2;
	CHECK_INT(sqs_send_message_batch(NULL, "http://q", three, 3, r, &e), 0);
	CHECK_INT((int)fake.calls, 2);
	CHECK_STR(fake.last.target, "AmazonSQS.SendMessageBatch");
	CHECK_STR(fake.last.content_type, "application/x-amz-json-1.0");
	CHECK_STR(fake.last.endpoint_id, "SQS");
	CHECK_STR(fake.last.service, "sqs");
	CHECK(strstr(fake.bodies[1], "\"Id\":\"0\"") == NULL);
	CHECK(strstr(fake.bodies[1], "\"Id\":\"1\"") != NULL);
	CHECK(r[0].sent && r[1].sent && r[2].sent);
	CHECK_STR(r[1].message_id, "m1");
	fake_reset();
}

TEST_CASE(gives_up_after_the_attempts_and_on_sender_faults)
{
	static const char again[] =
	    "{\"Successful\":[],\"Failed\":[{\"Id\":\"1\",\"SenderFault\":false,\"Code\":"
	    "\"InternalError\"}]}";
	static const char sender[] =
	    "{\"Successful\":[{\"Id\":\"0\",\"MessageId\":\"m\"},{\"Id\":\"1\",\"MessageId\":\"n\"}"
	    "],"
	    "\"Failed\":[{\"Id\":\"2\",\"SenderFault\":true,\"Code\":\"InvalidParameterValue\"}]}";
	struct sqs_entry_result r[3];
	struct err e;

	setenv("EBSSH_AWS_RETRY_BASE_MS", "1", 1);
	fake_reset();
	fake.answers[0] = partial;
	fake.answers[1] = again;
	fake.answers[2] = again;
	fake.answers[3] = partial; /* never asked */
	fake.n_answers = 4;
	CHECK_INT(sqs_send_message_batch(NULL, "http://q", three, 3, r, &e), 0);
	CHECK_INT((int)fake.calls, SQS_ENTRY_ATTEMPTS);
	CHECK(r[0].sent && !r[1].sent && r[2].sent);
	CHECK_STR(r[1].code, "InternalError");

	fake_reset();
	fake.answers[0] = sender;
	fake.n_answers = 1;
	CHECK_INT(sqs_send_message_batch(NULL, "http://q", three, 3, r, &e), 0);
	CHECK_INT((int)fake.calls, 1);
	CHECK(!r[2].sent && r[2].sender_fault);
	CHECK_STR(r[2].code, "InvalidParameterValue");
	fake_reset();
}

TEST_CASE(a_failed_call_is_returned)
{
	struct sqs_entry_result r[3];
	struct err e;

	fake_reset();
	fake.n_answers = 0;
	CHECK_INT(sqs_send_message_batch(NULL, "http://q", three, 3, r, &e), ERR_THROTTLED);
	CHECK_STR(e.aws_code, "RequestThrottled");
	CHECK(!r[0].sent && !r[1].sent && !r[2].sent);
	/* an answer missing an entry: sent again, then reported as not answered */
	fake_reset();
	fake.answers[0] = "{\"Successful\":[{\"Id\":\"0\",\"MessageId\":\"m\"}]}";
	fake.answers[1] = "{\"Successful\":[{\"Id\":\"2\",\"MessageId\":\"m\"}]}";
	fake.answers[2] = "{}";
	fake.n_answers = 3;
	CHECK_INT(sqs_send_message_batch(NULL, "http://q", three, 3, r, &e), 0);
	CHECK(r[0].sent && !r[1].sent && r[2].sent);
	CHECK_STR(r[1].code, "NotAnswered");
	fake_reset();
}

int main(void)
{
	RUN(request_body_is_json_1_0);
	RUN(request_refuses_bad_batches);
	RUN(parses_partial_answers);
	RUN(refuses_bad_answers);
	RUN(retries_only_failed_entries);
	RUN(gives_up_after_the_attempts_and_on_sender_faults);
	RUN(a_failed_call_is_returned);
	return TEST_DONE();
}
