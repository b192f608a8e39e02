/*
 * query: requests of the AWS Query protocol (EC2, CloudWatch): a form body
 * of Action, Version and the action's parameters, POSTed signed to "/"
 * through aws_client_call. The answers are XML (aws/xml.h reads them).
 */
#ifndef EBSSH_AWS_QUERY_H
#define EBSSH_AWS_QUERY_H

#include <stddef.h>

#include "../util/buf.h"
#include "../util/err.h"

struct aws_client;

/* One Query API. */
struct query_api {
	const char *service;         /* signing name: "ec2", "monitoring" */
	const char *endpoint_id;     /* AWS_ENDPOINT_URL_<id>: "EC2", "CLOUDWATCH" */
	const char *endpoint_prefix; /* "ec2" -> ec2.<region>.amazonaws.com */
	const char *version;         /* the API version every form names: "2016-11-15" */
	size_t answer_max;           /* bytes of an answer; 0: aws/http's default */
};

/* Appends Action=action&Version=<api's version> to form. */
int query_form_start(struct buf *form, const struct query_api *api, const char *action);

/* Appends prefix.1=values[0]&prefix.2=values[1]... (n values). */
int query_form_list(struct buf *form, const char *prefix, const char *const *values, size_t n);

/* For a form that could not be built (rc): frees it and returns rc with
 * "<action>: cannot build the request (<rc's name>)". */
int query_form_failed(struct buf *form, const char *action, int rc, struct err *e);

/*
 * POSTs form, signed, to api and frees form. body (initialised here)
 * receives the 2xx answer; the caller frees it. Errors as aws_client_call
 * gives them.
 */
int query_call(struct aws_client *c, const struct query_api *api, struct buf *form,
               struct buf *body, struct err *e);

#endif
