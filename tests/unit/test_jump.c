/* Unit tests of proxy/jump's --jump parser (the bastion itself is tested
 * against a real sshd in tests/integration/proxy_jump.py). */
#include "test.h"

#include "proxy/jump.h"

struct spec_case {
	const char *in;
	const char *user, *host; /* NULL: an error */
	unsigned port;
};

static const struct spec_case cases[] = {
    {"bastion.example.com", "", "bastion.example.com", 22},
    {"ec2-user@bastion.example.com", "ec2-user", "bastion.example.com", 22},
    {"ec2-user@bastion.example.com:2222", "ec2-user", "bastion.example.com", 2222},
    {"bastion:65535", "", "bastion", 65535},
    {"203.0.113.9:22", "", "203.0.113.9", 22},
    {"[2001:db8::9]:2222", "", "2001:db8::9", 2222},
    {"me@[2001:db8::9]", "me", "2001:db8::9", 22},
    {"a_b.c-d@h", "a_b.c-d", "h", 22},
    {"", NULL, NULL, 0},
    {"@host", NULL, NULL, 0},
    {"-oProxyCommand=x", NULL, NULL, 0},
    {"-user@host", NULL, NULL, 0},
    {"user@-host", NULL, NULL, 0},
    {"user@", NULL, NULL, 0},
    {"host:", NULL, NULL, 0},
    {"host:0", NULL, NULL, 0},
    {"host:022", NULL, NULL, 0},
    {"host:65536", NULL, NULL, 0},
    {"host:99999999999999999999", NULL, NULL, 0},
    {"host:22x", NULL, NULL, 0},
    {"[::1", NULL, NULL, 0},
    {"[::1]x", NULL, NULL, 0},
    {"[]:22", NULL, NULL, 0},
    {"a b", NULL, NULL, 0},
    {"host;id", NULL, NULL, 0},
    {"us$er@host", NULL, NULL, 0},
    {"h\xc3\xa9", NULL, NULL, 0},
};

TEST_CASE(spec_table)
{
	struct jump_spec s;
	struct err e;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct spec_case *c = &cases[i];

		rc = jump_parse_spec(c->in, &s, &e);
		if (c->host) {
			CHECK_INT(rc, 0);
			CHECK_STR(s.user, c->user);
			CHECK_STR(s.host, c->host);
			CHECK_INT(s.port, c->port);
		} else if (rc != ERR_INVALID || strncmp(e.message, "--jump: ", 8) != 0) {
			printf("# case %zu (%s) accepted or without a message\n", i, c->in);
			test_failed_case = 1;
		}
	}
}

TEST_CASE(spec_limits)
{
	char long_host[JUMP_HOST_MAX + 2], long_user[JUMP_USER_MAX + 8];
	struct jump_spec s;

	memset(long_host, 'h', sizeof(long_host) - 1);
	long_host[sizeof(long_host) - 1] = '\0';
	CHECK_INT(jump_parse_spec(long_host, &s, NULL), ERR_INVALID);
	long_host[JUMP_HOST_MAX] = '\0';
	CHECK_INT(jump_parse_spec(long_host, &s, NULL), 0);
	CHECK_INT(strlen(s.host), JUMP_HOST_MAX);
	memset(long_user, 'u', JUMP_USER_MAX + 1);
	memcpy(long_user + JUMP_USER_MAX + 1, "@h", 3);
	CHECK_INT(jump_parse_spec(long_user, &s, NULL), ERR_INVALID);
	CHECK_INT(jump_parse_spec(long_user + 1, &s, NULL), 0);
	CHECK_INT(strlen(s.user), JUMP_USER_MAX);
	CHECK_INT(jump_parse_spec(NULL, &s, NULL), ERR_INVALID);
}

int main(void)
{
	RUN(spec_table);
	RUN(spec_limits);
	return TEST_DONE();
}
