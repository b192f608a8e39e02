/* message: requests, answers and their name/value pairs; see message.h. */
#include "message.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

void router_pairs_free(struct router_pair *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(list[i].name);
		free(list[i].value);
	}
	free(list);
}

void router_request_init(struct router_request *r)
{
	memset(r, 0, sizeof(*r));
}

void router_request_free(struct router_request *r)
{
	if (!r)
		return;
	free(r->method);
	free(r->path);
	router_pairs_free(r->query, r->n_query);
	router_pairs_free(r->headers, r->n_headers);
	free(r->body);
	free(r->request_id);
	router_caller_free(&r->caller);
	router_request_init(r);
}

void router_caller_free(struct router_caller *c)
{
	free(c->api_key_id);
	free(c->user_arn);
	free(c->caller);
	free(c->source_ip);
	memset(c, 0, sizeof(*c));
}

void router_response_init(struct router_response *r)
{
	memset(r, 0, sizeof(*r));
	buf_init(&r->body, 0);
}

void router_response_free(struct router_response *r)
{
	if (!r)
		return;
	free(r->content_type);
	router_pairs_free(r->headers, r->n_headers);
	buf_free(&r->body);
	router_response_init(r);
}

int router_pair_add(struct router_pair **list, size_t *n, const char *name, const char *value)
{
	struct router_pair *grown;
	char *nc, *vc;

	if (*n >= ((size_t)-1) / sizeof(**list) - 1)
		return ERR_NOMEM;
	nc = strdup(name ? name : "");
	vc = strdup(value ? value : "");
	grown = nc && vc ? realloc(*list, (*n + 1) * sizeof(**list)) : NULL;
	if (!grown) {
		free(nc);
		free(vc);
		return ERR_NOMEM;
	}
	grown[*n].name = nc;
	grown[*n].value = vc;
	*list = grown;
	(*n)++;
	return 0;
}

const char *router_query(const struct router_request *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->n_query; i++)
		if (strcmp(r->query[i].name, name) == 0)
			return r->query[i].value;
	return NULL;
}

const char *router_header(const struct router_request *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->n_headers; i++)
		if (strcasecmp(r->headers[i].name, name) == 0)
			return r->headers[i].value;
	return NULL;
}
