/* endpoint: region and service endpoint URLs; see endpoint.h. */
#include "endpoint.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../util/buf.h"
#include "profile.h"

int endpoint_region_is_valid(const char *region)
{
	size_t i, n = strlen(region);
	int digits_only = 1;

	if (n == 0 || n > 63 || region[0] == '-' || region[n - 1] == '-')
		return 0;
	for (i = 0; i < n; i++) {
		char c = region[i];

		if (c >= '0' && c <= '9')
			continue;
		digits_only = 0;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-'))
			return 0;
	}
	return !digits_only;
}

static char *dup_or_err(const char *s, struct err *e)
{
	char *p = strdup(s);

	if (!p)
		err_set(e, ERR_NOMEM, "out of memory");
	return p;
}

/*
 * The config file's text in *text (NULL when the file does not exist) and
 * its path in *path, both malloc'd.
 */
static int read_config(char **path, char **text, size_t *len, struct err *e)
{
	int rc;

	*text = NULL;
	*len = 0;
	rc = profile_config_path(path, e);
	if (rc == ERR_NOT_FOUND)
		return 0; /* no home directory: no config file */
	if (rc)
		return rc;
	rc = profile_read_file(*path, text, len, e);
	if (rc == ERR_NOT_FOUND) {
		err_clear(e);
		return 0;
	}
	return rc;
}

int endpoint_region(char **out, struct err *e)
{
	static const char *const vars[] = {"AWS_REGION", "AWS_DEFAULT_REGION"};
	const char *profile = profile_name();
	char *path = NULL, *text = NULL, *region = NULL;
	size_t len, i;
	int rc;

	*out = NULL;
	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		const char *v = getenv(vars[i]);

		if (!v || !*v)
			continue;
		if (!endpoint_region_is_valid(v))
			return err_set(e, ERR_INVALID, "%s=\"%.64s\" is not a valid region name",
			               vars[i], v);
		*out = dup_or_err(v, e);
		return *out ? 0 : ERR_NOMEM;
	}
	rc = read_config(&path, &text, &len, e);
	if (rc)
		goto out;
	if (text)
		rc = profile_lookup(text, len, PROFILE_CONFIG, profile, "region", NULL, &region, e);
	if (!text || rc == ERR_NOT_FOUND) {
		rc = err_set(e, ERR_NOT_FOUND,
		             "no AWS region: set AWS_REGION, or region in [%s%s] of %s",
		             strcmp(profile, "default") ? "profile " : "", profile,
		             path ? path : "~/.aws/config");
	} else if (rc) {
		err_prefix(e, "%s", path);
	} else if (!endpoint_region_is_valid(region)) {
		rc = err_set(e, ERR_INVALID, "region \"%.64s\" of profile %s in %s is not valid",
		             region, profile, path);
	} else {
		*out = region;
		region = NULL;
	}
out:
	free(region);
	free(text);
	free(path);
	return rc;
}

int endpoint_normalize(const char *url, char **out, struct err *e)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *part = NULL;
	size_t n;
	int rc = 0;

	*out = NULL;
	if (!u)
		return err_set(e, ERR_NOMEM, "out of memory");
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0) ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !*host) {
		rc = err_set(e, ERR_INVALID, "\"%.200s\" is not an http:// or https:// URL", url);
		goto out;
	}
	if (curl_url_get(u, CURLUPART_QUERY, &part, 0) != CURLUE_NO_QUERY ||
	    curl_url_get(u, CURLUPART_FRAGMENT, &part, 0) != CURLUE_NO_FRAGMENT ||
	    curl_url_get(u, CURLUPART_USER, &part, 0) != CURLUE_NO_USER) {
		rc = err_set(e, ERR_INVALID,
		             "endpoint URL \"%.200s\" may not have a query, fragment or user", url);
		goto out;
	}
	n = strlen(url);
	while (n && url[n - 1] == '/')
		n--;
	*out = strndup(url, n);
	if (!*out)
		rc = err_set(e, ERR_NOMEM, "out of memory");
out:
	curl_free(part);
	curl_free(host);
	curl_free(scheme);
	curl_url_cleanup(u);
	return rc;
}

int endpoint_host_header(const char *url, char **out, struct err *e)
{
	CURLU *u = curl_url();
	char *host = NULL, *port = NULL;
	CURLUcode uc;
	struct buf b;
	int rc = 0;

	*out = NULL;
	if (!u)
		return err_set(e, ERR_NOMEM, "out of memory");
	buf_init(&b, 0);
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !*host) {
		rc = err_set(e, ERR_INVALID, "\"%.200s\" is not a URL with a host", url);
		goto out;
	}
	uc = curl_url_get(u, CURLUPART_PORT, &port, CURLU_NO_DEFAULT_PORT);
	if (uc != CURLUE_OK && uc != CURLUE_NO_PORT) {
		rc = err_set(e, ERR_INVALID, "\"%.200s\" has a bad port", url);
		goto out;
	}
	for (char *c = host; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	if (buf_appendf(&b, "%s%s%s", host, port ? ":" : "", port ? port : "") ||
	    !(*out = buf_take(&b)))
		rc = err_set(e, ERR_NOMEM, "out of memory");
out:
	buf_free(&b);
	curl_free(port);
	curl_free(host);
	curl_url_cleanup(u);
	return rc;
}

static int valid_service_id(const char *id)
{
	if (!*id)
		return 0;
	for (; *id; id++)
		if (!((*id >= 'A' && *id <= 'Z') || (*id >= '0' && *id <= '9') || *id == '_'))
			return 0;
	return 1;
}

/* The configured URL of the profile in the config file, or NULL in *url. */
static int config_endpoint(const char *service_id, char **url, struct err *e)
{
	const char *profile = profile_name();
	char *path = NULL, *text = NULL, *services = NULL, *key = NULL;
	size_t len, i;
	int rc;

	*url = NULL;
	rc = read_config(&path, &text, &len, e);
	if (rc || !text)
		goto out;
	rc = profile_lookup(text, len, PROFILE_CONFIG, profile, "services", NULL, &services, e);
	if (rc == 0) {
		key = strdup(service_id);
		if (!key) {
			rc = err_set(e, ERR_NOMEM, "out of memory");
			goto out;
		}
		for (i = 0; key[i]; i++)
			if (key[i] >= 'A' && key[i] <= 'Z')
				key[i] = (char)(key[i] - 'A' + 'a');
		rc = profile_lookup(text, len, PROFILE_SERVICES, services, key, "endpoint_url", url,
		                    e);
	}
	if (rc == ERR_NOT_FOUND)
		rc = profile_lookup(text, len, PROFILE_CONFIG, profile, "endpoint_url", NULL, url,
		                    e);
	if (rc == ERR_NOT_FOUND) {
		err_clear(e);
		rc = 0;
	} else if (rc) {
		err_prefix(e, "%s", path);
	}
out:
	free(key);
	free(services);
	free(text);
	free(path);
	return rc;
}

int endpoint_url(const char *service_id, const char *prefix, const char *region, char **out,
                 struct err *e)
{
	const char *ignore = getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
	char var[96], *configured = NULL;
	const char *v;
	struct buf b;
	int rc;

	*out = NULL;
	if (!valid_service_id(service_id) || strlen(service_id) > 64)
		return err_set(e, ERR_INVALID, "bad service id \"%.64s\"", service_id);
	if (!(ignore && strcasecmp(ignore, "true") == 0)) {
		snprintf(var, sizeof(var), "AWS_ENDPOINT_URL_%s", service_id);
		v = getenv(var);
		if (!v || !*v) {
			snprintf(var, sizeof(var), "AWS_ENDPOINT_URL");
			v = getenv(var);
		}
		if (v && *v) {
			rc = endpoint_normalize(v, out, e);
			if (rc)
				err_prefix(e, "%s", var);
			return rc;
		}
		rc = config_endpoint(service_id, &configured, e);
		if (rc)
			return rc;
		if (configured) {
			rc = endpoint_normalize(configured, out, e);
			if (rc)
				err_prefix(e, "endpoint_url of profile %s", profile_name());
			free(configured);
			return rc;
		}
	}
	if (!region || !endpoint_region_is_valid(region))
		return err_set(e, ERR_INVALID, "no valid region for the %s endpoint", prefix);
	buf_init(&b, 0);
	if (buf_appendf(&b, "https://%s.%s.amazonaws.com%s", prefix, region,
	                strncmp(region, "cn-", 3) == 0 ? ".cn" : "") ||
	    !(*out = buf_take(&b))) {
		buf_free(&b);
		return err_set(e, ERR_NOMEM, "out of memory");
	}
	return 0;
}
