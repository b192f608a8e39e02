/*
 * credentials_remote: aws/credentials' providers over HTTP, and the
 * helpers they share with the chain. Internal to aws/credentials*.c; the
 * public API is credentials.h.
 *
 *   container  AWS_CONTAINER_CREDENTIALS_FULL_URI or _RELATIVE_URI, with
 *              the token of AWS_CONTAINER_AUTHORIZATION_TOKEN[_FILE]
 *   imds       EC2's instance metadata service, IMDSv2 (token first)
 */
#ifndef EBSSH_AWS_CREDENTIALS_REMOTE_H
#define EBSSH_AWS_CREDENTIALS_REMOTE_H

#include <jansson.h>
#include <stddef.h>

#include "../util/err.h"
#include "credentials.h"
#include "http.h"

/* The providers: 0 and *out filled, ERR_NOT_FOUND when not configured
 * (container) or disabled (imds), else the failure. http is borrowed. */
int credentials_from_container(struct http_client *http, struct aws_credentials *out,
                               struct err *e);
int credentials_from_imds(struct http_client *http, struct aws_credentials *out, struct err *e);

/* Shared helpers: free a secret after wiping it; free a response whose
 * body held one; the environment's value (NULL when unset or empty); s
 * as printable ASCII for a message; obj[key] when a string (borrowed);
 * overwrite every string member of obj (before json_decref); fill c with
 * copies (token NULL or "" for none; ERR_NOMEM leaves c cleared). */
void credentials_wipe_free(char *s);
void credentials_response_wipe_free(struct http_response *r);
const char *credentials_env(const char *name);
void credentials_printable(char *dst, size_t size, const char *s);
const char *credentials_json_str(json_t *root, const char *key);
void credentials_json_wipe(json_t *obj);
int credentials_set(struct aws_credentials *c, const char *id, const char *secret,
                    const char *token, time_t expiration, struct err *e);

#endif
