/*
 * Unit tests of proxy/cli: the lines said on stderr, the alias from HOST
 * and the flags, the configuration's sources, and the cache of a run (its
 * key, and going on without it when the directory is unusable).
 */
#include "test.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proxy/cli.h"

static char tmpdir[64];
static char said[4096]; /* what the last captured call wrote on stderr */
static int saved_stderr = -1, capture_fd = -1;

static void capture_start(void)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/stderr", tmpdir);
	fflush(stderr);
	capture_fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	saved_stderr = dup(STDERR_FILENO);
	dup2(capture_fd, STDERR_FILENO);
}

static void capture_end(void)
{
	ssize_t n;

	fflush(stderr);
	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	n = pread(capture_fd, said, sizeof(said) - 1, 0);
	said[n > 0 ? n : 0] = '\0';
	close(capture_fd);
}

TEST_CASE(lines_on_stderr)
{
	char long_text[2000];

	capture_start();
	cli_say("a %s line %d", "said", 1);
	capture_end();
	CHECK_STR(said, "ebssh-proxy: a said line 1\n");
	cli_verbose = 0;
	capture_start();
	CLI_STEP("a step %d", 1);
	capture_end();
	CHECK_STR(said, "");
	cli_verbose = 1;
	capture_start();
	CLI_STEP("a step %d", 2);
	capture_end();
	CHECK_STR(said, "ebssh-proxy: a step 2\n");
	/* cut at 1 KiB, still one line */
	memset(long_text, 'x', sizeof(long_text) - 1);
	long_text[sizeof(long_text) - 1] = '\0';
	capture_start();
	cli_say("%s", long_text);
	capture_end();
	CHECK_INT(strlen(said), strlen("ebssh-proxy: ") + 1023 + 1);
	CHECK_INT(said[strlen(said) - 1], '\n');
	cli_verbose = 0;
}

TEST_CASE(alias_from_host_and_flags)
{
	struct alias a;

	CHECK_INT(cli_parse_alias("my-env-production2", 0, 0, &a, NULL), 0);
	CHECK_INT(a.kind, ALIAS_EB);
	CHECK_STR(a.name, "my-env-production");
	CHECK_INT(a.index, 2);
	/* --index: the host is the name as it is */
	CHECK_INT(cli_parse_alias("my-env-production2", 0, 5, &a, NULL), 0);
	CHECK_STR(a.name, "my-env-production2");
	CHECK_INT(a.index, 5);
	CHECK_INT(cli_parse_alias("web_asg.3", 1, 0, &a, NULL), 0);
	CHECK_INT(a.kind, ALIAS_ASG);
	CHECK_STR(a.name, "web_asg");
	CHECK_INT(a.index, 3);
	CHECK_INT(cli_parse_alias("my env", 0, 0, &a, NULL), ERR_INVALID);
	CHECK_INT(cli_parse_alias("my env", 0, 2, &a, NULL), ERR_INVALID);
}

static void write_config(const char *text, mode_t mode)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/conf/ebssh", tmpdir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/conf/ebssh/config", tmpdir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK_INT(write(fd, text, strlen(text)), (long long)strlen(text));
	CHECK_INT(fchmod(fd, mode), 0);
	close(fd);
}

TEST_CASE(configuration_sources)
{
	struct config cfg;
	char conf[128], want[256];

	snprintf(conf, sizeof(conf), "%s/conf", tmpdir);
	mkdir(conf, 0700);
	setenv("XDG_CONFIG_HOME", conf, 1);
	unsetenv("EBSSH_ENDPOINT");
	unsetenv("EBSSH_API_KEY");
	write_config("endpoint = https://file.example/prod/\napi_key = file-key\n", 0600);

	/* flags first, then the environment, then the file */
	config_init(&cfg);
	setenv("EBSSH_API_KEY", "env-key", 1);
	capture_start();
	CHECK_INT(cli_config(&(struct cli_flags){.endpoint = "http://flag.example"}, &cfg), 0);
	capture_end();
	CHECK_STR(said, "");
	CHECK_STR(cfg.endpoint, "http://flag.example");
	CHECK_INT(cfg.endpoint_from, CONFIG_FROM_FLAG);
	CHECK_STR(cfg.api_key, "env-key");
	CHECK_INT(cfg.api_key_from, CONFIG_FROM_ENV);
	config_free(&cfg);
	unsetenv("EBSSH_API_KEY");
	CHECK_INT(cli_config(NULL, &cfg), 0);
	CHECK_STR(cfg.endpoint, "https://file.example/prod");
	CHECK_STR(cfg.api_key, "file-key");
	CHECK_INT(cfg.api_key_from, CONFIG_FROM_FILE);
	config_free(&cfg);

	/* a key in a file others may read: used, with a warning naming the file */
	write_config("endpoint = https://file.example\napi_key = file-key\n", 0644);
	capture_start();
	CHECK_INT(cli_config(NULL, &cfg), 0);
	capture_end();
	snprintf(want, sizeof(want),
	         "ebssh-proxy: warning: %s/ebssh/config holds an api_key and others may read it "
	         "(chmod 600 it)\n",
	         conf);
	CHECK_STR(said, want);
	CHECK_STR(cfg.api_key, "file-key");
	config_free(&cfg);

	/* an error is said, and leaves cfg empty */
	capture_start();
	CHECK_INT(cli_config(&(struct cli_flags){.endpoint = "ftp://flag.example"}, &cfg),
	          ERR_INVALID);
	capture_end();
	CHECK(strncmp(said, "ebssh-proxy: --endpoint: ", 25) == 0);
	CHECK(cfg.endpoint == NULL && cfg.api_key == NULL);
	write_config("endpoint https://file.example\n", 0600);
	capture_start();
	CHECK_INT(cli_config(NULL, &cfg), ERR_INVALID);
	capture_end();
	CHECK(strstr(said, "line 1") != NULL);
	CHECK(cfg.endpoint == NULL);
}

TEST_CASE(cache_of_a_run)
{
	struct cache c = {.dirfd = -1};
	struct alias a;
	char key[CACHE_KEY_LEN + 1], want[CACHE_KEY_LEN + 1], dir[128], file[128];
	struct stat st;
	int fd;

	CHECK_INT(alias_parse_kind("my-env2", ALIAS_EB, &a, NULL), 0);
	snprintf(dir, sizeof(dir), "%s/cache", tmpdir);
	setenv("XDG_CACHE_HOME", dir, 1);
	capture_start();
	CHECK_INT(cli_cache(&c, key, "https://x.example", &a, "hostkeys-public"), 1);
	capture_end();
	CHECK_STR(said, "");
	CHECK(c.dirfd >= 0);
	CHECK_STR(c.dir, strcat(dir, "/ebssh"));
	CHECK_INT(stat(dir, &st), 0);
	CHECK_INT(st.st_mode & 0777, 0700);
	CHECK_INT(cache_key(want, "https://x.example", "eb", "my-env", 2, "hostkeys-public", NULL),
	          0);
	CHECK_STR(key, want);
	cache_close(&c);

	/* an unusable directory: a warning, no cache, and the run goes on */
	snprintf(file, sizeof(file), "%s/not-a-dir", tmpdir);
	fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0);
	if (fd >= 0)
		close(fd);
	setenv("XDG_CACHE_HOME", file, 1);
	capture_start();
	CHECK_INT(cli_cache(&c, key, "https://x.example", &a, "public"), 0);
	capture_end();
	CHECK(strncmp(said, "ebssh-proxy: warning: cache disabled: ", 38) == 0);
	CHECK_INT(c.dirfd, -1);
}

TEST_CASE(get_step)
{
	struct alias a;
	struct lookup_query q = {.endpoint = "https://x.example/prod", .alias = &a};

	CHECK_INT(alias_parse_kind("web.2", ALIAS_ASG, &a, NULL), 0);
	cli_verbose = 0;
	capture_start();
	cli_step_get(&q, LOOKUP_ROUTE_IP);
	capture_end();
	CHECK_STR(said, "");
	cli_verbose = 1;
	capture_start();
	cli_step_get(&q, LOOKUP_ROUTE_HOSTKEYS);
	capture_end();
	CHECK_STR(said, "ebssh-proxy: GET https://x.example/prod/asg/web/hostkeys/2\n");
	cli_verbose = 0;
}

TEST_CASE(http_client_of_a_run)
{
	struct http_client *c;
	struct err e;

	c = cli_http_new(&e);
	CHECK(c != NULL);
	cli_http_free(c);
	cli_http_free(NULL);
	/* again: each client brings its own global set-up */
	c = cli_http_new(&e);
	CHECK(c != NULL);
	cli_http_free(c);
}

int main(void)
{
	char cmd[128];

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ebssh-test-cli.XXXXXX");
	if (!mkdtemp(tmpdir))
		return 1;
	RUN(lines_on_stderr);
	RUN(alias_from_host_and_flags);
	RUN(configuration_sources);
	RUN(cache_of_a_run);
	RUN(get_step);
	RUN(http_client_of_a_run);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", tmpdir);
	return TEST_DONE();
}
