/* Unit tests of proxy/lookup: the URL asked, the sorting of answers, and
 * the one request sent (to a one-shot HTTP server on loopback). */
#include "test.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

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
     ERR_SERVICE,
     "the lookup service answered 502 (service error): AWS answered UnauthorizedOperation"},
    {503, "{\"message\":\"throttled\"}", NULL, ERR_SERVICE,
     "the lookup service answered 503 (service error): throttled"},
    {500, "<html>Internal Server Error</html>", NULL, ERR_SERVICE,
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
	CHECK_INT(lookup_service_unavailable(ERR_SERVICE), 1);
	/* a 5xx of the service is its own failure, not an AWS error */
	CHECK_STR(err_code_name(ERR_SERVICE), "service_error");
	CHECK_INT(lookup_service_unavailable(ERR_NOT_FOUND), 0); /* 404: never from cache */
	CHECK_INT(lookup_service_unavailable(ERR_INVALID), 0);
	CHECK_INT(lookup_service_unavailable(ERR_CREDENTIALS), 0);
	CHECK_INT(lookup_service_unavailable(ERR_PARSE), 0);
	CHECK_INT(lookup_service_unavailable(0), 0);
}

TEST_CASE(route_urls)
{
	struct lookup_query q = {.endpoint = "http://127.0.0.1:8080/api",
	                         .address = LOOKUP_PRIVATE};
	struct alias a;
	struct buf b;

	CHECK_INT(alias_parse_kind("web asg.3", ALIAS_ASG, &a, NULL), ERR_INVALID);
	CHECK_INT(alias_parse_kind("web_asg.3", ALIAS_ASG, &a, NULL), 0);
	q.alias = &a;
	buf_init(&b, 0);
	CHECK_INT(lookup_route_url(&q, LOOKUP_ROUTE_HOSTKEYS, &b, NULL), 0);
	CHECK_STR(buf_str(&b), "http://127.0.0.1:8080/api/asg/web_asg/hostkeys/3?address=private");
	buf_reset(&b);
	CHECK_INT(lookup_route_url(&q, LOOKUP_ROUTE_IP, &b, NULL), 0);
	CHECK_STR(buf_str(&b), "http://127.0.0.1:8080/api/asg/web_asg/ip/3?address=private");
	buf_free(&b);
	/* a URL over the buffer's cap */
	buf_init(&b, 16);
	CHECK_INT(lookup_route_url(&q, LOOKUP_ROUTE_IP, &b, NULL), ERR_TOO_LARGE);
	buf_free(&b);
}

TEST_CASE(errors_are_classified_alone)
{
	struct err e;
	size_t i;

	/* the same codes and messages as lookup_classify, without an address */
	for (i = 0; i < sizeof(answers) / sizeof(answers[0]); i++) {
		const struct answer_case *c = &answers[i];

		if (c->status == 200)
			continue;
		err_clear(&e);
		CHECK_INT(
		    lookup_classify_error(c->status, c->body, strlen(c->body), c->request_id, &e),
		    c->code);
		CHECK_STR(e.message, c->text);
		CHECK_INT(e.http_status, c->status);
	}
	/* a 200 is no error to classify */
	CHECK_INT(lookup_classify_error(200, "", 0, NULL, &e), ERR_INVALID);
	CHECK_STR(e.message, "the lookup service answered 200 (unexpected answer)");
	CHECK_INT(lookup_classify_error(404, NULL, 0, NULL, NULL), ERR_NOT_FOUND);
}

/* Listens on a loopback port; the listening socket, -1 on failure. */
static int listen_loopback(int *port)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 1) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*port = ntohs(sa.sin_port);
	return fd;
}

/*
 * Sends one request to a child that answers it with answer, and returns in
 * request what the child received (its head, up to the blank line).
 */
static int get_once(const struct lookup_query *q, const char *route, size_t max, const char *answer,
                    struct http_response *resp, char *request, size_t cap, struct err *e)
{
	struct http_client *c = NULL;
	int lfd, port = 0, pipefd[2], rc, status = 0;
	char url[64];
	ssize_t n;
	size_t got = 0;
	pid_t pid;
	struct lookup_query mine = *q;

	request[0] = '\0';
	lfd = listen_loopback(&port);
	if (lfd < 0 || pipe(pipefd) != 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		char buf[4096];
		size_t len = 0;
		int cfd = accept(lfd, NULL, NULL);

		while (cfd >= 0 && len < sizeof(buf) - 1) {
			n = read(cfd, buf + len, sizeof(buf) - 1 - len);
			if (n <= 0)
				break;
			len += (size_t)n;
			buf[len] = '\0';
			if (strstr(buf, "\r\n\r\n"))
				break;
		}
		if (write(pipefd[1], buf, len) != (ssize_t)len ||
		    write(cfd, answer, strlen(answer)) != (ssize_t)strlen(answer))
			_exit(1);
		close(cfd);
		_exit(0);
	}
	close(pipefd[1]);
	close(lfd);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
	mine.endpoint = url;
	rc = http_global_init(e);
	if (!rc) {
		c = http_client_new(e);
		rc = c ? lookup_get(c, &mine, route, max, resp, e) : ERR_NOMEM;
		http_client_free(c);
		http_global_cleanup();
	}
	while (got + 1 < cap && (n = read(pipefd[0], request + got, cap - 1 - got)) > 0)
		got += (size_t)n;
	request[got] = '\0';
	close(pipefd[0]);
	waitpid(pid, &status, 0);
	return rc;
}

TEST_CASE(one_request_sent)
{
	static const char ok[] = "HTTP/1.1 404 Not Found\r\nContent-Length: 21\r\n"
	                         "x-amzn-RequestId: r-9\r\nConnection: close\r\n\r\n"
	                         "{\"message\":\"no such\"}";
	static const char big[] =
	    "HTTP/1.1 200 OK\r\nContent-Length: 40\r\nConnection: close\r\n\r\n"
	    "0123456789012345678901234567890123456789";
	struct alias a;
	struct lookup_query q = {.api_key = "k-123", .user_agent = "ebssh-test/1", .alias = &a};
	struct http_response resp;
	char request[4096];
	struct err e;

	CHECK_INT(alias_parse_kind("my-env2", ALIAS_EB, &a, NULL), 0);
	http_response_init(&resp);
	CHECK_INT(
	    get_once(&q, LOOKUP_ROUTE_HOSTKEYS, 1024, ok, &resp, request, sizeof(request), &e), 0);
	CHECK(strncmp(request, "GET /eb/my-env/hostkeys/2 HTTP/1.1\r\n", 36) == 0);
	CHECK(strstr(request, "\r\nAccept: text/plain\r\n") != NULL);
	CHECK(strstr(request, "\r\nx-api-key: k-123\r\n") != NULL);
	CHECK(strstr(request, "\r\nUser-Agent: ebssh-test/1\r\n") != NULL);
	/* any status is an answer; classifying it is the caller's */
	CHECK_INT(resp.status, 404);
	CHECK_INT(resp.body.len, 21);
	CHECK_STR(http_response_header(&resp, "x-amzn-RequestId"), "r-9");
	http_response_free(&resp);

	/* without a key or an agent, no such headers */
	q.api_key = NULL;
	q.user_agent = NULL;
	http_response_init(&resp);
	CHECK_INT(get_once(&q, LOOKUP_ROUTE_IP, 1024, ok, &resp, request, sizeof(request), &e), 0);
	CHECK(strncmp(request, "GET /eb/my-env/ip/2 HTTP/1.1\r\n", 30) == 0);
	CHECK(strstr(request, "x-api-key") == NULL);
	CHECK(strstr(request, "User-Agent") == NULL);
	http_response_free(&resp);

	/* an answer over the cap is refused, whatever its status */
	http_response_init(&resp);
	CHECK_INT(get_once(&q, LOOKUP_ROUTE_IP, 39, big, &resp, request, sizeof(request), &e),
	          ERR_PARSE);
	CHECK_STR(e.message, "the lookup service's answer is over 39 bytes");
	http_response_free(&resp);
}

TEST_CASE(unreachable_service)
{
	struct alias a;
	struct lookup_query q = {.alias = &a, .timeout_ms = 2000};
	struct http_response resp;
	struct http_client *c;
	struct err e;
	char url[64];
	int lfd, port = 0;

	CHECK_INT(alias_parse_kind("my-env", ALIAS_EB, &a, NULL), 0);
	/* a port nobody listens on: bound, then closed */
	lfd = listen_loopback(&port);
	CHECK(lfd >= 0);
	close(lfd);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
	q.endpoint = url;
	CHECK_INT(http_global_init(NULL), 0);
	c = http_client_new(NULL);
	CHECK(c != NULL);
	http_response_init(&resp);
	CHECK_INT(lookup_get(c, &q, LOOKUP_ROUTE_IP, 1024, &resp, &e), ERR_NETWORK);
	CHECK(strncmp(e.message, "the lookup service is unreachable: ", 35) == 0);
	http_response_free(&resp);
	http_client_free(c);
	http_global_cleanup();
}

int main(void)
{
	RUN(urls);
	RUN(answers_are_sorted);
	RUN(long_messages_are_cut);
	RUN(which_failures_allow_the_stale_cache);
	RUN(route_urls);
	RUN(errors_are_classified_alone);
	RUN(one_request_sent);
	RUN(unreachable_service);
	return TEST_DONE();
}
