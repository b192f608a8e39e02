/*
 * Unit tests of aws/query: the form's head and lists, the "cannot build"
 * error, and the exact call aws_client_call receives (faked, as in
 * test_ec2.c: a weak definition keeps aws/client.o out of the link).
 */
#include "test.h"

#include "aws/client.h"
#include "aws/query.h"
#include "util/buf.h"

static struct {
	struct aws_call call;
	char *body;
	size_t body_max;
	int calls;
} fake;

__attribute__((weak)) int aws_client_call(struct aws_client *c, const struct aws_call *call,
                                          struct buf *body, struct err *e)
{
	(void)c;
	(void)e;
	fake.calls++;
	fake.call = *call;
	free(fake.body);
	fake.body = strndup(call->body, call->body_len);
	fake.body_max = body->max;
	return buf_append_str(body, "<ok/>");
}

static const struct query_api api = {"monitoring", "CLOUDWATCH", "monitoring", "2010-08-01", 4096};

TEST_CASE(forms)
{
	static const char *const ids[] = {"i-1", "a b&c"};
	struct buf form;

	buf_init(&form, 0);
	CHECK_INT(query_form_start(&form, &api, "PutMetricData"), 0);
	CHECK_INT(query_form_list(&form, "InstanceId", ids, 2), 0);
	CHECK_INT(query_form_list(&form, "None", NULL, 0), 0);
	CHECK_STR(buf_str(&form), "Action=PutMetricData&Version=2010-08-01&InstanceId.1=i-1&"
	                          "InstanceId.2=a%20b%26c");
	buf_free(&form);
}

TEST_CASE(build_failure)
{
	struct buf form;
	struct err e;

	buf_init(&form, 0);
	buf_append_str(&form, "x=y");
	CHECK_INT(query_form_failed(&form, "CreateTags", ERR_NOMEM, &e), ERR_NOMEM);
	CHECK(form.data == NULL);
	CHECK_STR(e.message, "CreateTags: cannot build the request (out_of_memory)");
}

TEST_CASE(the_call)
{
	struct buf form, body;
	struct err e;

	buf_init(&form, 0);
	CHECK_INT(query_form_start(&form, &api, "PutMetricData"), 0);
	CHECK_INT(query_call(NULL, &api, &form, &body, &e), 0);
	CHECK(form.data == NULL); /* the form is freed */
	CHECK_STR(buf_str(&body), "<ok/>");
	CHECK_INT(fake.calls, 1);
	CHECK_STR(fake.body, "Action=PutMetricData&Version=2010-08-01");
	CHECK_STR(fake.call.service, "monitoring");
	CHECK_STR(fake.call.endpoint_id, "CLOUDWATCH");
	CHECK_STR(fake.call.endpoint_prefix, "monitoring");
	CHECK_INT(fake.call.protocol, AWS_PROTOCOL_QUERY);
	CHECK_STR(fake.call.method, "POST");
	CHECK_STR(fake.call.path, "/");
	CHECK(fake.call.query == NULL && fake.call.target == NULL);
	CHECK_STR(fake.call.content_type, "application/x-www-form-urlencoded; charset=utf-8");
	CHECK_INT(fake.body_max, 4096);
	buf_free(&body);
	free(fake.body);
	fake.body = NULL;
}

int main(void)
{
	RUN(forms);
	RUN(build_failure);
	RUN(the_call);
	return TEST_DONE();
}
