/* ec2_console: GetConsoleOutput over the Query API; see ec2_console.h. */
#include "ec2_console.h"

#include <expat.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/b64.h"
#include "../util/buf.h"
#include "client.h"
#include "uri.h"

#define EC2_API_VERSION "2016-11-15"
#define FIELD_MAX       256 /* bytes of instanceId and timestamp */

enum field { F_NONE, F_INSTANCE_ID, F_TIMESTAMP, F_OUTPUT };

struct parse {
	XML_Parser xp;
	struct err *e;
	int rc;
	size_t depth;
	enum field field; /* the open field at depth 2, or F_NONE */
	struct buf text;
	char *instance_id, *timestamp, *output;
	size_t output_len;
	int have_output;
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

static void fail(struct parse *ps, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail(struct parse *ps, int code, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (ps->rc)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ps->rc = err_set(ps->e, code, "GetConsoleOutput answer: %s", msg);
	XML_StopParser(ps->xp, XML_FALSE);
}

static const char *local_name(const char *name)
{
	const char *colon = strrchr(name, ':');

	return colon ? colon + 1 : name;
}

static void XMLCALL on_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
	struct parse *ps = ud;
	const char *local = local_name(name);

	(void)atts;
	if (ps->rc)
		return;
	ps->depth++;
	if (ps->depth == 1) {
		if (strcmp(local, "GetConsoleOutputResponse") != 0)
			fail(ps, ERR_PARSE, "not a GetConsoleOutputResponse");
		return;
	}
	if (ps->depth != 2)
		return;
	if (strcmp(local, "instanceId") == 0)
		ps->field = F_INSTANCE_ID;
	else if (strcmp(local, "timestamp") == 0)
		ps->field = F_TIMESTAMP;
	else if (strcmp(local, "output") == 0)
		ps->field = F_OUTPUT;
	else
		ps->field = F_NONE;
	buf_free(&ps->text);
	buf_init(&ps->text, ps->field == F_OUTPUT ? EC2_CONSOLE_TEXT_MAX : FIELD_MAX);
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len)
{
	struct parse *ps = ud;
	int rc;

	if (ps->rc || ps->depth != 2 || ps->field == F_NONE || len <= 0)
		return;
	rc = buf_append(&ps->text, s, (size_t)len);
	if (rc == ERR_TOO_LARGE)
		fail(ps, ERR_TOO_LARGE, "a field longer than %zu bytes",
		     ps->field == F_OUTPUT ? EC2_CONSOLE_TEXT_MAX : (size_t)FIELD_MAX);
	else if (rc)
		fail(ps, rc, "out of memory");
}

static void end_field(struct parse *ps)
{
	unsigned char *bytes = NULL;
	size_t n = 0;
	struct err be;
	char *s;
	int rc;

	if (ps->field == F_OUTPUT) {
		rc = b64_decode(ps->text.data ? ps->text.data : "", ps->text.len, B64_SKIP_SPACE,
		                EC2_CONSOLE_OUTPUT_MAX, &bytes, &n, &be);
		if (rc == ERR_NOMEM || rc == ERR_TOO_LARGE) {
			fail(ps, rc, "the console output: %s", be.message);
			return;
		}
		if (rc) {
			fail(ps, ERR_PARSE, "the console output is not base64");
			return;
		}
		free(ps->output);
		ps->output = n ? (char *)bytes : NULL;
		ps->output_len = n;
		if (!n)
			free(bytes);
		buf_free(&ps->text);
		return;
	}
	s = strdup(buf_str(&ps->text));
	if (!s) {
		fail(ps, ERR_NOMEM, "out of memory");
		return;
	}
	if (ps->field == F_INSTANCE_ID) {
		free(ps->instance_id);
		ps->instance_id = s;
	} else {
		free(ps->timestamp);
		ps->timestamp = s;
	}
	buf_free(&ps->text);
}

static void XMLCALL on_end(void *ud, const XML_Char *name)
{
	struct parse *ps = ud;

	(void)name;
	if (ps->rc)
		return;
	if (ps->depth == 2 && ps->field != F_NONE)
		end_field(ps);
	if (ps->depth == 2)
		ps->field = F_NONE;
	ps->depth--;
}

static void XMLCALL on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
                               const XML_Char *pubid, int has_internal_subset)
{
	(void)name;
	(void)sysid;
	(void)pubid;
	(void)has_internal_subset;
	fail(ud, ERR_PARSE, "a DOCTYPE (not allowed)");
}

static void XMLCALL on_entity_decl(void *ud, const XML_Char *name, int is_param,
                                   const XML_Char *value, int value_len, const XML_Char *base,
                                   const XML_Char *sysid, const XML_Char *pubid,
                                   const XML_Char *notation)
{
	(void)name;
	(void)is_param;
	(void)value;
	(void)value_len;
	(void)base;
	(void)sysid;
	(void)pubid;
	(void)notation;
	fail(ud, ERR_PARSE, "an entity declaration (not allowed)");
}

int ec2_parse_console_output(const char *xml, size_t len, struct ec2_console *out, struct err *e)
{
	struct parse ps;
	enum XML_Error xerr;

	if (!out || (!xml && len))
		return err_set(e, ERR_INVALID, "GetConsoleOutput answer: no result or no bytes");
	memset(out, 0, sizeof(*out));
	if (len > INT_MAX)
		return err_set(e, ERR_TOO_LARGE, "GetConsoleOutput answer: %zu bytes", len);
	memset(&ps, 0, sizeof(ps));
	ps.e = e;
	buf_init(&ps.text, FIELD_MAX);
	ps.xp = XML_ParserCreate(NULL);
	if (!ps.xp)
		return err_set(e, ERR_NOMEM, "GetConsoleOutput answer: out of memory");
	XML_SetUserData(ps.xp, &ps);
	XML_SetElementHandler(ps.xp, on_start, on_end);
	XML_SetCharacterDataHandler(ps.xp, on_text);
	XML_SetStartDoctypeDeclHandler(ps.xp, on_doctype);
	XML_SetEntityDeclHandler(ps.xp, on_entity_decl);
	XML_SetParamEntityParsing(ps.xp, XML_PARAM_ENTITY_PARSING_NEVER);
	if (XML_Parse(ps.xp, xml ? xml : "", (int)len, XML_TRUE) != XML_STATUS_OK && !ps.rc) {
		xerr = XML_GetErrorCode(ps.xp);
		if (xerr == XML_ERROR_NO_MEMORY)
			ps.rc = err_set(e, ERR_NOMEM, "GetConsoleOutput answer: out of memory");
		else
			ps.rc = err_set(
			    e, ERR_PARSE, "GetConsoleOutput answer: malformed XML at line %lu: %s",
			    (unsigned long)XML_GetCurrentLineNumber(ps.xp), XML_ErrorString(xerr));
	}
	XML_ParserFree(ps.xp);
	buf_free(&ps.text);
	if (ps.rc) {
		free(ps.instance_id);
		free(ps.timestamp);
		free(ps.output);
		return ps.rc;
	}
	out->instance_id = ps.instance_id;
	out->timestamp = ps.timestamp;
	out->output = (unsigned char *)ps.output;
	out->output_len = ps.output_len;
	return 0;
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
	struct aws_call call;
	struct buf form, body;
	int rc;

	if (!out)
		return err_set(e, ERR_INVALID, "GetConsoleOutput: no result");
	memset(out, 0, sizeof(*out));
	if (!ec2_console_valid_instance_id(instance_id))
		return err_set(e, ERR_INVALID, "GetConsoleOutput: not an instance id");
	buf_init(&form, 0);
	rc = uri_form_add(&form, "Action", "GetConsoleOutput");
	if (!rc)
		rc = uri_form_add(&form, "Version", EC2_API_VERSION);
	if (!rc)
		rc = uri_form_add(&form, "InstanceId", instance_id);
	if (!rc && latest)
		rc = uri_form_add(&form, "Latest", "true");
	if (rc)
		return err_set(e, rc, "GetConsoleOutput: cannot build the request (%s)",
		               err_code_name(rc));
	memset(&call, 0, sizeof(call));
	call.service = "ec2";
	call.endpoint_id = "EC2";
	call.endpoint_prefix = "ec2";
	call.protocol = AWS_PROTOCOL_QUERY;
	call.method = "POST";
	call.path = "/";
	call.content_type = "application/x-www-form-urlencoded; charset=utf-8";
	call.body = form.data;
	call.body_len = form.len;
	buf_init(&body, 0);
	rc = aws_client_call(c, &call, &body, e);
	buf_free(&form);
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
