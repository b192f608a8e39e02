/* Unit tests of proxy/config: file syntax, checks and precedence. */
#include "test.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proxy/config.h"

static char tmpdir[64];

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK_INT(write(fd, text, strlen(text)), (long long)strlen(text));
	CHECK_INT(fchmod(fd, mode), 0);
	close(fd);
}

static int parse(const char *text, struct config *c, struct err *e)
{
	config_init(c);
	err_clear(e);
	return config_parse_text(text, strlen(text), c, e);
}

TEST_CASE(file_syntax)
{
	struct config c;
	struct err e;

	CHECK_INT(parse("# ebssh\n"
	                "\n"
	                "  endpoint   =  https://abc.execute-api.eu-west-1.amazonaws.com/prod/  \n"
	                "\t# key below\n"
	                "api_key=k3y-ABC_def\n",
	                &c, &e),
	          0);
	CHECK_STR(c.endpoint, "https://abc.execute-api.eu-west-1.amazonaws.com/prod");
	CHECK_STR(c.api_key, "k3y-ABC_def");
	CHECK_INT(c.endpoint_from, CONFIG_FROM_FILE);
	CHECK_INT(c.api_key_from, CONFIG_FROM_FILE);
	config_free(&c);
	CHECK(c.endpoint == NULL && c.api_key == NULL);

	/* CRLF, BOM, quotes, no final newline */
	CHECK_INT(parse("\xef\xbb\xbf"
	                "endpoint = \"http://127.0.0.1:8080//\"\r\n"
	                "api_key = 'abc'",
	                &c, &e),
	          0);
	CHECK_STR(c.endpoint, "http://127.0.0.1:8080");
	CHECK_STR(c.api_key, "abc");
	config_free(&c);

	/* empty text, only comments */
	CHECK_INT(parse("", &c, &e), 0);
	CHECK(c.endpoint == NULL && c.api_key == NULL);
	CHECK_INT(parse("#endpoint = x\n\n   \n", &c, &e), 0);
	CHECK(c.endpoint == NULL);
	/* a value holding '=' */
	CHECK_INT(parse("api_key = a=b==\n", &c, &e), 0);
	CHECK_STR(c.api_key, "a=b==");
	config_free(&c);
}

struct bad_case {
	const char *text;
	const char *msg;
};

TEST_CASE(file_errors_name_the_line)
{
	static const struct bad_case cases[] = {
	    {"endpoint https://x\n", "line 1: expected `key = value`"},
	    {"\n\nendpoint = https://x\nendpoint = https://y\n",
	     "line 4: endpoint is already set on line 3"},
	    {"api_key = a\napi_key = a\n", "line 2: api_key is already set on line 1"},
	    {"Endpoint = https://x\n", "line 1: unknown key"},
	    {"api-key = x\n", "line 1: unknown key"},
	    {"= x\n", "line 1: no key before '='"},
	    {"endpoint =\n", "line 1: endpoint has no value"},
	    {"api_key = \"\"\n", "line 1: api_key has no value"},
	    {"endpoint = ftp://x\n", "line 1: the endpoint must start with https:// or http://"},
	    {"endpoint = x.example.com\n", "must start with https://"},
	    {"endpoint = https://\n", "line 1: the endpoint has no host"},
	    {"endpoint = https:///path\n", "the endpoint has no host"},
	    {"endpoint = https://x/a?b=1\n", "may not hold a query or a fragment ('?')"},
	    {"endpoint = https://x/#f\n", "('#')"},
	    {"endpoint = https://x y/\n", "a space, a control or non-ASCII byte"},
	    {"endpoint = https://x\x7f/\n", "(byte 10)"},
	    {"endpoint = https://\xc3\xa9.com\n", "non-ASCII"},
	    {"api_key = a b\n", "line 1: the API key holds a space"},
	    {"api_key = a\x01\n", "the API key holds a space, a control"},
	    {"api_key = \xc3\xa9\n", "non-ASCII"},
	    {"# ok\napi_key = \"abc\n", "line 2: unbalanced quote"},
	    {"api_key = \"\n", "line 1: unbalanced quote"},
	    {"api_key = 'a\"\n", "line 1: unbalanced quote"},
	};
	struct config c;
	struct err e;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CHECK_INT(parse(cases[i].text, &c, &e), ERR_INVALID);
		CHECK(c.endpoint == NULL && c.api_key == NULL);
		if (!strstr(e.message, cases[i].msg)) {
			printf("# case %zu: \"%s\" lacks \"%s\"\n", i, e.message, cases[i].msg);
			test_failed_case = 1;
		}
	}
	/* a NUL byte, and the earlier value is freed on failure */
	config_init(&c);
	CHECK_INT(config_parse_text("api_key = x\nendpoint = http://a\0b\n", 32, &c, &e),
	          ERR_INVALID);
	CHECK_STR(e.message, "line 2: NUL byte");
	CHECK(c.api_key == NULL);
}

TEST_CASE(endpoint_and_key_checks)
{
	char *out = (char *)1;
	char key[CONFIG_API_KEY_MAX + 2];
	struct err e;

	CHECK_INT(config_check_endpoint("HTTPS://Example.com///", &out, &e), 0);
	CHECK_STR(out, "HTTPS://Example.com");
	free(out);
	CHECK_INT(config_check_endpoint("http://[::1]:8080/v1", &out, &e), 0);
	CHECK_STR(out, "http://[::1]:8080/v1");
	free(out);
	CHECK_INT(config_check_endpoint("", &out, &e), ERR_INVALID);
	CHECK(out == NULL);
	CHECK_INT(config_check_endpoint(NULL, &out, &e), ERR_INVALID);
	CHECK_INT(config_check_endpoint("https://x/\"", &out, &e), ERR_INVALID);
	CHECK_INT(config_check_endpoint("https://x/a|b", &out, &e), ERR_INVALID);
	memset(key, 'k', sizeof(key));
	key[CONFIG_API_KEY_MAX] = '\0';
	CHECK_INT(config_check_api_key(key, &e), 0);
	key[CONFIG_API_KEY_MAX] = 'k';
	key[CONFIG_API_KEY_MAX + 1] = '\0';
	CHECK_INT(config_check_api_key(key, &e), ERR_INVALID);
	CHECK_STR(e.message, "the API key is longer than 1024 bytes");
	CHECK_INT(config_check_api_key("x\r\nX-Evil: 1", &e), ERR_INVALID);
}

TEST_CASE(precedence_flag_env_file)
{
	struct config_inputs in = {0};
	struct config c;
	struct err e;
	char path[128];

	snprintf(path, sizeof(path), "%s/config", tmpdir);
	write_file(path, "endpoint = https://file.example/\napi_key = filekey\n", 0600);
	in.path = path;

	config_init(&c);
	CHECK_INT(config_resolve(&in, &c, &e), 0);
	CHECK_STR(c.endpoint, "https://file.example");
	CHECK_STR(c.api_key, "filekey");
	CHECK_INT(c.endpoint_from, CONFIG_FROM_FILE);
	CHECK_INT(c.api_key_from, CONFIG_FROM_FILE);
	CHECK_INT(c.file_insecure, 0);
	config_free(&c);

	in.env_endpoint = "http://env.example:1/";
	in.env_api_key = "";
	CHECK_INT(config_resolve(&in, &c, &e), 0);
	CHECK_STR(c.endpoint, "http://env.example:1");
	CHECK_STR(c.api_key, "filekey"); /* an empty variable is unset */
	CHECK_INT(c.endpoint_from, CONFIG_FROM_ENV);
	CHECK_INT(c.api_key_from, CONFIG_FROM_FILE);
	config_free(&c);

	in.env_api_key = "envkey";
	in.flag_endpoint = "https://flag.example";
	CHECK_INT(config_resolve(&in, &c, &e), 0);
	CHECK_STR(c.endpoint, "https://flag.example");
	CHECK_STR(c.api_key, "envkey");
	CHECK_INT(c.endpoint_from, CONFIG_FROM_FLAG);
	CHECK_INT(c.api_key_from, CONFIG_FROM_ENV);
	CHECK_STR(config_source_name(c.api_key_from), "environment");
	config_free(&c);

	in.flag_api_key = "flagkey";
	CHECK_INT(config_resolve(&in, &c, &e), 0);
	CHECK_STR(c.api_key, "flagkey");
	config_free(&c);

	/* a bad winning value is an error, never skipped for the next source */
	in.flag_endpoint = "ftp://flag";
	CHECK_INT(config_resolve(&in, &c, &e), ERR_INVALID);
	CHECK(strncmp(e.message, "--endpoint: ", 12) == 0);
	CHECK(c.endpoint == NULL && c.api_key == NULL);
	in.flag_endpoint = NULL;
	in.env_endpoint = "nope";
	CHECK_INT(config_resolve(&in, &c, &e), ERR_INVALID);
	CHECK(strncmp(e.message, "EBSSH_ENDPOINT: ", 16) == 0);
	in.env_endpoint = NULL;
	in.flag_api_key = "";
	CHECK_INT(config_resolve(&in, &c, &e), ERR_INVALID);
	CHECK_STR(e.message, "--api-key: the API key is empty");
}

TEST_CASE(file_read_only_when_needed)
{
	struct config_inputs in = {0};
	struct config c;
	struct err e;
	char path[128];

	snprintf(path, sizeof(path), "%s/broken", tmpdir);
	write_file(path, "this is not a config\n", 0600);
	in.path = path;
	in.flag_endpoint = "https://a";
	in.env_api_key = "k";
	in.flag_auth = "api-key";
	config_init(&c);
	CHECK_INT(config_resolve(&in, &c, &e), 0); /* never opened */
	config_free(&c);
	in.flag_auth = NULL; /* the file may say auth = iam: read */
	CHECK_INT(config_resolve(&in, &c, &e), ERR_INVALID);
	in.flag_auth = "api-key";
	in.env_api_key = NULL;
	CHECK_INT(config_resolve(&in, &c, &e), ERR_INVALID);
	CHECK(strstr(e.message, "/broken: line 1: expected `key = value`") != NULL);

	/* missing file: fine for the key, an error naming the file for the endpoint */
	snprintf(path, sizeof(path), "%s/missing", tmpdir);
	CHECK_INT(config_resolve(&in, &c, &e), 0);
	CHECK(c.api_key == NULL);
	CHECK_INT(c.api_key_from, CONFIG_FROM_NONE);
	config_free(&c);
	in.flag_endpoint = NULL;
	CHECK_INT(config_resolve(&in, &c, &e), ERR_INVALID);
	CHECK(strstr(e.message, "no lookup service endpoint") != NULL);
	CHECK(strstr(e.message, "/missing") != NULL);
}

TEST_CASE(file_loader_checks)
{
	struct config c;
	struct err e;
	char path[128], *big;
	int missing = -1;

	config_init(&c);
	snprintf(path, sizeof(path), "%s/nothere", tmpdir);
	CHECK_INT(config_load_file(path, &c, &missing, &e), 0);
	CHECK_INT(missing, 1);

	/* group/other-readable with a key: flagged; without a key: not */
	snprintf(path, sizeof(path), "%s/open", tmpdir);
	write_file(path, "api_key = secret\n", 0644);
	CHECK_INT(config_load_file(path, &c, &missing, &e), 0);
	CHECK_INT(missing, 0);
	CHECK_INT(c.file_insecure, 1);
	config_free(&c);
	write_file(path, "endpoint = https://x\n", 0644);
	CHECK_INT(config_load_file(path, &c, &missing, &e), 0);
	CHECK_INT(c.file_insecure, 0);
	config_free(&c);
	write_file(path, "api_key = secret\n", 0640);
	CHECK_INT(config_load_file(path, &c, &missing, &e), 0);
	CHECK_INT(c.file_insecure, 1);
	config_free(&c);

	/* a directory */
	CHECK_INT(config_load_file(tmpdir, &c, &missing, &e), ERR_INVALID);
	CHECK(strstr(e.message, "not a regular file") != NULL);

	/* over the cap */
	big = malloc(CONFIG_FILE_MAX + 2);
	CHECK(big != NULL);
	if (!big)
		return;
	memset(big, '#', CONFIG_FILE_MAX + 1);
	big[CONFIG_FILE_MAX + 1] = '\0';
	write_file(path, big, 0600);
	CHECK_INT(config_load_file(path, &c, &missing, &e), ERR_TOO_LARGE);
	big[CONFIG_FILE_MAX] = '\0'; /* exactly the cap: fine */
	write_file(path, big, 0600);
	CHECK_INT(config_load_file(path, &c, &missing, &e), 0);
	free(big);
}

TEST_CASE(default_path_follows_xdg)
{
	struct err e;
	char *p;

	setenv("XDG_CONFIG_HOME", "/x/conf", 1);
	setenv("HOME", "/home/u", 1);
	p = config_default_path(&e);
	CHECK_STR(p, "/x/conf/ebssh/config");
	free(p);
	setenv("XDG_CONFIG_HOME", "relative/conf", 1); /* not absolute: ignored, as XDG says */
	p = config_default_path(&e);
	CHECK_STR(p, "/home/u/.config/ebssh/config");
	free(p);
	unsetenv("XDG_CONFIG_HOME");
	p = config_default_path(&e);
	CHECK_STR(p, "/home/u/.config/ebssh/config");
	free(p);
}

int main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ebssh-test-config.XXXXXX");
	if (!mkdtemp(tmpdir))
		return 1;
	RUN(file_syntax);
	RUN(file_errors_name_the_line);
	RUN(endpoint_and_key_checks);
	RUN(precedence_flag_env_file);
	RUN(file_read_only_when_needed);
	RUN(file_loader_checks);
	RUN(default_path_follows_xdg);
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			printf("# could not remove %s\n", tmpdir);
	}
	return TEST_DONE();
}
