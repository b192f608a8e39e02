/*
 * Unit tests of aws/cloudwatch: the PutMetricData form body byte for byte
 * as botocore's query serializer writes it for the same input, value
 * formatting, refused input, the Query APIs' XML errors jclouds recorded
 * ($EBSSH_VECTORS/cloudwatch) read by aws/errors, and the call itself
 * against a fake aws_client_call (a weak symbol, as in test_ec2.c).
 */
#include "test.h"

#include <math.h>

#include "aws/client.h"
#include "aws/cloudwatch.h"
#include "aws/errors.h"
#include "util/buf.h"

static struct {
	size_t calls;
	struct aws_call last;
	char *body;
} fake;

__attribute__((weak)) int aws_client_call(struct aws_client *c, const struct aws_call *call,
                                          struct buf *body, struct err *e)
{
	(void)c;
	(void)e;
	fake.calls++;
	fake.last = *call;
	free(fake.body);
	fake.body = strndup(call->body, call->body_len);
	buf_init(body, 0);
	return buf_append_str(body, "<PutMetricDataResponse/>");
}

static char *form_of(const char *ns, const struct cloudwatch_datum *d, size_t n, int *rc)
{
	struct buf b;
	struct err e;

	buf_init(&b, 0);
	*rc = cloudwatch_put_metric_data_form(ns, d, n, &b, &e);
	if (*rc) {
		buf_free(&b);
		return NULL;
	}
	return buf_take(&b);
}

TEST_CASE(form_matches_botocore)
{
	/* What botocore 1.29's query serializer writes for the same input, but
	 * for the value: botocore prints repr(123456789.0), we the shortest
	 * text of the same double. */
	static const struct cloudwatch_dimension dims[] = {{"Region", "us-east-1"}};
	const struct cloudwatch_datum d[] = {
	    {"LambdaCodeStorageBytes", 123456789.0, "Bytes", 0, dims, 1},
	    {"LambdaCodeStorageShare", 0.15, "Percent", 0, NULL, 0},
	};
	int rc;
	char *form = form_of("ebssh", d, 2, &rc);

	CHECK_INT(rc, 0);
	CHECK_STR(form, "Action=PutMetricData&Version=2010-08-01&Namespace=ebssh"
	                "&MetricData.member.1.MetricName=LambdaCodeStorageBytes"
	                "&MetricData.member.1.Value=123456789"
	                "&MetricData.member.1.Unit=Bytes"
	                "&MetricData.member.1.Dimensions.member.1.Name=Region"
	                "&MetricData.member.1.Dimensions.member.1.Value=us-east-1"
	                "&MetricData.member.2.MetricName=LambdaCodeStorageShare"
	                "&MetricData.member.2.Value=0.15"
	                "&MetricData.member.2.Unit=Percent");
	free(form);
}

TEST_CASE(form_encodes_names_and_times)
{
	static const struct cloudwatch_dimension dims[] = {{"Function Name", "a&b=c"},
	                                                   {"Kind", "x/y"}};
	const struct cloudwatch_datum d[] = {
	    {"New Posts", 0.1, NULL, 1371068900123LL, dims, 2},
	};
	int rc;
	char *form = form_of("Usage Metrics", d, 1, &rc);

	CHECK_INT(rc, 0);
	CHECK_STR(form, "Action=PutMetricData&Version=2010-08-01&Namespace=Usage%20Metrics"
	                "&MetricData.member.1.MetricName=New%20Posts"
	                "&MetricData.member.1.Value=0.1"
	                "&MetricData.member.1.Dimensions.member.1.Name=Function%20Name"
	                "&MetricData.member.1.Dimensions.member.1.Value=a%26b%3Dc"
	                "&MetricData.member.1.Dimensions.member.2.Name=Kind"
	                "&MetricData.member.1.Dimensions.member.2.Value=x%2Fy"
	                "&MetricData.member.1.Timestamp=2013-06-12T20%3A28%3A20.123Z");
	free(form);
}

TEST_CASE(values_read_back_exactly)
{
	const double values[] = {0, -2.5, 1e-300, 80530636800.0, 1.0 / 3.0, 99.99999999999999};
	char *form, *v;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		const struct cloudwatch_datum d = {"m", values[i], NULL, 0, NULL, 0};
		form = form_of("ns", &d, 1, &rc);
		CHECK_INT(rc, 0);
		v = form ? strstr(form, "Value=") : NULL;
		CHECK(v != NULL);
		if (v)
			CHECK(strtod(v + 6, NULL) == values[i]);
		free(form);
	}
}

TEST_CASE(refuses_bad_data)
{
	static const struct cloudwatch_dimension empty[] = {{"Name", ""}};
	struct cloudwatch_datum d = {"m", 1, NULL, 0, NULL, 0};
	int rc;

	CHECK(form_of("", &d, 1, &rc) == NULL);
	CHECK_INT(rc, ERR_INVALID);
	CHECK(form_of("ns", &d, 0, &rc) == NULL);
	CHECK_INT(rc, ERR_INVALID);
	CHECK(form_of("ns", &d, CLOUDWATCH_MAX_DATA + 1, &rc) == NULL);
	CHECK_INT(rc, ERR_INVALID);
	d.value = NAN;
	CHECK(form_of("ns", &d, 1, &rc) == NULL);
	CHECK_INT(rc, ERR_INVALID);
	d.value = INFINITY;
	CHECK(form_of("ns", &d, 1, &rc) == NULL);
	d.value = 1;
	d.metric_name = "";
	CHECK(form_of("ns", &d, 1, &rc) == NULL);
	d.metric_name = "m";
	d.dimensions = empty;
	d.n_dimensions = 1;
	CHECK(form_of("ns", &d, 1, &rc) == NULL);
	d.n_dimensions = CLOUDWATCH_MAX_DIMENSIONS + 1;
	CHECK(form_of("ns", &d, 1, &rc) == NULL);
	CHECK_INT(rc, ERR_INVALID);
}

TEST_CASE(query_errors_from_jclouds)
{
	static const char *const files[][2] = {
	    {"jclouds-InvalidFormatResponse.xml", "InvalidFormat"},
	    {"jclouds-LimitExceededResponse.xml", "LimitExceeded"},
	};
	char path[1024];
	size_t i, len;
	struct err e;

	for (i = 0; i < 2; i++) {
		char *body;
		snprintf(path, sizeof(path), "%s/cloudwatch/%s", test_vectors_dir(), files[i][0]);
		body = test_read_file(path, &len);
		CHECK(body != NULL);
		if (!body)
			continue;
		CHECK_INT(errors_parse(0, 400, body, len, NULL, NULL, &e), ERR_AWS);
		CHECK_STR(e.aws_code, files[i][1]);
		CHECK_STR(e.request_id, "a9f8f3a3-e40f-11dd-af0f-cf11f65ec49d");
		free(body);
	}
}

TEST_CASE(put_metric_data_call)
{
	const struct cloudwatch_datum d = {"LambdaCodeStorageBytes", 42, "Bytes", 0, NULL, 0};
	struct err e;

	CHECK_INT(cloudwatch_put_metric_data((struct aws_client *)1, "ebssh", &d, 1, &e), 0);
	CHECK_INT((int)fake.calls, 1);
	CHECK_STR(fake.last.service, "monitoring");
	CHECK_STR(fake.last.endpoint_id, "CLOUDWATCH");
	CHECK_STR(fake.last.endpoint_prefix, "monitoring");
	CHECK_INT(fake.last.protocol, AWS_PROTOCOL_QUERY);
	CHECK_STR(fake.last.method, "POST");
	CHECK_STR(fake.last.path, "/");
	CHECK_STR(fake.last.content_type, "application/x-www-form-urlencoded; charset=utf-8");
	CHECK_STR(fake.body, "Action=PutMetricData&Version=2010-08-01&Namespace=ebssh"
	                     "&MetricData.member.1.MetricName=LambdaCodeStorageBytes"
	                     "&MetricData.member.1.Value=42&MetricData.member.1.Unit=Bytes");
	CHECK_INT(cloudwatch_put_metric_data((struct aws_client *)1, NULL, &d, 1, &e), ERR_INVALID);
	CHECK_INT((int)fake.calls, 1);
	free(fake.body);
	fake.body = NULL;
}

int main(void)
{
	RUN(form_matches_botocore);
	RUN(form_encodes_names_and_times);
	RUN(values_read_back_exactly);
	RUN(refuses_bad_data);
	RUN(query_errors_from_jclouds);
	RUN(put_metric_data_call);
	return TEST_DONE();
}
