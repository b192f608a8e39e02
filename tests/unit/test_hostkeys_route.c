/*
 * Unit tests of the hostkeys routes (lambda/router/hostkeys.c) through the
 * router's two seams: a fake DescribeInstances and a fake
 * GetConsoleOutput whose consoles are built from the keys of
 * tests/fixtures/console. Checks that hostkeys/{n} is the instance behind
 * ip/{n} (both address kinds), the Latest-then-snapshot order, the 404s
 * that say why, AWS errors, and that hostile console lines never reach an
 * answer.
 */
#include "test.h"

#include <jansson.h>
#include <stdint.h>
#include <strings.h>

#include "aws/ec2.h"
#include "aws/ec2_console.h"
#include "lambda/router/router.h"
#include "lambda/router/routes.h"
#include "util/buf.h"

#define TAG_EB  "elasticbeanstalk:environment-name"
#define TAG_ASG "aws:autoscaling:groupName"

/* ---- fixture keys ---- */

static char *keys[3]; /* "type base64" of ecdsa, ed25519 (al2023) and rsa (ubuntu) */

static char *read_text(const char *name)
{
	const char *root = getenv("EBSSH_ROOT");
	char path[512], *data = NULL;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/tests/fixtures/console/%s", root && *root ? root : ".",
	         name);
	f = fopen(path, "rb");
	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		data = calloc(1, (size_t)n + 1);
		if (data && fread(data, 1, (size_t)n, f) != (size_t)n) {
			free(data);
			data = NULL;
		}
	}
	fclose(f);
	return data;
}

static void load_keys(void)
{
	char *a = read_text("ubuntu-rsa-crcrlf.expected"), *p = a;
	int i;

	for (i = 0; p && i < 3; i++) {
		char *nl = strchr(p, '\n');
		if (!nl)
			break;
		keys[i] = strndup(p, (size_t)(nl - p));
		p = nl + 1;
	}
	free(a);
}

/* ---- the fake AWS ---- */

struct fake_console {
	const char *instance_id;
	char *latest;   /* console for Latest=true; NULL: empty */
	char *snapshot; /* console for Latest=false */
	int latest_err; /* 0, or the ERR_AWS http status answered to Latest=true */
	const char *latest_code;
	int snapshot_err;
	const char *snapshot_code;
};

struct fake {
	struct ec2_instance_list tmpl;
	struct fake_console consoles[8];
	size_t n_consoles;
	int describe_calls, console_calls;
	char calls[16][64]; /* "i-...:latest" / "i-...:snapshot" */
};

static void add_inst(struct ec2_instance_list *l, const char *id, const char *pub, const char *priv,
                     int64_t ms, const char *tag_key, const char *value)
{
	struct ec2_instance *in;

	l->items = realloc(l->items, (l->n + 1) * sizeof(*l->items));
	in = &l->items[l->n++];
	memset(in, 0, sizeof(*in));
	in->instance_id = strdup(id);
	in->state = strdup("running");
	in->public_ip = pub ? strdup(pub) : NULL;
	in->private_ip = priv ? strdup(priv) : NULL;
	in->launch_time = strdup("2024-01-01T00:00:00.000Z");
	in->launch_time_ms = ms;
	in->tags = calloc(1, sizeof(*in->tags));
	in->tags[0].key = strdup(tag_key);
	in->tags[0].value = strdup(value);
	in->n_tags = 1;
}

static int fake_describe(struct service_context *ctx, const struct ec2_filter *filters,
                         size_t n_filters, struct ec2_instance_list *out, struct err *e)
{
	struct fake *f = ctx->seam_data;
	size_t i;

	(void)filters;
	(void)n_filters;
	(void)e;
	f->describe_calls++;
	for (i = 0; i < f->tmpl.n; i++) {
		const struct ec2_instance *s = &f->tmpl.items[i];
		add_inst(out, s->instance_id, s->public_ip, s->private_ip, s->launch_time_ms,
		         s->tags[0].key, s->tags[0].value);
	}
	return 0;
}

static int fake_console(struct service_context *ctx, const char *instance_id, int latest,
                        struct ec2_console *out, struct err *e)
{
	struct fake *f = ctx->seam_data;
	struct fake_console *c = NULL;
	const char *text;
	size_t i;

	memset(out, 0, sizeof(*out));
	if (f->console_calls < 16)
		snprintf(f->calls[f->console_calls], sizeof(f->calls[0]), "%s:%s", instance_id,
		         latest ? "latest" : "snapshot");
	f->console_calls++;
	for (i = 0; i < f->n_consoles; i++)
		if (strcmp(f->consoles[i].instance_id, instance_id) == 0)
			c = &f->consoles[i];
	if (!c)
		return err_set_aws(e, ERR_AWS, 400, "InvalidInstanceID.NotFound", "rid-1",
		                   "no such instance");
	if (latest && c->latest_err)
		return err_set_aws(e, c->latest_err == 503 ? ERR_THROTTLED : ERR_AWS, c->latest_err,
		                   c->latest_code, "rid-2", "refused");
	if (!latest && c->snapshot_err)
		return err_set_aws(e, c->snapshot_err == 503 ? ERR_THROTTLED : ERR_AWS,
		                   c->snapshot_err, c->snapshot_code, "rid-3", "refused");
	text = latest ? c->latest : c->snapshot;
	out->instance_id = strdup(instance_id);
	out->timestamp = strdup(latest ? "2024-05-01T09:31:02.000Z" : "2024-05-01T09:20:00.000Z");
	if (text && *text) {
		out->output = (unsigned char *)strdup(text);
		out->output_len = strlen(text);
	}
	return 0;
}

/* A cloud-init-like console whose block holds the given lines. */
static char *console_with(const char *const *lines, size_t n)
{
	struct buf b;
	size_t i;

	buf_init(&b, 0);
	buf_append_str(&b, "[    5.1] cloud-init[1611]: Cloud-init v. 22.2.2 running 'init'\r\n"
	                   "<14>Nov 13 10:31:17 cloud-init: ######\r\n"
	                   "-----BEGIN SSH HOST KEY KEYS-----\r\n");
	for (i = 0; i < n; i++)
		buf_appendf(&b, "%s root@ip-172-31-18-40\r\n", lines[i]);
	buf_append_str(&b, "-----END SSH HOST KEY KEYS-----\r\n"
	                   "[    7.1] cloud-init[2043]: Cloud-init v. 22.2.2 finished\r\n");
	return buf_take(&b);
}

static const char *const IDS[] = {"i-0aaaaaaaaaaaaaaa1", "i-0bbbbbbbbbbbbbbb2",
                                  "i-0ccccccccccccccc3", "i-0ddddddddddddddd4"};

/* my-env: i-..1 and i-..2 launched together (ties by id), i-..3 later; i-..4
 * the oldest but without a public IP. Each console holds one key of its own
 * (i-..4: the RSA key) in both its latest and snapshot form. */
static void fixture(struct fake *f)
{
	size_t i;

	memset(f, 0, sizeof(*f));
	add_inst(&f->tmpl, IDS[2], "203.0.113.3", "10.0.0.3", 1704067202000, TAG_EB, "my-env");
	add_inst(&f->tmpl, IDS[1], "203.0.113.2", "10.0.0.2", 1704067201000, TAG_EB, "my-env");
	add_inst(&f->tmpl, IDS[0], "203.0.113.1", "10.0.0.1", 1704067201000, TAG_EB, "my-env");
	add_inst(&f->tmpl, IDS[3], NULL, "10.0.0.4", 1685577600000, TAG_EB, "my-env");
	for (i = 0; i < 4; i++) {
		const char *line[1];
		line[0] = keys[i == 3 ? 2 : i % 2];
		f->consoles[i].instance_id = IDS[i];
		f->consoles[i].latest = console_with(line, 1);
		f->consoles[i].snapshot = console_with(line, 1);
	}
	f->n_consoles = 4;
}

static void fake_free(struct fake *f)
{
	size_t i;

	ec2_instance_list_free(&f->tmpl);
	for (i = 0; i < f->n_consoles; i++) {
		free(f->consoles[i].latest);
		free(f->consoles[i].snapshot);
	}
}

/* ---- calls ---- */

struct call {
	struct service_context ctx;
	struct router_request req;
	struct router_response resp;
	json_t *json;
};

static void call_init(struct call *c, struct fake *f, const char *path)
{
	memset(c, 0, sizeof(*c));
	c->ctx.describe_instances = fake_describe;
	c->ctx.console_output = fake_console;
	c->ctx.seam_data = f;
	router_request_init(&c->req);
	router_response_init(&c->resp);
	c->req.method = strdup("GET");
	c->req.path = strdup(path);
}

static void call_run(struct call *c)
{
	CHECK_INT(router_handle(&c->ctx, &c->req, &c->resp), 0);
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

/* GET path (with ?address=addr when addr), JSON; returns the new call (caller frees). */
static void get(struct call *c, struct fake *f, const char *path, const char *addr, int json)
{
	call_init(c, f, path);
	if (addr)
		router_pair_add(&c->req.query, &c->req.n_query, "address", addr);
	if (json)
		router_pair_add(&c->req.headers, &c->req.n_headers, "Accept", "application/json");
	call_run(c);
}

/* ---- cases ---- */

TEST_CASE(text_answer_of_instance_1)
{
	struct fake f;
	struct call c;
	char want[HOSTKEYS_B64_MAX + 64];

	fixture(&f);
	get(&c, &f, "/eb/my-env/hostkeys", NULL, 0);
	CHECK_INT(c.resp.status, 200);
	CHECK_STR(c.resp.content_type, "text/plain; charset=utf-8");
	snprintf(want, sizeof(want), "%s\n", keys[0]);
	CHECK_STR(buf_str(&c.resp.body), want);
	CHECK_STR(c.resp.route, "/eb/{env}/hostkeys");
	CHECK_INT(f.describe_calls, 1);
	CHECK_INT(f.console_calls, 1);
	CHECK_STR(f.calls[0], "i-0aaaaaaaaaaaaaaa1:latest");
	call_free(&c);
	fake_free(&f);
}

TEST_CASE(hostkeys_n_is_ip_n)
{
	static const char *const addrs[] = {NULL, "public", "private"};
	struct fake f;
	struct call ip, hk;
	size_t a;
	int n;

	fixture(&f);
	for (a = 0; a < 3; a++) {
		for (n = 1; n <= 5; n++) {
			char p_ip[64], p_hk[64];
			json_t *inst;
			snprintf(p_ip, sizeof(p_ip), "/eb/my-env/ip/%d", n);
			snprintf(p_hk, sizeof(p_hk), "/eb/my-env/hostkeys/%d", n);
			get(&ip, &f, p_ip, addrs[a], 1);
			get(&hk, &f, p_hk, addrs[a], 1);
			CHECK_INT(hk.resp.status, ip.resp.status);
			if (ip.resp.status == 200) {
				inst = json_array_get(json_object_get(ip.json, "instances"), 0);
				CHECK_STR(jstr(hk.json, "instance_id"), jstr(inst, "instance_id"));
				CHECK_INT(json_integer_value(json_object_get(hk.json, "index")), n);
				CHECK_STR(hk.resp.route, "/eb/{env}/hostkeys/{n}");
			} else {
				CHECK_STR(jstr(hk.json, "code"), "NotFound");
			}
			call_free(&ip);
			call_free(&hk);
		}
	}
	/* Public: 3 instances, private: 4 (i-..4 first, the oldest). */
	get(&hk, &f, "/eb/my-env/hostkeys/1", "private", 1);
	CHECK_STR(jstr(hk.json, "instance_id"), IDS[3]);
	call_free(&hk);
	get(&hk, &f, "/eb/my-env/hostkeys/4", "public", 1);
	CHECK_INT(hk.resp.status, 404);
	call_free(&hk);
	fake_free(&f);
}

TEST_CASE(json_shape)
{
	struct fake f;
	struct call c;
	json_t *arr, *k;

	fixture(&f);
	get(&c, &f, "/eb/my-env/hostkeys/2", NULL, 1);
	CHECK_INT(c.resp.status, 200);
	CHECK_STR(c.resp.content_type, "application/json");
	CHECK_STR(jstr(c.json, "environment"), "my-env");
	CHECK_INT(json_integer_value(json_object_get(c.json, "index")), 2);
	CHECK_STR(jstr(c.json, "instance_id"), IDS[1]);
	CHECK_STR(jstr(c.json, "console_timestamp"), "2024-05-01T09:31:02.000Z");
	CHECK_INT(json_object_size(c.json), 5);
	arr = json_object_get(c.json, "keys");
	CHECK_INT(json_array_size(arr), 1);
	k = json_array_get(arr, 0);
	CHECK_STR(jstr(k, "type"), "ssh-ed25519");
	CHECK_STR(jstr(k, "key"), strchr(keys[1], ' ') + 1);
	CHECK_INT(json_object_size(k), 2);
	call_free(&c);
	fake_free(&f);
}

TEST_CASE(asg_twin)
{
	struct fake f;
	struct call c;

	fixture(&f);
	ec2_instance_list_free(&f.tmpl);
	add_inst(&f.tmpl, IDS[1], "203.0.113.2", "10.0.0.2", 1704067201000, TAG_ASG, "web_asg:1");
	add_inst(&f.tmpl, IDS[0], "203.0.113.1", "10.0.0.1", 1704067202000, TAG_ASG, "web_asg");
	get(&c, &f, "/asg/web_asg/hostkeys/1", NULL, 1);
	CHECK_INT(c.resp.status, 200);
	CHECK_STR(jstr(c.json, "group"), "web_asg");
	CHECK_STR(jstr(c.json, "instance_id"), IDS[0]);
	CHECK_STR(c.resp.route, "/asg/{group}/hostkeys/{n}");
	call_free(&c);
	get(&c, &f, "/asg/web_asg/hostkeys/2", NULL, 0);
	CHECK_INT(c.resp.status, 404);
	call_free(&c);
	fake_free(&f);
}

TEST_CASE(latest_unsupported_falls_back_to_snapshot)
{
	struct fake f;
	struct call c;
	char want[HOSTKEYS_B64_MAX + 64];

	fixture(&f);
	f.consoles[0].latest_err = 400;
	f.consoles[0].latest_code = "UnsupportedOperation";
	get(&c, &f, "/eb/my-env/hostkeys/1", NULL, 0);
	CHECK_INT(c.resp.status, 200);
	snprintf(want, sizeof(want), "%s\n", keys[0]);
	CHECK_STR(buf_str(&c.resp.body), want);
	CHECK_INT(f.console_calls, 2);
	CHECK_STR(f.calls[0], "i-0aaaaaaaaaaaaaaa1:latest");
	CHECK_STR(f.calls[1], "i-0aaaaaaaaaaaaaaa1:snapshot");
	call_free(&c);
	fake_free(&f);
}

TEST_CASE(latest_without_block_falls_back_to_snapshot)
{
	struct fake f;
	struct call c;

	fixture(&f);
	free(f.consoles[0].latest);
	f.consoles[0].latest = strdup("[ 9999.1] kernel: the block scrolled away\r\n");
	get(&c, &f, "/eb/my-env/hostkeys/1", NULL, 1);
	CHECK_INT(c.resp.status, 200);
	CHECK_STR(jstr(c.json, "console_timestamp"), "2024-05-01T09:20:00.000Z");
	CHECK_INT(f.console_calls, 2);
	call_free(&c);
	/* The latest block wins when it has one, even if the snapshot differs. */
	free(f.consoles[1].snapshot);
	f.consoles[1].snapshot = strdup("");
	get(&c, &f, "/eb/my-env/hostkeys/2", NULL, 1);
	CHECK_INT(c.resp.status, 200);
	CHECK_INT(f.console_calls, 3);
	call_free(&c);
	fake_free(&f);
}

TEST_CASE(no_block_is_404_that_says_so)
{
	struct fake f;
	struct call c;
	const char *msg;

	fixture(&f);
	free(f.consoles[0].latest);
	free(f.consoles[0].snapshot);
	f.consoles[0].latest = NULL; /* no output at all yet */
	f.consoles[0].snapshot = strdup("[    0.000000] Linux version 6.1.61\r\n-----BEGIN SSH "
	                                "HOST KEY KEYS-----\r\n"); /* cut inside */
	get(&c, &f, "/eb/my-env/hostkeys", NULL, 0);
	CHECK_INT(c.resp.status, 404);
	CHECK_STR(c.resp.content_type, "application/json");
	CHECK_STR(jstr(c.json, "code"), "NoHostKeys");
	msg = jstr(c.json, "message");
	CHECK(msg && strstr(msg, "no SSH host keys yet") && strstr(msg, IDS[0]) &&
	      strstr(msg, "cloud-init"));
	CHECK_INT(f.console_calls, 2);
	call_free(&c);
	fake_free(&f);
}

TEST_CASE(block_without_good_key_is_404)
{
	static const char *const junk[] = {"ssh-dss AAAAB3NzaC1kc3MAAACBAK9r", "ssh-ed25519 AAAA",
	                                   "\x1b[0mssh-ed25519 AAAAC3NzaC1lZDI1NTE5"};
	struct fake f;
	struct call c;

	fixture(&f);
	free(f.consoles[0].latest);
	f.consoles[0].latest = console_with(junk, 3);
	get(&c, &f, "/eb/my-env/hostkeys", NULL, 0);
	CHECK_INT(c.resp.status, 404);
	CHECK_STR(jstr(c.json, "code"), "NoHostKeys");
	CHECK(strstr(jstr(c.json, "message"), "no well-formed key") != NULL);
	CHECK_INT(f.console_calls, 1); /* a block was seen: no second call */
	call_free(&c);
	fake_free(&f);
}

TEST_CASE(hostile_lines_never_answered)
{
	const char *lines[6];
	struct fake f;
	struct call c;
	char want[3 * HOSTKEYS_B64_MAX];
	char inj[HOSTKEYS_B64_MAX + 64];

	fixture(&f);
	snprintf(inj, sizeof(inj), "%s root\r@cert-authority * %s", keys[1], keys[0]);
	lines[0] = keys[0];
	lines[1] = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFOO\x1b[2J";
	lines[2] = inj; /* a lone CR hides the rest on a terminal: a control byte, dropped */
	lines[3] = "* ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGv1OSF";
	lines[4] = keys[2];
	lines[5] = keys[0];
	free(f.consoles[0].latest);
	f.consoles[0].latest = console_with(lines, 6);
	get(&c, &f, "/eb/my-env/hostkeys", NULL, 0);
	CHECK_INT(c.resp.status, 200);
	snprintf(want, sizeof(want), "%s\n%s\n", keys[0], keys[2]);
	CHECK_STR(buf_str(&c.resp.body), want);
	call_free(&c);
	fake_free(&f);
}

TEST_CASE(aws_errors)
{
	struct fake f;
	struct call c;

	fixture(&f);
	f.consoles[0].latest_err = 403;
	f.consoles[0].latest_code = "UnauthorizedOperation";
	get(&c, &f, "/eb/my-env/hostkeys", NULL, 0);
	CHECK_INT(c.resp.status, 502);
	CHECK_STR(jstr(c.json, "code"), "AwsError");
	CHECK(strstr(jstr(c.json, "message"), "UnauthorizedOperation") != NULL);
	CHECK_INT(f.console_calls, 1);
	call_free(&c);
	f.consoles[0].latest_err = 503;
	f.consoles[0].latest_code = "RequestLimitExceeded";
	get(&c, &f, "/eb/my-env/hostkeys", NULL, 0);
	CHECK_INT(c.resp.status, 503);
	CHECK_STR(jstr(c.json, "code"), "Throttled");
	call_free(&c);
	/* Latest unsupported, then the snapshot fails too: its error. */
	f.consoles[0].latest_err = 400;
	f.consoles[0].latest_code = "UnsupportedOperation";
	f.consoles[0].snapshot_err = 403;
	f.consoles[0].snapshot_code = "UnauthorizedOperation";
	get(&c, &f, "/eb/my-env/hostkeys", NULL, 0);
	CHECK_INT(c.resp.status, 502);
	CHECK(strstr(jstr(c.json, "message"), "UnauthorizedOperation") != NULL);
	call_free(&c);
	fake_free(&f);
}

TEST_CASE(bad_input_before_aws)
{
	static const struct {
		const char *path, *addr;
		int status;
		const char *code;
	} cases[] = {
	    {"/eb/my/hostkeys", NULL, 400, "InvalidName"},
	    {"/eb/-my-env/hostkeys/1", NULL, 400, "InvalidName"},
	    {"/eb/my-env/hostkeys/0", NULL, 400, "InvalidIndex"},
	    {"/eb/my-env/hostkeys/01", NULL, 400, "InvalidIndex"},
	    {"/eb/my-env/hostkeys/1001", NULL, 400, "InvalidIndex"},
	    {"/eb/my-env/hostkeys/x", NULL, 400, "InvalidIndex"},
	    {"/eb/my-env/hostkeys", "ipv6", 400, "InvalidParameter"},
	    {"/asg/a:b/hostkeys", NULL, 400, "InvalidName"},
	};
	struct fake f;
	struct call c;
	size_t i;

	fixture(&f);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		get(&c, &f, cases[i].path, cases[i].addr, 0);
		CHECK_INT(c.resp.status, cases[i].status);
		CHECK_STR(jstr(c.json, "code"), cases[i].code);
		call_free(&c);
	}
	CHECK_INT(f.describe_calls, 0);
	CHECK_INT(f.console_calls, 0);
	/* Unknown environment and an index past the end: 404 after the describe only. */
	get(&c, &f, "/eb/other-env/hostkeys", NULL, 0);
	CHECK_INT(c.resp.status, 404);
	CHECK_STR(jstr(c.json, "code"), "NotFound");
	call_free(&c);
	get(&c, &f, "/eb/my-env/hostkeys/4", NULL, 0);
	CHECK_INT(c.resp.status, 404);
	call_free(&c);
	CHECK_INT(f.console_calls, 0);
	/* Other methods. */
	call_init(&c, &f, "/eb/my-env/hostkeys/1");
	free(c.req.method);
	c.req.method = strdup("POST");
	call_run(&c);
	CHECK_INT(c.resp.status, 405);
	call_free(&c);
	fake_free(&f);
}

TEST_CASE(pure_answer)
{
	struct hostkey_list l = {0};
	struct router_response r;

	router_response_init(&r);
	CHECK_INT(routes_hostkeys_answer(ROUTES_EB, "my-env", 2, "i-0abcdef12", NULL, 1, &l, 0, &r),
	          0);
	CHECK_INT(r.status, 404);
	router_response_free(&r);
	router_response_init(&r);
	CHECK_INT(hostkey_list_add(&l, "ssh-ed25519", strchr(keys[1], ' ') + 1), 0);
	CHECK_INT(routes_hostkeys_answer(ROUTES_ASG, "g", 2, "i-0abcdef12", NULL, 1, &l, 1, &r), 0);
	CHECK_INT(r.status, 200);
	CHECK(strstr(buf_str(&r.body), "\"group\":\"g\"") != NULL);
	CHECK(strstr(buf_str(&r.body), "\"console_timestamp\":null") != NULL);
	router_response_free(&r);
	hostkey_list_free(&l);
}

int main(void)
{
	int i, rc;

	load_keys();
	if (!keys[0] || !keys[1] || !keys[2]) {
		printf("not ok 1 - fixture keys (EBSSH_ROOT?)\n1..1\n");
		return 1;
	}
	RUN(text_answer_of_instance_1);
	RUN(hostkeys_n_is_ip_n);
	RUN(json_shape);
	RUN(asg_twin);
	RUN(latest_unsupported_falls_back_to_snapshot);
	RUN(latest_without_block_falls_back_to_snapshot);
	RUN(no_block_is_404_that_says_so);
	RUN(block_without_good_key_is_404);
	RUN(hostile_lines_never_answered);
	RUN(aws_errors);
	RUN(bad_input_before_aws);
	RUN(pure_answer);
	rc = TEST_DONE();
	for (i = 0; i < 3; i++)
		free(keys[i]);
	return rc;
}
