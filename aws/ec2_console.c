/* ec2_console: GetConsoleOutput over the Query API; see ec2_console.h. */
#include "ec2_console.h"

#include <stdlib.h>
#include <string.h>

#include "../util/b64.h"
#include "../util/buf.h"
#include "ec2.h"
#include "uri.h"
#include "xml.h"

#define FIELD_MAX 256 /* bytes of instanceId and timestamp */

enum kind { K_ROOT = XML_FIRST_KIND, K_INSTANCE_ID, K_TIMESTAMP, K_OUTPUT };

static const struct xml_rule rules[] = {
    {"instanceId", K_ROOT, K_INSTANCE_ID},
    {"timestamp", K_ROOT, K_TIMESTAMP},
    {"output", K_ROOT, K_OUTPUT},
};

void ec2_console_free(struct ec2_console *c)
{
	if (!c)
		return;
	free(c->instance_id);
	free(c->timestamp);
	free(c->output);
	memset(c, 0, sizeof(*c));
}

static int on_start(struct xml *x, void *ctx, int parent, size_t depth, const char *name)
{
	int kind;

	(void)ctx;
	(void)depth;
	if (parent == XML_DOC) {
		if (strcmp(name, "GetConsoleOutputResponse") != 0)
			xml_fail(x, ERR_PARSE, "not a GetConsoleOutputResponse");
		return K_ROOT;
	}
	kind = xml_rule_kind(rules, sizeof(rules) / sizeof(rules[0]), parent, name);
	if (kind != XML_IGNORE)
		xml_collect(x, kind == K_OUTPUT ? EC2_CONSOLE_TEXT_MAX : FIELD_MAX, ERR_TOO_LARGE);
	return kind;
}

/* <output>: base64 of the console, wrapped; empty or absent when none yet. */
static void end_output(struct xml *x, struct ec2_console *out, const struct buf *text)
{
	unsigned char *bytes = NULL;
	size_t n = 0;
	struct err be;
	int rc;

	rc = b64_decode(buf_str(text), text->len, B64_SKIP_SPACE, EC2_CONSOLE_OUTPUT_MAX, &bytes,
	                &n, &be);
	if (rc == ERR_NOMEM || rc == ERR_TOO_LARGE) {
		xml_fail(x, rc, "the console output: %s", be.message);
		return;
	}
	if (rc) {
		xml_fail(x, ERR_PARSE, "the console output is not base64");
		return;
	}
	free(out->output); /* a field seen twice: the last one wins */
	out->output = n ? bytes : NULL;
	out->output_len = n;
	if (!n)
		free(bytes);
}

static void on_end(struct xml *x, void *ctx, int kind, struct buf *text)
{
	struct ec2_console *out = ctx;
	int rc = 0;

	if (kind == K_OUTPUT)
		end_output(x, out, text);
	else if (kind == K_INSTANCE_ID)
		rc = ec2_take_field(&out->instance_id, text);
	else if (kind == K_TIMESTAMP)
		rc = ec2_take_field(&out->timestamp, text);
	if (rc)
		xml_fail(x, rc, "out of memory");
}

int ec2_parse_console_output(const char *xml, size_t len, struct ec2_console *out, struct err *e)
{
	static const struct xml_reader reader = {"GetConsoleOutput answer", NULL, on_start, on_end,
	                                         NULL};
	int rc;

	if (!out || (!xml && len))
		return err_set(e, ERR_INVALID, "GetConsoleOutput answer: no result or no bytes");
	memset(out, 0, sizeof(*out));
	rc = xml_parse(xml, len, &reader, out, e);
	if (rc)
		ec2_console_free(out);
	return rc;
}

int ec2_console_valid_instance_id(const char *id)
{
	size_t i, n;

	if (!id || strncmp(id, "i-", 2) != 0)
		return 0;
	n = strlen(id + 2);
	if (n != 8 && n != 17)
		return 0;
	for (i = 2; id[i]; i++)
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
			return 0;
	return 1;
}

int ec2_get_console_output(struct aws_client *c, const char *instance_id, int latest,
                           struct ec2_console *out, struct err *e)
{
	struct buf form, body;
	int rc;

	if (!out)
		return err_set(e, ERR_INVALID, "GetConsoleOutput: no result");
	memset(out, 0, sizeof(*out));
	if (!ec2_console_valid_instance_id(instance_id))
		return err_set(e, ERR_INVALID, "GetConsoleOutput: not an instance id");
	buf_init(&form, 0);
	rc = query_form_start(&form, &ec2_api, "GetConsoleOutput");
	if (!rc)
		rc = uri_form_add(&form, "InstanceId", instance_id);
	if (!rc && latest)
		rc = uri_form_add(&form, "Latest", "true");
	if (rc)
		return query_form_failed(&form, "GetConsoleOutput", rc, e);
	rc = query_call(c, &ec2_api, &form, &body, e);
	if (!rc)
		rc = ec2_parse_console_output(body.data, body.len, out, e);
	buf_free(&body);
	return rc;
}

int ec2_console_latest_unsupported(const struct err *e)
{
	return e && e->code == ERR_AWS && e->http_status == 400 &&
	       strncmp(e->aws_code, "InvalidInstanceID", 17) != 0;
}
