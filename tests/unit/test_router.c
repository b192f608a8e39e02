/* Unit tests of lambda/router (table, adapters) through the describe_instances seam. */
#include "test.h"

#include <jansson.h>
#include <stdint.h>

#include "aws/ec2.h"
#include "lambda/router/router.h"
#include "lambda/router/routes.h"

/* ---- a fake DescribeInstances ---- */

struct fake {
	struct ec2_instance_list tmpl; /* what every call answers (deep-copied) */
	int calls;
	struct err fail; /* when fail.code < 0, calls fail with it */
	char filter_name[2][64];
	char filter_value[2][600];
	size_t n_filters;
};

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static void add_inst(struct ec2_instance_list *l, const char *id, const char *state,
                     const char *pub, const char *priv, const char *launch, int64_t ms,
                     const char *tag_key, const char *tag_value)
{
	struct ec2_instance *in;

	l->items = realloc(l->items, (l->n + 1) * sizeof(*l->items));
	in = &l->items[l->n++];
	memset(in, 0, sizeof(*in));
	in->instance_id = strdup(id);
	in->state = dup_or_null(state);
	in->public_ip = dup_or_null(pub);
	in->private_ip = dup_or_null(priv);
	in->launch_time = dup_or_null(launch);
	in->launch_time_ms = ms;
	in->availability_zone = strdup("eu-west-1a");
	in->tags = calloc(2, sizeof(*in->tags));
	in->tags[0].key = strdup("Name");
	in->tags[0].value = strdup("web");
	in->n_tags = 1;
	if (tag_key) {
		in->tags[1].key = strdup(tag_key);
		in->tags[1].value = strdup(tag_value);
		in->n_tags = 2;
	}
}

static void copy_list(struct ec2_instance_list *out, const struct ec2_instance_list *in)
{
	size_t i;

	for (i = 0; i < in->n; i++) {
		const struct ec2_instance *s = &in->items[i];
		const char *k = s->n_tags > 1 ? s->tags[1].key : NULL;
		const char *v = s->n_tags > 1 ? s->tags[1].value : NULL;
		add_inst(out, s->instance_id, s->state, s->public_ip, s->private_ip, s->launch_time,
		         s->launch_time_ms, k, v);
	}
}

static int fake_describe(struct service_context *ctx, const struct ec2_filter *filters,
                         size_t n_filters, struct ec2_instance_list *out, struct err *e)
{
	struct fake *f = ctx->seam_data;
	size_t i;

	f->calls++;
	f->n_filters = n_filters;
	for (i = 0; i < n_filters && i < 2; i++) {
		snprintf(f->filter_name[i], sizeof(f->filter_name[i]), "%s", filters[i].name);
		snprintf(f->filter_value[i], sizeof(f->filter_value[i]), "%s",
		         filters[i].n_values == 1 ? filters[i].values[0] : "(n_values != 1)");
	}
	if (f->fail.code < 0) {
		*e = f->fail;
		return f->fail.code;
	}
	copy_list(out, &f->tmpl);
	return 0;
}

/* The fixture environment "my-env": launch order a (tie with b, by id), b, c;
 * d is the oldest but has no public address; stopped, other-env and
 * untagged instances must never appear. */
static void fixture(struct fake *f)
{
	const char *k = "elasticbeanstalk:environment-name";

	memset(f, 0, sizeof(*f));
	add_inst(&f->tmpl, "i-0ccc", "running", "203.0.113.3", "10.0.0.3",
	         "2024-01-01T00:00:02.000Z", 1704067202000, k, "my-env");
	add_inst(&f->tmpl, "i-0bbb", "running", "203.0.113.2", "10.0.0.2",
	         "2024-01-01T00:00:01.000Z", 1704067201000, k, "my-env");
	add_inst(&f->tmpl, "i-0aaa", "running", "203.0.113.1", "10.0.0.1",
	         "2024-01-01T00:00:01.000Z", 1704067201000, k, "my-env");
	add_inst(&f->tmpl, "i-0000", "stopped", "203.0.113.9", "10.0.0.9",
	         "2023-01-01T00:00:00.000Z", 1672531200000, k, "my-env");
	add_inst(&f->tmpl, "i-0ddd", "running", NULL, "10.0.0.4", "2023-06-01T00:00:00.000Z",
	         1685577600000, k, "my-env");
	add_inst(&f->tmpl, "i-0eee", "running", "203.0.113.5", "10.0.0.5",
	         "2020-01-01T00:00:00.000Z", 1577836800000, k, "my-env-2");
	add_inst(&f->tmpl, "i-0fff", "running", "203.0.113.6", "10.0.0.6",
	         "2020-01-01T00:00:00.000Z", 1577836800000, NULL, NULL);
}

static void fake_free(struct fake *f)
{
	ec2_instance_list_free(&f->tmpl);
}

/* ---- requests and answers ---- */

struct call {
	struct service_context ctx;
	struct router_request req;
	struct router_response resp;
	json_t *json; /* the body parsed, when it is JSON */
};

static void call_init(struct call *c, struct fake *f, const char *method, const char *path)
{
	memset(c, 0, sizeof(*c));
	c->ctx.describe_instances = fake_describe;
	c->ctx.seam_data = f;
	router_request_init(&c->req);
	router_response_init(&c->resp);
	c->req.method = strdup(method);
	c->req.path = strdup(path);
}

static void call_header(struct call *c, const char *name, const char *value)
{
	router_pair_add(&c->req.headers, &c->req.n_headers, name, value);
}

static void call_query(struct call *c, const char *name, const char *value)
{
	router_pair_add(&c->req.query, &c->req.n_query, name, value);
}

static const char *resp_header(const struct router_response *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->n_headers; i++)
		if (strcasecmp(r->headers[i].name, name) == 0)
			return r->headers[i].value;
	return NULL;
}

static void call_run(struct call *c)
{
	CHECK_INT(router_handle(&c->ctx, &c->req, &c->resp), 0);
	CHECK_STR(resp_header(&c->resp, "Cache-Control"), "no-store");
	if (c->resp.content_type && strcmp(c->resp.content_type, "application/json") == 0) {
		c->json = json_loadb(c->resp.body.data, c->resp.body.len, 0, NULL);
		CHECK(c->json != NULL);
	}
}

static void call_free(struct call *c)
{
	json_decref(c->json);
	router_request_free(&c->req);
	router_response_free(&c->resp);
}

static const char *jstr(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* Runs method path; checks the status and, for errors, the JSON error code. */
static void expect(struct fake *f, const char *method, const char *path, int status,
                   const char *code)
{
	struct call c;

	call_init(&c, f, method, path);
	call_run(&c);
	CHECK_INT(c.resp.status, status);
	if (code) {
		CHECK_STR(c.resp.content_type, "application/json");
		CHECK_STR(jstr(c.json, "code"), code);
		CHECK(jstr(c.json, "message") != NULL);
		CHECK_INT(json_object_size(c.json), 2);
	}
	if (c.resp.status != status)
		printf("# path %s body %s\n", path, buf_str(&c.resp.body));
	call_free(&c);
}

/* ---- cases ---- */

TEST_CASE(health_answers_ok_without_aws)
{
	struct fake f;
	struct call c;

	fixture(&f);
	call_init(&c, &f, "GET", "/health");
	call_run(&c);
	CHECK_INT(c.resp.status, 200);
	CHECK_STR(buf_str(&c.resp.body), "ok\n");
	CHECK_STR(c.resp.content_type, "text/plain; charset=utf-8");
	CHECK_STR(c.resp.route, "/health");
	CHECK_INT(f.calls, 0);
	call_free(&c);
	fake_free(&f);
}

TEST_CASE(eb_ip_orders_by_launch_then_instance_id)
{
	struct fake f;
	struct call c;

	fixture(&f);
	call_init(&c, &f, "GET", "/eb/my-env/ip");
	call_run(&c);
	CHECK_INT(c.resp.status, 200);
	CHECK_STR(c.resp.content_type, "text/plain; charset=utf-8");
	CHECK_STR(buf_str(&c.resp.body), "203.0.113.1\n203.0.113.2\n203.0.113.3\n");
	CHECK_STR(c.resp.route, "/eb/{env}/ip");
	CHECK_INT(f.calls, 1);
	CHECK_INT(f.n_filters, 2);
	CHECK_STR(f.filter_name[0], "tag:elasticbeanstalk:environment-name");
	CHECK_STR(f.filter_value[0], "my-env");
	CHECK_STR(f.filter_name[1], "instance-state-name");
	CHECK_STR(f.filter_value[1], "running");
	CHECK_INT(c.resp.error.code, 0);
	call_free(&c);
	fake_free(&f);
}

TEST_CASE(eb_ip_n_picks_one_line)
{
	struct fake f;
	struct call c;
	static const char *const want[] = {"203.0.113.1\n", "203.0.113.2\n", "203.0.113.3\n"};
	char path[64];
	int n;

	fixture(&f);
	for (n = 1; n <= 3; n++) {
		snprintf(path, sizeof(path), "/eb/my-env/ip/%d", n);
		call_init(&c, &f, "GET", path);
		call_run(&c);
		CHECK_INT(c.resp.status, 200);
		CHECK_STR(buf_str(&c.resp.body), want[n - 1]);
		CHECK_STR(c.resp.route, "/eb/{env}/ip/{n}");
		call_free(&c);
	}
	call_init(&c, &f, "GET", "/eb/my-env/ip/4");
	call_run(&c);
	CHECK_INT(c.resp.status, 404);
	CHECK_STR(jstr(c.json, "code"), "NotFound");
	CHECK(strstr(jstr(c.json, "message"), "my-env") != NULL);
	call_free(&c);
	expect(&f, "GET", "/eb/my-env/ip/1000", 404, "NotFound");
	fake_free(&f);
}

TEST_CASE(private_addresses_include_instances_without_public_ip)
{
	struct fake f;
	struct call c;

	fixture(&f);
	call_init(&c, &f, "GET", "/eb/my-env/ip");
	call_query(&c, "address", "private");
	call_run(&c);
	CHECK_INT(c.resp.status, 200);
	CHECK_STR(buf_str(&c.resp.body), "10.0.0.4\n10.0.0.1\n10.0.0.2\n10.0.0.3\n");
	call_free(&c);

	call_init(&c, &f, "GET", "/eb/my-env/ip/1");
	call_query(&c, "address", "private");
	call_run(&c);
	CHECK_STR(buf_str(&c.resp.body), "10.0.0.4\n");
	call_free(&c);

	call_init(&c, &f, "GET", "/eb/my-env/ip/1");
	call_query(&c, "address", "public");
	call_run(&c);
	CHECK_STR(buf_str(&c.resp.body), "203.0.113.1\n");
	call_free(&c);
	fake_free(&f);
}

TEST_CASE(bad_address_parameter_is_400_before_aws)
{
	struct fake f;
	struct call c;
	static const char *const bad[] = {"", "PUBLIC", "ipv6", "private ", "publicx"};
	size_t i;

	fixture(&f);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		call_init(&c, &f, "GET", "/eb/my-env/ip");
		call_query(&c, "address", bad[i]);
		call_run(&c);
		CHECK_INT(c.resp.status, 400);
		CHECK_STR(jstr(c.json, "code"), "InvalidParameter");
		call_free(&c);
	}
	CHECK_INT(f.calls, 0);
	fake_free(&f);
}

TEST_CASE(json_on_accept)
{
	struct fake f;
	struct call c;
	json_t *arr, *o;

	fixture(&f);
	call_init(&c, &f, "GET", "/eb/my-env/ip");
	call_header(&c, "accept", "application/json");
	call_run(&c);
	CHECK_INT(c.resp.status, 200);
	CHECK_STR(c.resp.content_type, "application/json");
	CHECK_STR(jstr(c.json, "environment"), "my-env");
	CHECK_STR(jstr(c.json, "address"), "public");
	arr = json_object_get(c.json, "instances");
	CHECK_INT(json_array_size(arr), 3);
	o = json_array_get(arr, 0);
	CHECK_INT(json_integer_value(json_object_get(o, "index")), 1);
	CHECK_STR(jstr(o, "instance_id"), "i-0aaa");
	CHECK_STR(jstr(o, "ip"), "203.0.113.1");
	CHECK_STR(jstr(o, "public_ip"), "203.0.113.1");
	CHECK_STR(jstr(o, "private_ip"), "10.0.0.1");
	CHECK_STR(jstr(o, "launch_time"), "2024-01-01T00:00:01.000Z");
	CHECK_STR(jstr(o, "availability_zone"), "eu-west-1a");
	CHECK_INT(json_object_size(o), 7);
	o = json_array_get(arr, 2);
	CHECK_INT(json_integer_value(json_object_get(o, "index")), 3);
	CHECK_STR(jstr(o, "instance_id"), "i-0ccc");
	call_free(&c);

	/* one instance, keeping its index; private ordering includes the address-less one */
	call_init(&c, &f, "GET", "/eb/my-env/ip/1");
	call_header(&c, "Accept", "text/html;q=0.5, application/json");
	call_query(&c, "address", "private");
	call_run(&c);
	CHECK_INT(c.resp.status, 200);
	arr = json_object_get(c.json, "instances");
	CHECK_INT(json_array_size(arr), 1);
	o = json_array_get(arr, 0);
	CHECK_INT(json_integer_value(json_object_get(o, "index")), 1);
	CHECK_STR(jstr(o, "instance_id"), "i-0ddd");
	CHECK_STR(jstr(o, "ip"), "10.0.0.4");
	CHECK(json_is_null(json_object_get(o, "public_ip")));
	CHECK_STR(jstr(c.json, "address"), "private");
	call_free(&c);

	call_init(&c, &f, "GET", "/eb/my-env/ip/2");
	call_header(&c, "Accept", "application/json");
	call_run(&c);
	o = json_array_get(json_object_get(c.json, "instances"), 0);
	CHECK_INT(json_integer_value(json_object_get(o, "index")), 2);
	CHECK_STR(jstr(o, "instance_id"), "i-0bbb");
	call_free(&c);
	fake_free(&f);
}

static int wants_json(const char *accept1, const char *accept2)
{
	struct router_request r;
	int v;

	router_request_init(&r);
	if (accept1)
		router_pair_add(&r.headers, &r.n_headers, "Accept", accept1);
	if (accept2)
		router_pair_add(&r.headers, &r.n_headers, "ACCEPT", accept2);
	router_pair_add(&r.headers, &r.n_headers, "X-Other", "application/json");
	v = routes_wants_json(&r);
	router_request_free(&r);
	return v;
}

TEST_CASE(accept_negotiation)
{
	CHECK_INT(wants_json(NULL, NULL), 0);
	CHECK_INT(wants_json("*/*", NULL), 0);
	CHECK_INT(wants_json("text/plain", NULL), 0);
	CHECK_INT(wants_json("application/json", NULL), 1);
	CHECK_INT(wants_json("APPLICATION/JSON; charset=utf-8", NULL), 1);
	CHECK_INT(wants_json(" application/json ;q=0.5 ", NULL), 1);
	CHECK_INT(wants_json("application/json, text/plain, */*", NULL), 1);
	CHECK_INT(wants_json("text/plain;q=0.5, application/json;q=0.4", NULL), 0);
	CHECK_INT(wants_json("text/plain;q=0.4, application/json;q=0.5", NULL), 1);
	CHECK_INT(wants_json("application/json;q=0", NULL), 0);
	CHECK_INT(wants_json("application/json;q=0.000", NULL), 0);
	CHECK_INT(wants_json("application/json;q=0.001", NULL), 1);
	CHECK_INT(wants_json("application/jsonx", NULL), 0);
	CHECK_INT(wants_json("application/*", NULL), 0);
	CHECK_INT(
	    wants_json("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", NULL), 0);
	CHECK_INT(wants_json("*/*;q=0.1, application/json;q=0.2", NULL), 1);
	CHECK_INT(wants_json("text/*", "application/json"), 1);
	CHECK_INT(wants_json("text/plain", "application/json;q=0.9"), 0);
	CHECK_INT(wants_json(",,;;,application/json;;q=;", NULL), 1);
	CHECK_INT(wants_json("", NULL), 0);
}

TEST_CASE(instances_lists_every_running_instance)
{
	struct fake f;
	struct call c;
	json_t *arr, *o;

	fixture(&f);
	call_init(&c, &f, "GET", "/eb/my-env/instances");
	call_run(&c);
	CHECK_INT(c.resp.status, 200);
	CHECK_STR(c.resp.content_type, "application/json");
	CHECK_STR(c.resp.route, "/eb/{env}/instances");
	CHECK_STR(jstr(c.json, "environment"), "my-env");
	CHECK(json_object_get(c.json, "address") == NULL);
	arr = json_object_get(c.json, "instances");
	CHECK_INT(json_array_size(arr), 4);
	o = json_array_get(arr, 0);
	CHECK_STR(jstr(o, "instance_id"), "i-0ddd");
	CHECK_INT(json_integer_value(json_object_get(o, "index")), 1);
	CHECK(json_is_null(json_object_get(o, "public_ip")));
	CHECK_STR(jstr(o, "private_ip"), "10.0.0.4");
	CHECK_STR(jstr(o, "launch_time"), "2023-06-01T00:00:00.000Z");
	CHECK_STR(jstr(o, "availability_zone"), "eu-west-1a");
	CHECK(json_object_get(o, "ip") == NULL);
	CHECK_INT(json_object_size(o), 6);
	CHECK_STR(jstr(json_array_get(arr, 1), "instance_id"), "i-0aaa");
	CHECK_STR(jstr(json_array_get(arr, 2), "instance_id"), "i-0bbb");
	CHECK_STR(jstr(json_array_get(arr, 3), "instance_id"), "i-0ccc");
	CHECK_INT(json_integer_value(json_object_get(json_array_get(arr, 3), "index")), 4);
	call_free(&c);
	fake_free(&f);
}

TEST_CASE(asg_routes_use_the_group_tag)
{
	const char *k = "aws:autoscaling:groupName";
	struct fake f;
	struct call c;

	memset(&f, 0, sizeof(f));
	add_inst(&f.tmpl, "i-2", "running", "198.51.100.2", "10.1.0.2", "b", 2000, k, "web*");
	add_inst(&f.tmpl, "i-1", "running", "198.51.100.1", "10.1.0.1", "a", 1000, k, "web*");
	/* what an unescaped wildcard would also have matched */
	add_inst(&f.tmpl, "i-3", "running", "198.51.100.3", "10.1.0.3", "a", 500, k, "web-other");
	call_init(&c, &f, "GET", "/asg/web*/ip");
	call_run(&c);
	CHECK_INT(c.resp.status, 200);
	CHECK_STR(buf_str(&c.resp.body), "198.51.100.1\n198.51.100.2\n");
	CHECK_STR(c.resp.route, "/asg/{group}/ip");
	CHECK_STR(f.filter_name[0], "tag:aws:autoscaling:groupName");
	CHECK_STR(f.filter_value[0], "web\\*");
	call_free(&c);

	call_init(&c, &f, "GET", "/asg/web*/ip/2");
	call_header(&c, "Accept", "application/json");
	call_run(&c);
	CHECK_INT(c.resp.status, 200);
	CHECK_STR(jstr(c.json, "group"), "web*");
	CHECK(json_object_get(c.json, "environment") == NULL);
	CHECK_STR(jstr(json_array_get(json_object_get(c.json, "instances"), 0), "instance_id"),
	          "i-2");
	call_free(&c);

	call_init(&c, &f, "GET", "/asg/web*/instances");
	call_run(&c);
	CHECK_INT(c.resp.status, 200);
	CHECK_STR(jstr(c.json, "group"), "web*");
	CHECK_INT(json_array_size(json_object_get(c.json, "instances")), 2);
	call_free(&c);

	call_init(&c, &f, "GET", "/asg/a?b\\c/ip");
	call_run(&c);
	CHECK_INT(c.resp.status, 404);
	CHECK_STR(f.filter_value[0], "a\\?b\\\\c");
	call_free(&c);

	/* an EB name never matches the group tag */
	expect(&f, "GET", "/eb/web-other/ip", 404, "NotFound");
	fake_free(&f);
}

TEST_CASE(unknown_launch_times_sort_last)
{
	const char *k = "elasticbeanstalk:environment-name";
	struct fake f;
	struct call c;

	memset(&f, 0, sizeof(f));
	add_inst(&f.tmpl, "i-a", "running", "192.0.2.1", NULL, NULL, 0, k, "envx");
	add_inst(&f.tmpl, "i-b", "running", "192.0.2.2", NULL, "x", 5, k, "envx");
	add_inst(&f.tmpl, "i-0", "running", "192.0.2.3", NULL, NULL, 0, k, "envx");
	call_init(&c, &f, "GET", "/eb/envx/ip");
	call_run(&c);
	CHECK_STR(buf_str(&c.resp.body), "192.0.2.2\n192.0.2.3\n192.0.2.1\n");
	call_free(&c);
	fake_free(&f);
}

TEST_CASE(not_found_when_nothing_runs_or_has_the_address)
{
	const char *k = "elasticbeanstalk:environment-name";
	struct fake f;
	struct call c;

	memset(&f, 0, sizeof(f));
	call_init(&c, &f, "GET", "/eb/empty-env/ip");
	call_run(&c);
	CHECK_INT(c.resp.status, 404);
	CHECK_STR(jstr(c.json, "code"), "NotFound");
	CHECK_STR(jstr(c.json, "message"),
	          "no running instance in Elastic Beanstalk environment 'empty-env'");
	call_free(&c);
	expect(&f, "GET", "/eb/empty-env/instances", 404, "NotFound");
	expect(&f, "GET", "/eb/empty-env/ip/1", 404, "NotFound");
	expect(&f, "GET", "/asg/empty/ip", 404, "NotFound");

	add_inst(&f.tmpl, "i-1", "stopped", "192.0.2.1", "10.0.0.1", NULL, 1, k, "stop-env");
	add_inst(&f.tmpl, "i-2", "running", NULL, "10.0.0.2", NULL, 1, k, "priv-env");
	expect(&f, "GET", "/eb/stop-env/ip", 404, "NotFound");
	expect(&f, "GET", "/eb/stop-env/instances", 404, "NotFound");
	call_init(&c, &f, "GET", "/eb/priv-env/ip");
	call_run(&c);
	CHECK_INT(c.resp.status, 404);
	CHECK(strstr(jstr(c.json, "message"), "public address") != NULL);
	call_free(&c);
	expect(&f, "GET", "/eb/priv-env/instances", 200, NULL);
	fake_free(&f);
}

TEST_CASE(malformed_names_are_400_before_aws)
{
	static const char *const eb_bad[] = {
	    "/eb/abc/ip",
	    "/eb/a2345678901234567890123456789012345678901/ip", /* 41 */
	    "/eb/-abcd/ip",
	    "/eb/abcd-/ip",
	    "/eb/ab_cd/ip",
	    "/eb/../ip",
	    "/eb/..../ip",
	    "/eb/a%2Fbcd/ip",
	    "/eb/caf\xc3\xa9-env/ip",
	    "/eb/ab cd/ip",
	    "/eb/abcd\t/ip",
	    "/eb//ip",
	    "/eb/my.env/instances",
	    "/eb/abc/ip/1",
	    "/eb/abc/instances",
	};
	static const char *const asg_bad[] = {
	    "/asg//ip",     "/asg/a:b/ip",          "/asg/a b/ip",        "/asg/a\x7f/ip",
	    "/asg/\x01/ip", "/asg/na\xc3\xafve/ip", "/asg/a:b/instances", "/asg//ip/1",
	};
	char long_asg[300], ok_asg[300];
	struct fake f;
	struct call c;
	size_t i;

	memset(&f, 0, sizeof(f));
	for (i = 0; i < sizeof(eb_bad) / sizeof(eb_bad[0]); i++)
		expect(&f, "GET", eb_bad[i], 400, "InvalidName");
	for (i = 0; i < sizeof(asg_bad) / sizeof(asg_bad[0]); i++)
		expect(&f, "GET", asg_bad[i], 400, "InvalidName");
	memset(long_asg, 0, sizeof(long_asg));
	strcpy(long_asg, "/asg/");
	memset(long_asg + 5, 'g', 256);
	strcat(long_asg, "/ip");
	expect(&f, "GET", long_asg, 400, "InvalidName");
	CHECK_INT(f.calls, 0);

	/* the limits themselves are fine */
	memset(ok_asg, 0, sizeof(ok_asg));
	strcpy(ok_asg, "/asg/");
	memset(ok_asg + 5, 'g', 255);
	strcat(ok_asg, "/ip");
	expect(&f, "GET", ok_asg, 404, "NotFound");
	expect(&f, "GET", "/eb/a2345678901234567890123456789012345678901/ip", 400, "InvalidName");
	expect(&f, "GET", "/eb/a234567890123456789012345678901234567890/ip", 404, "NotFound");
	expect(&f, "GET", "/eb/abcd/ip", 404, "NotFound");
	expect(&f, "GET", "/eb/A-b-9/ip", 404, "NotFound");
	expect(&f, "GET", "/asg/g/ip", 404, "NotFound");
	expect(&f, "GET", "/asg/!~#[]@/ip", 404, "NotFound");
	CHECK_INT(f.calls, 6);

	/* the message is ASCII and names the problem */
	call_init(&c, &f, "GET", "/eb/caf\xc3\xa9-env/ip");
	call_run(&c);
	CHECK_STR(jstr(c.json, "message"),
	          "'caf?"
	          "?-env' is not a valid Elastic Beanstalk environment name: an environment "
	          "name has only letters, digits and hyphens");
	call_free(&c);
	/* a decoded %2F splits the path: no such route */
	expect(&f, "GET", "/eb/a/b/ip", 404, "NotFound");
}

TEST_CASE(malformed_indexes_are_400_before_aws)
{
	static const char *const bad[] = {
	    "/eb/my-env/ip/0",
	    "/eb/my-env/ip/01",
	    "/eb/my-env/ip/-1",
	    "/eb/my-env/ip/+1",
	    "/eb/my-env/ip/99999999999",
	    "/eb/my-env/ip/abc",
	    "/eb/my-env/ip/1001",
	    "/eb/my-env/ip/",
	    "/eb/my-env/ip/1a",
	    "/eb/my-env/ip/ 1",
	    "/eb/my-env/ip/1.0",
	    "/eb/my-env/ip/0x1",
	    "/asg/g/ip/0",
	    "/asg/g/ip/1e3",
	};
	struct fake f;
	size_t i;
	long v;

	fixture(&f);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect(&f, "GET", bad[i], 400, "InvalidIndex");
	CHECK_INT(f.calls, 0);
	/* a bad name wins over a bad index */
	expect(&f, "GET", "/eb/x/ip/0", 400, "InvalidName");
	CHECK_INT(routes_parse_index("1", &v, NULL), 0);
	CHECK_INT(v, 1);
	CHECK_INT(routes_parse_index("1000", &v, NULL), 0);
	CHECK_INT(v, 1000);
	CHECK_INT(routes_parse_index("999", &v, NULL), 0);
	CHECK_INT(v, 999);
	CHECK_INT(routes_parse_index("10000", &v, NULL), ERR_INVALID);
	CHECK_INT(routes_parse_index("", &v, NULL), ERR_INVALID);
	fake_free(&f);
}

TEST_CASE(unknown_routes_and_wrong_methods)
{
	struct fake f;
	struct call c;

	fixture(&f);
	expect(&f, "GET", "/", 404, "NotFound");
	expect(&f, "GET", "/eb", 404, "NotFound");
	expect(&f, "GET", "/eb/my-env", 404, "NotFound");
	expect(&f, "GET", "/eb/my-env/ips", 404, "NotFound");
	expect(&f, "GET", "/eb/my-env/ip/1/2", 404, "NotFound");
	expect(&f, "GET", "/health/", 404, "NotFound");
	expect(&f, "GET", "/HEALTH", 404, "NotFound");
	expect(&f, "GET", "/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/r/s/t", 404, "NotFound");
	expect(&f, "GET", "", 400, "InvalidRequest");
	expect(&f, "GET", "health", 400, "InvalidRequest");
	expect(&f, "POST", "/nope", 404, "NotFound");
	CHECK_INT(f.calls, 0);

	call_init(&c, &f, "POST", "/eb/my-env/ip");
	call_run(&c);
	CHECK_INT(c.resp.status, 405);
	CHECK_STR(jstr(c.json, "code"), "MethodNotAllowed");
	CHECK_STR(resp_header(&c.resp, "Allow"), "GET");
	call_free(&c);
	expect(&f, "DELETE", "/health", 405, "MethodNotAllowed");
	expect(&f, "HEAD", "/eb/my-env/instances", 405, "MethodNotAllowed");
	expect(&f, "get", "/health", 405, "MethodNotAllowed");
	CHECK_INT(f.calls, 0);

	/* a 404 message stays ASCII whatever the path */
	call_init(&c, &f, "GET", "/\xff\xfe\xc3\xa9/x");
	call_run(&c);
	CHECK_INT(c.resp.status, 404);
	CHECK_STR(jstr(c.json, "message"), "no route for GET /?"
	                                   "?"
	                                   "?"
	                                   "?/x");
	call_free(&c);
	fake_free(&f);
}

TEST_CASE(long_paths_are_414)
{
	struct fake f;
	char *path = malloc(9000);

	memset(&f, 0, sizeof(f));
	path[0] = '/';
	memset(path + 1, 'a', 8999 - 1);
	path[8999] = '\0';
	expect(&f, "GET", path, 414, "UriTooLong");
	free(path);
}

static void expect_aws_error(int code, long http, const char *aws_code, int status,
                             const char *json_code)
{
	struct fake f;
	struct call c;

	fixture(&f);
	err_set_aws(&f.fail, code, http, aws_code, "req-1234-abcd",
	            "Authorization=AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/x, "
	            "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7");
	if (code != ERR_AWS && code != ERR_THROTTLED)
		err_set(&f.fail, code, "curl: Failed to connect to 127.0.0.1 secret=AKIDEXAMPLE");
	call_init(&c, &f, "GET", "/eb/my-env/ip");
	call_run(&c);
	CHECK_INT(c.resp.status, status);
	CHECK_STR(jstr(c.json, "code"), json_code);
	CHECK(strstr(buf_str(&c.resp.body), "AKID") == NULL);
	CHECK(strstr(buf_str(&c.resp.body), "Signature") == NULL);
	CHECK(strstr(buf_str(&c.resp.body), "5d672d79") == NULL);
	CHECK(strstr(buf_str(&c.resp.body), "curl") == NULL);
	CHECK_INT(c.resp.error.code, code);
	if (code == ERR_AWS || code == ERR_THROTTLED) {
		CHECK(strstr(jstr(c.json, "message"), aws_code) != NULL);
		CHECK(strstr(jstr(c.json, "message"), "req-1234-abcd") != NULL);
	}
	if (status == 503)
		CHECK_STR(resp_header(&c.resp, "Retry-After"), "1");
	call_free(&c);
	fake_free(&f);
}

TEST_CASE(aws_failures_map_to_statuses_without_secrets)
{
	struct fake f;
	struct call c;

	expect_aws_error(ERR_AWS, 401, "AuthFailure", 502, "AwsError");
	expect_aws_error(ERR_AWS, 400, "UnauthorizedOperation", 502, "AwsError");
	expect_aws_error(ERR_THROTTLED, 503, "RequestLimitExceeded", 503, "Throttled");
	expect_aws_error(ERR_NETWORK, 0, "", 502, "AwsUnreachable");
	expect_aws_error(ERR_TIMEOUT, 0, "", 504, "AwsTimeout");
	expect_aws_error(ERR_CREDENTIALS, 0, "", 502, "CredentialsError");
	expect_aws_error(ERR_PARSE, 0, "", 502, "AwsBadAnswer");
	expect_aws_error(ERR_TOO_LARGE, 0, "", 502, "AwsBadAnswer");
	expect_aws_error(ERR_NOMEM, 0, "", 500, "InternalError");
	expect_aws_error(ERR_INTERNAL, 0, "", 500, "InternalError");
	expect_aws_error(ERR_IO, 0, "", 500, "InternalError");

	/* the exact message of an AWS error */
	fixture(&f);
	err_set_aws(&f.fail, ERR_AWS, 401, "Auth\"Failure<x>", "rid 1/2", "whatever");
	call_init(&c, &f, "GET", "/eb/my-env/instances");
	call_run(&c);
	CHECK_INT(c.resp.status, 502);
	CHECK_STR(jstr(c.json, "message"), "AWS answered an error: AuthFailurex (HTTP 401), "
	                                   "request id rid12");
	call_free(&c);
	fake_free(&f);
}

static struct aws_client *no_client(struct service_context *ctx, struct err *e)
{
	(void)ctx;
	err_set(e, ERR_CREDENTIALS, "no credentials in the environment");
	return NULL;
}

TEST_CASE(missing_aws_client)
{
	struct service_context ctx = {.aws_get = no_client};
	struct router_request req;
	struct router_response resp;

	router_request_init(&req);
	router_response_init(&resp);
	req.method = strdup("GET");
	req.path = strdup("/eb/my-env/ip");
	CHECK_INT(router_handle(&ctx, &req, &resp), 0);
	CHECK_INT(resp.status, 502);
	CHECK(strstr(buf_str(&resp.body), "\"CredentialsError\"") != NULL);
	CHECK_INT(resp.error.code, ERR_CREDENTIALS);
	CHECK_STR(resp.error.message, "no credentials in the environment");
	router_response_free(&resp);

	ctx.aws_get = NULL;
	router_response_init(&resp);
	CHECK_INT(router_handle(&ctx, &req, &resp), 0);
	CHECK_INT(resp.status, 500);
	CHECK_STR(buf_str(&resp.body),
	          "{\"message\":\"internal error\",\"code\":\"InternalError\"}\n");
	router_response_free(&resp);
	router_request_free(&req);
}

/* The ops routes' caller check (router_caller_may_ops) and its answer. */
TEST_CASE(ops_caller_check)
{
	struct router_caller c;

	memset(&c, 0, sizeof(c));
	/* the Lambda's event: ids decide */
	CHECK_INT(router_caller_may_ops(&c, "opskey1234"), 0);
	c.api_key_id = "lookkey123";
	CHECK_INT(router_caller_may_ops(&c, "opskey1234"), 0);
	CHECK_INT(router_caller_may_ops(&c, NULL), 0);
	c.api_key_id = "opskey1234";
	CHECK_INT(router_caller_may_ops(&c, "opskey1234"), 1);
	CHECK_INT(router_caller_may_ops(&c, "opskey12345"), 0);
	CHECK_INT(router_caller_may_ops(&c, ""), 0);
	CHECK_INT(router_caller_may_ops(&c, NULL), 0);
	c.api_key_id = "";
	CHECK_INT(router_caller_may_ops(&c, ""), 0);
	c.api_key_id = NULL;
	c.user_arn = "arn:aws:iam::123456789012:user/alice";
	CHECK_INT(router_caller_may_ops(&c, NULL), 1);
	c.user_arn = "";
	CHECK_INT(router_caller_may_ops(&c, NULL), 0);
	/* ebssh-api's own check wins over any id */
	c.user_arn = "arn:aws:iam::123456789012:user/alice";
	c.api_key_id = "opskey1234";
	c.key = ROUTER_KEY_LOOKUP;
	CHECK_INT(router_caller_may_ops(&c, "opskey1234"), 0);
	c.key = ROUTER_KEY_NONE;
	CHECK_INT(router_caller_may_ops(&c, "opskey1234"), 0);
	c.key = ROUTER_KEY_OPS;
	c.user_arn = NULL;
	c.api_key_id = NULL;
	CHECK_INT(router_caller_may_ops(&c, NULL), 1);
}

/* router_handle refuses keyed ops routes to a lookup caller with API
 * Gateway's 403, runs them for an ops caller, and never asks about lookups
 * or the open Slack command. */
TEST_CASE(ops_routes_need_the_ops_class)
{
	struct service_context ctx = {.aws_get = no_client};
	static const char *const methods[] = {"POST", "GET", "GET", "GET", "POST"};
	static const char *const paths[] = {"/backup/ami", "/logs/my-fn/abcdefgh-1",
	                                    "/lambda/storage", "/eb/my-env/ip", "/slack/logsearch"};
	size_t i, k;

	setenv("OPS_API_KEY_ID", "opskey1234", 1);
	for (i = 0; i < 5; i++) {
		for (k = 0; k < 4; k++) {
			struct router_request req;
			struct router_response resp;
			int ops = i < 3;

			router_request_init(&req);
			router_response_init(&resp);
			req.method = strdup(methods[i]);
			req.path = strdup(paths[i]);
			if (k == 1)
				req.caller.api_key_id = strdup("lookkey123");
			if (k == 2)
				req.caller.api_key_id = strdup("opskey1234");
			if (k == 3)
				req.caller.key = ROUTER_KEY_LOOKUP;
			CHECK_INT(router_handle(&ctx, &req, &resp), 0);
			if (ops && k != 2) {
				CHECK_INT(resp.status, 403);
				CHECK_STR(buf_str(&resp.body), "{\"message\":\"Forbidden\"}");
				CHECK_STR(resp_header(&resp, "x-amzn-ErrorType"),
				          "ForbiddenException");
				CHECK_STR(resp_header(&resp, "Cache-Control"), "no-store");
				CHECK_STR(resp.content_type, "application/json");
			} else {
				CHECK(resp.status != 403);
			}
			router_response_free(&resp);
			router_request_free(&req);
		}
	}
	/* no OPS_API_KEY_ID: a key id never opens them */
	unsetenv("OPS_API_KEY_ID");
	{
		struct router_request req;
		struct router_response resp;

		router_request_init(&req);
		router_response_init(&resp);
		req.method = strdup("GET");
		req.path = strdup("/lambda/storage");
		req.caller.api_key_id = strdup("opskey1234");
		CHECK_INT(router_handle(&ctx, &req, &resp), 0);
		CHECK_INT(resp.status, 403);
		router_response_free(&resp);
		router_response_init(&resp);
		req.caller.user_arn = strdup("arn:aws:sts::123456789012:assumed-role/ops/alice");
		CHECK_INT(router_handle(&ctx, &req, &resp), 0);
		CHECK(resp.status != 403);
		router_response_free(&resp);
		router_request_free(&req);
	}
}

/* pattern with each {param} made a valid value, into out. */
static void concrete_path(const char *pattern, char *out, size_t cap)
{
	static const struct {
		const char *param, *value;
	} values[] = {{"{env}", "my-env"},
	              {"{group}", "my-group"},
	              {"{n}", "1"},
	              {"{function}", "my-fn"},
	              {"{request_id}", "abcdefgh-1"}};
	size_t n = 0, i;

	while (*pattern && n + 1 < cap) {
		for (i = 0; i < sizeof(values) / sizeof(values[0]); i++)
			if (strncmp(pattern, values[i].param, strlen(values[i].param)) == 0)
				break;
		if (i < sizeof(values) / sizeof(values[0])) {
			n += (size_t)snprintf(out + n, cap - n, "%s", values[i].value);
			pattern += strlen(values[i].param);
		} else {
			out[n++] = *pattern++;
		}
	}
	out[n < cap ? n : cap - 1] = '\0';
}

/* Every route of the table is reached by its method and path, answers 405
 * to another method, has a unique name, and needs the API key unless open. */
TEST_CASE(every_route_of_the_table)
{
	struct service_context ctx = {.aws_get = no_client};
	size_t i, j, n = router_route_count();
	char path[256];

	CHECK(n >= 15);
	CHECK(router_route_at(n) == NULL);
	for (i = 0; i < n; i++) {
		const struct router_route *r = router_route_at(i);
		const char *other = strcmp(r->method, "GET") == 0 ? "DELETE" : "GET";
		struct router_request req;
		struct router_response resp;

		for (j = 0; j < i; j++)
			CHECK(strcmp(router_route_at(j)->name, r->name) != 0);
		concrete_path(r->pattern, path, sizeof(path));
		router_request_init(&req);
		router_response_init(&resp);
		req.method = strdup(r->method);
		req.path = strdup(path);
		req.caller.key = ROUTER_KEY_OPS;
		CHECK_INT(router_handle(&ctx, &req, &resp), 0);
		CHECK_STR(resp.route, r->pattern);
		CHECK(resp.status != 403);
		router_response_free(&resp);
		free(req.method);
		req.method = strdup(other);
		router_response_init(&resp);
		CHECK_INT(router_handle(&ctx, &req, &resp), 0);
		CHECK_INT(resp.status, 405);
		router_response_free(&resp);
		router_request_free(&req);
		CHECK_INT(router_needs_key(path), r->access == ROUTER_KEY);
	}
	CHECK_INT(router_needs_key("/health"), 0);
	CHECK_INT(router_needs_key("/slack/logsearch"), 0);
	CHECK_INT(router_needs_key("/health/"), 1);
	CHECK_INT(router_needs_key("/nowhere"), 1);
	CHECK_INT(router_needs_key("health"), 1);
	CHECK_INT(router_needs_key(NULL), 1);
}

/* The class column: every route's class is what router_class_of finds for
 * a concrete path of it, and the split is the one the issue names. */
TEST_CASE(route_classes)
{
	static const char *const ops[] = {"backup-ami", "logs", "lambda-storage",
	                                  "slack-logsearch"};
	size_t i, j, n_ops = 0;

	for (i = 0; i < router_route_count(); i++) {
		const struct router_route *r = router_route_at(i);
		char path[256];
		int want = ROUTER_LOOKUP;

		for (j = 0; j < sizeof(ops) / sizeof(ops[0]); j++)
			if (strcmp(r->name, ops[j]) == 0)
				want = ROUTER_OPS;
		n_ops += want == ROUTER_OPS;
		CHECK_INT(r->route_class, want);
		concrete_path(r->pattern, path, sizeof(path));
		CHECK_INT(router_class_of(r->method, path), want);
		/* another method on the path: the router's 405, no route's work */
		CHECK_INT(router_class_of(strcmp(r->method, "GET") ? "GET" : "DELETE", path),
		          ROUTER_LOOKUP);
	}
	CHECK_INT(n_ops, 4);
	CHECK_INT(router_class_of("GET", "/eb/my-env/ip"), ROUTER_LOOKUP);
	CHECK_INT(router_class_of("GET", "/eb/my-env/hostkeys/2"), ROUTER_LOOKUP);
	CHECK_INT(router_class_of("GET", "/health"), ROUTER_LOOKUP);
	CHECK_INT(router_class_of("POST", "/backup/ami"), ROUTER_OPS);
	CHECK_INT(router_class_of("GET", "/logs/fn/0123"), ROUTER_OPS);
	CHECK_INT(router_class_of("GET", "/lambda/storage"), ROUTER_OPS);
	CHECK_INT(router_class_of("POST", "/slack/logsearch"), ROUTER_OPS);
	CHECK_INT(router_class_of("GET", "/backup/ami"), ROUTER_LOOKUP);
	CHECK_INT(router_class_of("POST", "/backup/ami/x"), ROUTER_LOOKUP);
	CHECK_INT(router_class_of("POST", "backup/ami"), ROUTER_LOOKUP);
	CHECK_INT(router_class_of(NULL, "/backup/ami"), ROUTER_LOOKUP);
	CHECK_INT(router_class_of("POST", NULL), ROUTER_LOOKUP);
}

TEST_CASE(pairs_query_and_headers)
{
	struct router_request r;

	router_request_init(&r);
	CHECK_INT(router_pair_add(&r.query, &r.n_query, "address", "private"), 0);
	CHECK_INT(router_pair_add(&r.query, &r.n_query, "address", "public"), 0);
	CHECK_INT(router_pair_add(&r.headers, &r.n_headers, "X-Api-Key", "k"), 0);
	CHECK_INT(router_pair_add(&r.headers, &r.n_headers, "x-api-key", "k2"), 0);
	CHECK_STR(router_query(&r, "address"), "private");
	CHECK(router_query(&r, "Address") == NULL);
	CHECK_STR(router_header(&r, "X-API-KEY"), "k");
	CHECK(router_header(&r, "accept") == NULL);
	CHECK_INT(r.n_query, 2);
	CHECK_STR(r.query[1].value, "public");
	router_request_free(&r);
	CHECK(r.query == NULL);
	CHECK_INT(r.n_headers, 0);
}

TEST_CASE(error_helpers)
{
	struct router_response resp;
	struct err e;

	router_response_init(&resp);
	CHECK_INT(router_error(&resp, 418, "Teapot", "short and %s", "stout\n\x01"), 0);
	CHECK_INT(resp.status, 418);
	CHECK_STR(resp.content_type, "application/json");
	CHECK_STR(buf_str(&resp.body), "{\"message\":\"short and stout?"
	                               "?\",\"code\":\"Teapot\"}\n");
	err_set(&e, ERR_INVALID, "bad \"thing\"");
	CHECK_INT(router_error_from(&resp, &e), 0);
	CHECK_INT(resp.status, 400);
	CHECK_STR(buf_str(&resp.body),
	          "{\"message\":\"bad \\\"thing\\\"\",\"code\":\"InvalidRequest\"}\n");
	err_set(&e, ERR_NOT_FOUND, "gone");
	CHECK_INT(router_error_from(&resp, &e), 0);
	CHECK_INT(resp.status, 404);
	CHECK_INT(resp.n_headers, 0);
	router_response_free(&resp);
}

TEST_CASE(name_checks)
{
	struct err e;

	CHECK_INT(routes_check_eb_name("abcd", NULL), 0);
	CHECK_INT(routes_check_eb_name("my-env-production2", NULL), 0);
	CHECK_INT(routes_check_eb_name("a--b", NULL), 0);
	CHECK_INT(routes_check_eb_name("abc", &e), ERR_INVALID);
	CHECK_STR(e.message, "an environment name has 4 to 40 characters, not 3");
	CHECK_INT(routes_check_eb_name("-abc", NULL), ERR_INVALID);
	CHECK_INT(routes_check_eb_name("ab.c", NULL), ERR_INVALID);
	CHECK_INT(routes_check_asg_name("x", NULL), 0);
	CHECK_INT(routes_check_asg_name("awseb-e-abc-stack-AWSEBAutoScalingGroup-1X2Y", NULL), 0);
	CHECK_INT(routes_check_asg_name("", NULL), ERR_INVALID);
	CHECK_INT(routes_check_asg_name("arn:aws:autoscaling", NULL), ERR_INVALID);
	CHECK_INT(routes_check_asg_name("a\nb", NULL), ERR_INVALID);
}

TEST_CASE(success_answers)
{
	struct router_response resp;

	router_response_init(&resp);
	CHECK_INT(router_pair_add(&resp.headers, &resp.n_headers, "X-Kept", "1"), 0);
	CHECK_INT(buf_append_str(&resp.body, "a b\n"), 0);
	CHECK_INT(router_answer(&resp, 200, ROUTER_TEXT_PLAIN), 0);
	CHECK_INT(resp.status, 200);
	CHECK_STR(resp.content_type, "text/plain; charset=utf-8");
	CHECK_STR(buf_str(&resp.body), "a b\n");
	/* a JSON answer replaces the body and the type, keeps the headers */
	CHECK_INT(router_answer_json(&resp, 502, json_pack("{s:s, s:i}", "k", "v\n", "n", 2)), 0);
	CHECK_INT(resp.status, 502);
	CHECK_STR(resp.content_type, "application/json");
	CHECK_STR(buf_str(&resp.body), "{\"k\":\"v\\n\",\"n\":2}\n");
	CHECK_INT(resp.n_headers, 1);
	CHECK_STR(resp.headers[0].value, "1");
	/* no document: out of memory, and no status given */
	resp.status = 0;
	CHECK_INT(router_answer_json(&resp, 200, NULL), ERR_NOMEM);
	CHECK_INT(resp.status, 0);
	router_response_free(&resp);
	/* a body over the buffer's cap: out of memory too, the document freed */
	router_response_init(&resp);
	buf_init(&resp.body, 4);
	CHECK_INT(router_answer_json(&resp, 200, json_pack("{s:s}", "long", "value")), ERR_NOMEM);
	CHECK_INT(resp.status, 0);
	router_response_free(&resp);
}

TEST_CASE(target_names)
{
	CHECK_STR(routes_target_key(ROUTES_EB), "environment");
	CHECK_STR(routes_target_key(ROUTES_ASG), "group");
	CHECK_STR(routes_target_noun(ROUTES_EB), "Elastic Beanstalk environment");
	CHECK_STR(routes_target_noun(ROUTES_ASG), "Auto Scaling group");
}

int main(void)
{
	RUN(health_answers_ok_without_aws);
	RUN(eb_ip_orders_by_launch_then_instance_id);
	RUN(eb_ip_n_picks_one_line);
	RUN(private_addresses_include_instances_without_public_ip);
	RUN(bad_address_parameter_is_400_before_aws);
	RUN(json_on_accept);
	RUN(accept_negotiation);
	RUN(instances_lists_every_running_instance);
	RUN(asg_routes_use_the_group_tag);
	RUN(unknown_launch_times_sort_last);
	RUN(not_found_when_nothing_runs_or_has_the_address);
	RUN(malformed_names_are_400_before_aws);
	RUN(malformed_indexes_are_400_before_aws);
	RUN(unknown_routes_and_wrong_methods);
	RUN(long_paths_are_414);
	RUN(aws_failures_map_to_statuses_without_secrets);
	RUN(missing_aws_client);
	RUN(every_route_of_the_table);
	RUN(route_classes);
	RUN(ops_caller_check);
	RUN(ops_routes_need_the_ops_class);
	RUN(pairs_query_and_headers);
	RUN(error_helpers);
	RUN(name_checks);
	RUN(success_answers);
	RUN(target_names);
	return TEST_DONE();
}
