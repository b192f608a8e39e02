/* libFuzzer target: lambda/slack's form parser, escaping and message parts, and the log
 * search's command and time parsers, on arbitrary bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aws/lambda.h"
#include "lambda/ops/logsearch.h"
#include "lambda/ops/slack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;
	const char *lines[SLACK_MAX_FIELDS];
	struct slack_parts parts;
	struct slack_form form;
	struct err e;
	size_t i, total;
	int rc;

	rc = slack_form_parse(body, size, &form, &e);
	if (rc != 0 && rc != ERR_INVALID && rc != ERR_NOMEM)
		abort();
	if (rc != 0 && (form.fields || form.n))
		abort();
	if (form.n > SLACK_MAX_FIELDS)
		abort();
	for (i = 0; i < form.n; i++) {
		const struct slack_field *f = &form.fields[i];
		if (!f->name || !f->value)
			abort();
		if (!slack_utf8_valid(f->name, strlen(f->name)) ||
		    !slack_utf8_valid(f->value, strlen(f->value)))
			abort();
		lines[i] = f->value;
	}
	if (form.n && slack_form_get(&form, form.fields[0].name) != form.fields[0].value)
		abort();
	if (slack_form_get(&form, "text")) {
		char fn[LAMBDA_MAX_NAME + 1], rid[LOGSEARCH_MAX_ID + 1];
		int64_t ms;
		/* Whatever passes can never break out of the quoted filter pattern. */
		if (logsearch_parse_command(slack_form_get(&form, "text"), fn, sizeof(fn), rid,
		                            sizeof(rid), &e) == 0 &&
		    (lambda_check_function_name(fn, NULL) != 0 || strpbrk(rid, "\" \\") ||
		     logsearch_check_request_id(rid, NULL) != 0))
			abort();
		if (logsearch_parse_time(slack_form_get(&form, "text"), &ms, &e) == 0 && ms < 0)
			abort();
	}
	/* Whatever came in, the parts are valid UTF-8 and within the limit. */
	if (slack_chunk_lines("*fuzz*", lines, form.n, 300, 3, &parts) == 0) {
		total = 0;
		for (i = 0; i < parts.n; i++) {
			size_t len = strlen(parts.texts[i]);
			if (len > 300 || !slack_utf8_valid(parts.texts[i], len))
				abort();
			if (strchr(parts.texts[i], '<') || strchr(parts.texts[i], '>'))
				abort();
			total += len;
		}
		if (parts.n == 0 || parts.n > 3 || total == 0)
			abort();
		slack_parts_free(&parts);
	}
	slack_form_free(&form);
	/* The verifier never accepts a made-up signature of these bytes. */
	if (size >= 67) {
		char sig[68];
		memcpy(sig, body, 67);
		sig[67] = '\0';
		if (slack_verify("secret", "1531420618", sig, body, size, 1531420618, &e) == 0)
			abort();
	}
	return 0;
}
