/* query: Query protocol forms and calls; see query.h. */
#include "query.h"

#include <string.h>

#include "client.h"
#include "uri.h"

int query_form_start(struct buf *form, const struct query_api *api, const char *action)
{
	int rc = uri_form_add(form, "Action", action);

	if (!rc)
		rc = uri_form_add(form, "Version", api->version);
	return rc;
}

int query_form_list(struct buf *form, const char *prefix, const char *const *values, size_t n)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < n && !rc; i++)
		rc = uri_form_addf(form, values[i], "%s.%zu", prefix, i + 1);
	return rc;
}

int query_form_failed(struct buf *form, const char *action, int rc, struct err *e)
{
	buf_free(form);
	return err_set(e, rc, "%s: cannot build the request (%s)", action, err_code_name(rc));
}

int query_call(struct aws_client *c, const struct query_api *api, struct buf *form,
               struct buf *body, struct err *e)
{
	struct aws_call call;
	int rc;

	memset(&call, 0, sizeof(call));
	call.service = api->service;
	call.endpoint_id = api->endpoint_id;
	call.endpoint_prefix = api->endpoint_prefix;
	call.protocol = AWS_PROTOCOL_QUERY;
	call.method = "POST";
	call.path = "/";
	call.content_type = "application/x-www-form-urlencoded; charset=utf-8";
	call.body = form->data;
	call.body_len = form->len;
	call.max_response = api->answer_max;
	buf_init(body, api->answer_max);
	rc = aws_client_call(c, &call, body, e);
	buf_free(form);
	return rc;
}
