/* Unit tests of proxy/addr: only an IP literal is ever used as an address. */
#include "test.h"

#include <sys/socket.h>

#include "proxy/addr.h"

struct ip_case {
	const char *body;
	size_t len;       /* 0: strlen(body) */
	int family;       /* 0: refused */
	const char *text; /* canonical text, or a substring of the error */
};

static const struct ip_case cases[] = {
    {"203.0.113.7", 0, AF_INET, "203.0.113.7"},
    {"203.0.113.7\n", 0, AF_INET, "203.0.113.7"},
    {"127.0.0.2\n", 0, AF_INET, "127.0.0.2"},
    {"10.0.0.1", 0, AF_INET, "10.0.0.1"},
    {"255.255.255.254", 0, AF_INET, "255.255.255.254"},
    {"2001:db8::1\n", 0, AF_INET6, "2001:db8::1"},
    {"2001:DB8:0:0:0:0:0:1", 0, AF_INET6, "2001:db8::1"},
    {"::1", 0, AF_INET6, "::1"},
    {"::ffff:192.0.2.1", 0, AF_INET6, "::ffff:192.0.2.1"},
    {"fe80::1", 0, AF_INET6, "fe80::1"},
    /* refused */
    {"", 0, 0, "empty answer"},
    {"\n", 0, 0, "empty answer"},
    {"203.0.113.7\n\n", 0, 0, "\"203.0.113.7\\x0a\" is not an IP address"},
    {"203.0.113.7\r\n", 0, 0, "is not an IP address"},
    {" 203.0.113.7", 0, 0, "is not an IP address"},
    {"203.0.113.7 ", 0, 0, "is not an IP address"},
    {"203.0.113.7\n10.0.0.1\n", 0, 0, "is not an IP address"},
    {"203.0.113.7:22", 0, 0, "is not an IP address"},
    {"[2001:db8::1]", 0, 0, "is not an IP address"},
    {"fe80::1%eth0", 0, 0, "is not an IP address"},
    {"203.0.113", 0, 0, "is not an IP address"},
    {"203.0.113.07", 0, 0, "is not an IP address"},
    {"203.0.113.256", 0, 0, "is not an IP address"},
    {"0x7f.0.0.1", 0, 0, "is not an IP address"},
    {"2130706433", 0, 0, "is not an IP address"},
    {"localhost", 0, 0, "\"localhost\" is not an IP address"},
    {"evil.example.com", 0, 0, "is not an IP address"},
    {"1.2.3.4;rm -rf /", 0, 0, "is not an IP address"},
    {"{\"message\":\"Internal server error\"}", 0, 0, "\"{\\x22message\\x22:"},
    {"<html><body>Welcome to the captive portal</body></html>", 0, 0, "not an IP address"},
    {"1.2.3.4\0", 8, 0, "\"1.2.3.4\\x00\" is not an IP address"},
    {"1.2.3.4\0\n", 9, 0, "is not an IP address"},
    {"0.0.0.0", 0, 0, "\"0.0.0.0\" is the unspecified address"},
    {"::", 0, 0, "is the unspecified address"},
    {"::ffff:0.0.0.0", 0, 0, "is the unspecified address"},
    {"224.0.0.1", 0, 0, "is a multicast address"},
    {"239.255.255.250", 0, 0, "is a multicast address"},
    {"ff02::1", 0, 0, "is a multicast address"},
    {"::ffff:224.0.0.1", 0, 0, "is a multicast address"},
    {"255.255.255.255", 0, 0, "is the broadcast address"},
    {"1111:2222:3333:4444:5555:6666:7777:8888:9999", 0, 0, "is not an IP address"},
    {"\xc3\xa9", 0, 0, "\"\\xc3\\xa9\" is not an IP address"},
};

TEST_CASE(answer_table)
{
	struct addr a;
	struct err e;
	size_t i, len;
	int rc;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct ip_case *c = &cases[i];

		len = c->len ? c->len : strlen(c->body);
		err_clear(&e);
		rc = addr_parse_answer(c->body, len, &a, &e);
		if (c->family) {
			CHECK_INT(rc, 0);
			CHECK_INT(a.family, c->family);
			CHECK_STR(a.text, c->text);
		} else {
			CHECK_INT(rc, ERR_PARSE);
			CHECK_INT(a.family, 0);
			CHECK_STR(a.text, "");
			if (!strstr(e.message, c->text)) {
				printf("# case %zu: \"%s\" lacks \"%s\"\n", i, e.message, c->text);
				test_failed_case = 1;
			}
		}
	}
}

TEST_CASE(bytes_and_bounds)
{
	char big[200];
	struct addr a;
	struct err e;

	CHECK_INT(addr_parse_literal("192.0.2.10", 10, &a, &e), 0);
	CHECK_INT(a.bytes[0], 192);
	CHECK_INT(a.bytes[3], 10);
	CHECK_INT(addr_parse_literal("192.0.2.10", 9, &a, &e), 0); /* n bytes only */
	CHECK_STR(a.text, "192.0.2.1");
	CHECK_INT(addr_parse_literal("2001:db8::1\n", 12, &a, &e), ERR_PARSE);
	CHECK_INT(addr_parse_answer(NULL, 5, &a, &e), ERR_PARSE);
	memset(big, '1', sizeof(big));
	CHECK_INT(addr_parse_answer(big, sizeof(big), &a, &e), ERR_PARSE);
	CHECK(strlen(e.message) < 80); /* the quoted answer is cut */
	CHECK(strstr(e.message, "...\" is not an IP address") != NULL);
	CHECK_INT(addr_parse_answer("1.2.3.4", 7, &a, NULL), 0);
}

int main(void)
{
	RUN(answer_table);
	RUN(bytes_and_bounds);
	return TEST_DONE();
}
