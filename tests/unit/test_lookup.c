/* Unit tests of proxy/lookup: the URL asked and the sorting of answers. */
#include "test.h"

#include "proxy/lookup.h"

static void url_of(const char *host, enum alias_kind kind, enum lookup_address address,
                   const char *want)
{
	struct lookup_query q = {.endpoint = "https://abc.execute-api.eu-west-1.amazonaws.com/prod",
	                         .address = address};
	struct alias a;
	struct buf b;

	CHECK_INT(alias_parse_kind(host, kind, &a, NULL), 0);
	q.alias = &a;
	buf_init(&b, 0);
	CHECK_INT(lookup_url(&q, &b, NULL), 0);
	CHECK_STR(buf_str(&b), want);
	buf_free(&b);
}

TEST_CASE(urls)
{
	url_of("my-env-production2", ALIAS_EB, LOOKUP_PUBLIC,
	       "https://abc.execute-api.eu-west-1.amazonaws.com/prod/eb/my-env-production/ip/2");
	url_of("my-env", ALIAS_EB, LOOKUP_PRIVATE,
	       "https://abc.execute-api.eu-west-1.amazonaws.com/prod/eb/my-env/ip/1"
	       "?address=private");
	url_of("web_asg.1000", ALIAS_ASG, LOOKUP_PUBLIC,
	       "https://abc.execute-api.eu-west-1.amazonaws.com/prod/asg/web_asg/ip/1000");
	CHECK_STR(lookup_address_name(LOOKUP_PRIVATE), "private");
	CHECK_STR(lookup_kind_name(ALIAS_ASG), "asg");
	CHECK_STR(lookup_kind_name(ALIAS_EB), "eb");
}

struct answer_case {
	long status;
	const char *body;
	const char *request_id;
	int code;
	const char *text; /* the address, or the exact message */
};

static const struct answer_case answers[] = {
    {200, "203.0.113.7\n", NULL, 0, "203.0.113.7"},
    {200, "2001:db8::7", NULL, 0, "2001:db8::7"},
    {200, "localhost\n", NULL, ERR_PARSE,
     "the lookup service answered: \"localhost\" is not an IP address"},
    {200, "", NULL, ERR_PARSE,
     "the lookup service answered: empty answer where an IP address was expected"},
    {200, "{\"environment\":\"x\",\"instances\":[]}", NULL, ERR_PARSE, NULL},
    {404, "{\"message\":\"no instance 3 in my-env (2 running)\",\"code\":\"NotFound\"}", "req-1",
     ERR_NOT_FOUND,
     "the lookup service answered 404 (not found): no instance 3 in my-env (2 running) "
     "(request id req-1)"},
    {404, "Not Found", NULL, ERR_NOT_FOUND, "the lookup service answered 404 (not found)"},
    {400, "{\"message\":\"bad index\"}", NULL, ERR_INVALID,
     "the lookup service answered 400 (bad request): bad index"},
    {403, "{\"message\":\"Forbidden\"}", NULL, ERR_CREDENTIALS,
     "the lookup service answered 403 (API key missing or refused): Forbidden"},
    {401, "", NULL, ERR_CREDENTIALS,
     "the lookup service answered 401 (API key missing or refused)"},
    {429, "{\"message\":\"Too Many Requests\"}", NULL, ERR_THROTTLED,
     "the lookup service answered 429 (too many requests): Too Many Requests"},
    {502, "{\"message\":\"AWS answered UnauthorizedOperation\",\"code\":\"AwsError\"}", NULL,
     ERR_AWS,
     "the lookup service answered 502 (service error): AWS answered UnauthorizedOperation"},
    {503, "{\"message\":\"throttled\"}", NULL, ERR_AWS,
     "the lookup service answered 503 (service error): throttled"},
    {500, "<html>Internal Server Error</html>", NULL, ERR_AWS,
     "the lookup service answered 500 (service error)"},
    {302, "", NULL, ERR_INVALID, "the lookup service answered 302 (unexpected answer)"},
    /* the service's text is made printable, and cut */
    {404, "{\"message\":\"a\\u001b[31mred\\nline\"}", "r\x01", ERR_NOT_FOUND,
     "the lookup service answered 404 (not found): a?[31mred?line (request id r?)"},
    {404, "{\"message\":42}", NULL, ERR_NOT_FOUND, "the lookup service answered 404 (not found)"},
};

TEST_CASE(answers_are_sorted)
{
	struct addr a;
	struct err e;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(answers) / sizeof(answers[0]); i++) {
		const struct answer_case *c = &answers[i];

		err_clear(&e);
		rc = lookup_classify(c->status, c->body, strlen(c->body), c->request_id, &a, &e);
		CHECK_INT(rc, c->code);
		if (rc != c->code)
			printf("# case %zu: %s\n", i, e.message);
		if (c->code == 0)
			CHECK_STR(a.text, c->text);
		else {
			CHECK_STR(a.text, "");
			if (c->text)
				CHECK_STR(e.message, c->text);
			if (c->status != 200)
				CHECK_INT(e.http_status, c->status);
		}
	}
}

TEST_CASE(long_messages_are_cut)
{
	char body[1200], m[1000];
	struct addr a;
	struct err e;

	memset(m, 'm', sizeof(m) - 1);
	m[sizeof(m) - 1] = '\0';
	snprintf(body, sizeof(body), "{\"message\":\"%s\"}", m);
	CHECK_INT(lookup_classify(404, body, strlen(body), NULL, &a, &e), ERR_NOT_FOUND);
	CHECK_INT(strlen(e.message),
	          strlen("the lookup service answered 404 (not found): ") + LOOKUP_MESSAGE_MAX);
}

TEST_CASE(which_failures_allow_the_stale_cache)
{
	CHECK_INT(lookup_service_unavailable(ERR_NETWORK), 1);
	CHECK_INT(lookup_service_unavailable(ERR_TIMEOUT), 1);
	CHECK_INT(lookup_service_unavailable(ERR_THROTTLED), 1);
	CHECK_INT(lookup_service_unavailable(ERR_AWS), 1);
	CHECK_INT(lookup_service_unavailable(ERR_NOT_FOUND), 0); /* 404: never from cache */
	CHECK_INT(lookup_service_unavailable(ERR_INVALID), 0);
	CHECK_INT(lookup_service_unavailable(ERR_CREDENTIALS), 0);
	CHECK_INT(lookup_service_unavailable(ERR_PARSE), 0);
	CHECK_INT(lookup_service_unavailable(0), 0);
}

int main(void)
{
	RUN(urls);
	RUN(answers_are_sorted);
	RUN(long_messages_are_cut);
	RUN(which_failures_allow_the_stale_cache);
	return TEST_DONE();
}
