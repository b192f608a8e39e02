/*
 * Unit tests of proxy/known_hosts: the hostkeys URL, the classification of
 * the service's answers (good keys, refused bodies, errors), the
 * known_hosts lines for both forms of %H, and the key cache (round trip,
 * expiry, stale age, refused files, an address entry is not a key entry).
 */
#include "test.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proxy/known_hosts.h"
#include "util/buf.h"

static char tmpdir[64];
static const time_t T0 = 1700000000;
static char *keys[2]; /* "type base64" of the al2023 fixture (ecdsa, ed25519) */

static void load_keys(void)
{
	const char *root = getenv("EBSSH_ROOT");
	char path[512], line[8192];
	FILE *f;
	int i = 0;

	snprintf(path, sizeof(path), "%s/tests/fixtures/console/al2023-first-boot.expected",
	         root && *root ? root : ".");
	f = fopen(path, "r");
	while (f && i < 2 && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		keys[i++] = strdup(line);
	}
	if (f)
		fclose(f);
}

static struct alias alias_of(const char *host, enum alias_kind kind)
{
	struct alias a;

	CHECK_INT(alias_parse_kind(host, kind, &a, NULL), 0);
	return a;
}

TEST_CASE(urls)
{
	struct alias a = alias_of("my-env-production2", ALIAS_EB);
	struct lookup_query q = {.endpoint = "https://x.execute-api.eu-west-1.amazonaws.com/prod",
	                         .alias = &a};
	struct buf u;

	buf_init(&u, 0);
	CHECK_INT(known_hosts_url(&q, &u, NULL), 0);
	CHECK_STR(buf_str(&u), "https://x.execute-api.eu-west-1.amazonaws.com/prod/eb/"
	                       "my-env-production/hostkeys/2");
	buf_reset(&u);
	a = alias_of("web_asg.3", ALIAS_ASG);
	q.address = LOOKUP_PRIVATE;
	CHECK_INT(known_hosts_url(&q, &u, NULL), 0);
	CHECK_STR(buf_str(&u), "https://x.execute-api.eu-west-1.amazonaws.com/prod/asg/web_asg/"
	                       "hostkeys/3?address=private");
	buf_free(&u);
}

TEST_CASE(classify)
{
	struct hostkey_list l;
	struct buf b;
	struct err e;

	buf_init(&b, 0);
	buf_appendf(&b, "%s\n%s\n", keys[0], keys[1]);
	CHECK_INT(known_hosts_classify(200, b.data, b.len, NULL, &l, &e), 0);
	CHECK_INT(l.n, 2);
	hostkey_list_free(&l);
	/* A 200 with anything but key lines is refused whole. */
	buf_reset(&b);
	buf_appendf(&b, "%s\n* ssh-ed25519 AAAA\n", keys[0]);
	CHECK_INT(known_hosts_classify(200, b.data, b.len, NULL, &l, &e), ERR_PARSE);
	CHECK(strstr(e.message, "refused") != NULL);
	CHECK(l.items == NULL && l.n == 0);
	buf_reset(&b);
	buf_appendf(&b, "%s\n@cert-authority %s\n", keys[0], keys[1]);
	CHECK_INT(known_hosts_classify(200, b.data, b.len, NULL, &l, &e), ERR_PARSE);
	CHECK_INT(known_hosts_classify(200, "54.210.1.11\n", 12, NULL, &l, &e), ERR_PARSE);
	CHECK_INT(known_hosts_classify(200, "", 0, NULL, &l, &e), ERR_PARSE);
	/* Errors as the lookup classifies them, with the service's message. */
	{
		static const char nf[] =
		    "{\"message\":\"the console of instance i-0abc shows no SSH "
		    "host keys yet\",\"code\":\"NoHostKeys\"}";
		CHECK_INT(known_hosts_classify(404, nf, strlen(nf), "req-1", &l, &e),
		          ERR_NOT_FOUND);
	}
	CHECK(strstr(e.message, "no SSH host keys yet") != NULL);
	CHECK(strstr(e.message, "req-1") != NULL);
	CHECK_INT(known_hosts_classify(403, "{\"message\":\"Forbidden\"}", 23, NULL, &l, &e),
	          ERR_CREDENTIALS);
	CHECK_INT(known_hosts_classify(502, "{}", 2, NULL, &l, &e), ERR_SERVICE);
	CHECK_INT(lookup_service_unavailable(e.code), 1);
	CHECK_INT(known_hosts_classify(429, "", 0, NULL, &l, &e), ERR_THROTTLED);
	buf_free(&b);
}

TEST_CASE(format)
{
	struct hostkey_list l = {0};
	struct buf out, want;

	hostkey_list_add(&l, "ecdsa-sha2-nistp256", strchr(keys[0], ' ') + 1);
	hostkey_list_add(&l, "ssh-ed25519", strchr(keys[1], ' ') + 1);
	buf_init(&out, 0);
	buf_init(&want, 0);
	CHECK_INT(known_hosts_format("my-env2", &l, &out, NULL), 0);
	buf_appendf(&want, "my-env2 %s\nmy-env2 %s\n", keys[0], keys[1]);
	CHECK_STR(buf_str(&out), buf_str(&want));
	buf_reset(&out);
	buf_reset(&want);
	CHECK_INT(known_hosts_format("[my-env2]:2222", &l, &out, NULL), 0);
	buf_appendf(&want, "[my-env2]:2222 %s\n[my-env2]:2222 %s\n", keys[0], keys[1]);
	CHECK_STR(buf_str(&out), buf_str(&want));
	buf_reset(&out);
	CHECK_INT(known_hosts_format("a b", &l, &out, NULL), ERR_INVALID);
	CHECK_INT(known_hosts_format("a\nb", &l, &out, NULL), ERR_INVALID);
	CHECK_INT(known_hosts_format("", &l, &out, NULL), ERR_INVALID);
	CHECK_INT(out.len, 0);
	buf_free(&out);
	buf_free(&want);
	hostkey_list_free(&l);
}

static void write_text(const char *name, const char *text, mode_t mode)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK_INT(write(fd, text, strlen(text)), (long long)strlen(text));
	CHECK_INT(fchmod(fd, mode), 0);
	close(fd);
}

TEST_CASE(cache_round_trip)
{
	struct cache c;
	struct hostkey_list l = {0}, got;
	char key[CACHE_KEY_LEN + 1], ipkey[CACHE_KEY_LEN + 1], path[256];
	long long age;
	struct addr a;
	struct err e;
	struct stat st;

	CHECK_INT(cache_open(&c, tmpdir, NULL), 0);
	CHECK_INT(cache_key(key, "http://x", "eb", "my-env", 2, "hostkeys-public", NULL), 0);
	CHECK_INT(cache_key(ipkey, "http://x", "eb", "my-env", 2, "public", NULL), 0);
	CHECK(strcmp(key, ipkey) != 0);
	hostkey_list_add(&l, "ecdsa-sha2-nistp256", strchr(keys[0], ' ') + 1);
	hostkey_list_add(&l, "ssh-ed25519", strchr(keys[1], ' ') + 1);
	CHECK_INT(known_hosts_cache_get(&c, key, T0, 30, &got, &age, &e), ERR_NOT_FOUND);
	CHECK_INT(known_hosts_cache_put(&c, key, &l, T0, NULL), 0);
	snprintf(path, sizeof(path), "%s/%s", tmpdir, key);
	CHECK_INT(stat(path, &st), 0);
	CHECK_INT(st.st_mode & 0777, 0600);
	CHECK_INT(known_hosts_cache_get(&c, key, T0 + 29, 30, &got, &age, NULL), 0);
	CHECK_INT(age, 29);
	CHECK_INT(got.n, 2);
	if (got.n == 2) {
		CHECK_STR(got.items[1].type, "ssh-ed25519");
		CHECK_STR(got.items[1].key, strchr(keys[1], ' ') + 1);
	}
	hostkey_list_free(&got);
	CHECK_INT(known_hosts_cache_get(&c, key, T0 + 30, 30, &got, &age, &e), ERR_NOT_FOUND);
	CHECK(strstr(e.message, "old") != NULL);
	CHECK_INT(known_hosts_cache_get(&c, key, T0 + 3600, CACHE_STALE_MAX, &got, &age, NULL), 0);
	CHECK_INT(age, 3600);
	hostkey_list_free(&got);
	CHECK_INT(known_hosts_cache_get(&c, key, T0 - 1, 30, &got, &age, &e), ERR_NOT_FOUND);
	CHECK(strstr(e.message, "future") != NULL);
	CHECK_INT(known_hosts_cache_get(&c, key, T0, 0, &got, &age, &e), ERR_NOT_FOUND);
	/* The proxy's address entry is never read as keys, nor the reverse. */
	CHECK_INT(addr_parse_literal("127.0.0.2", 9, &a, NULL), 0);
	CHECK_INT(cache_put(&c, ipkey, &a, T0, NULL), 0);
	CHECK_INT(known_hosts_cache_get(&c, ipkey, T0, 30, &got, &age, &e), ERR_NOT_FOUND);
	CHECK(strstr(e.message, "malformed") != NULL);
	CHECK_INT(known_hosts_cache_put(&c, ipkey, &l, T0, NULL), 0);
	{
		struct cache_entry ent;
		CHECK_INT(cache_get(&c, ipkey, T0, 30, &ent, NULL), ERR_NOT_FOUND);
	}
	/* No empty entries, no bad keys. */
	got.n = 0;
	got.items = NULL;
	CHECK_INT(known_hosts_cache_put(&c, key, &got, T0, NULL), ERR_INVALID);
	CHECK_INT(known_hosts_cache_put(&c, "../x", &l, T0, NULL), ERR_INVALID);
	CHECK_INT(known_hosts_cache_get(&c, "../x", T0, 30, &got, &age, NULL), ERR_INVALID);
	cache_close(&c);
	hostkey_list_free(&l);
}

TEST_CASE(cache_refuses_bad_files)
{
	struct cache c;
	struct hostkey_list got;
	char key[CACHE_KEY_LEN + 1], path[256], text[9000];
	long long age;
	struct err e;

	CHECK_INT(cache_open(&c, tmpdir, NULL), 0);
	CHECK_INT(cache_key(key, "http://y", "eb", "my-env", 1, "hostkeys-public", NULL), 0);
	snprintf(path, sizeof(path), "%s/%s", tmpdir, key);
	/* Well-formed, but writable by others. */
	snprintf(text, sizeof(text), "ebssh-hostkeys 1\n%lld\n%s\n", (long long)T0, keys[1]);
	write_text(key, text, 0666);
	CHECK_INT(known_hosts_cache_get(&c, key, T0, 30, &got, &age, &e), ERR_NOT_FOUND);
	CHECK(strstr(e.message, "private") != NULL);
	write_text(key, text, 0600);
	CHECK_INT(known_hosts_cache_get(&c, key, T0, 30, &got, &age, NULL), 0);
	hostkey_list_free(&got);
	/* A line that is not a key, a comment, CRLF, a time with a leading zero. */
	snprintf(text, sizeof(text), "ebssh-hostkeys 1\n%lld\n%s\nevil\n", (long long)T0, keys[1]);
	write_text(key, text, 0600);
	CHECK_INT(known_hosts_cache_get(&c, key, T0, 30, &got, &age, NULL), ERR_NOT_FOUND);
	snprintf(text, sizeof(text), "ebssh-hostkeys 1\n%lld\n%s comment\n", (long long)T0,
	         keys[1]);
	write_text(key, text, 0600);
	CHECK_INT(known_hosts_cache_get(&c, key, T0, 30, &got, &age, NULL), ERR_NOT_FOUND);
	snprintf(text, sizeof(text), "ebssh-hostkeys 1\r\n%lld\r\n%s\r\n", (long long)T0, keys[1]);
	write_text(key, text, 0600);
	CHECK_INT(known_hosts_cache_get(&c, key, T0, 30, &got, &age, NULL), ERR_NOT_FOUND);
	snprintf(text, sizeof(text), "ebssh-hostkeys 1\n0%lld\n%s\n", (long long)T0, keys[1]);
	write_text(key, text, 0600);
	CHECK_INT(known_hosts_cache_get(&c, key, T0, 30, &got, &age, NULL), ERR_NOT_FOUND);
	snprintf(text, sizeof(text), "ebssh-hostkeys 1\n%lld\n", (long long)T0);
	write_text(key, text, 0600);
	CHECK_INT(known_hosts_cache_get(&c, key, T0, 30, &got, &age, NULL), ERR_NOT_FOUND);
	/* A symlink to a good entry elsewhere. */
	{
		char other[256];
		snprintf(other, sizeof(other), "%s-elsewhere", tmpdir);
		snprintf(text, sizeof(text), "ebssh-hostkeys 1\n%lld\n%s\n", (long long)T0,
		         keys[1]);
		unlink(path);
		{
			int fd = open(other, O_WRONLY | O_CREAT | O_TRUNC, 0600);
			CHECK(fd >= 0);
			if (fd >= 0) {
				CHECK_INT(write(fd, text, strlen(text)), (long long)strlen(text));
				close(fd);
			}
		}
		CHECK_INT(symlink(other, path), 0);
		CHECK_INT(known_hosts_cache_get(&c, key, T0, 30, &got, &age, &e), ERR_NOT_FOUND);
		CHECK(strstr(e.message, "symlink") != NULL);
		unlink(path);
		unlink(other);
	}
	/* Closed cache. */
	cache_close(&c);
	CHECK_INT(known_hosts_cache_get(&c, key, T0, 30, &got, &age, NULL), ERR_NOT_FOUND);
}

static void rm_rf(const char *dir)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
}

int main(void)
{
	int rc;

	load_keys();
	if (!keys[0] || !keys[1]) {
		printf("not ok 1 - fixture keys (EBSSH_ROOT?)\n1..1\n");
		return 1;
	}
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ebssh-test-known-hosts-XXXXXX");
	if (!mkdtemp(tmpdir)) {
		printf("not ok 1 - mkdtemp\n1..1\n");
		return 1;
	}
	RUN(urls);
	RUN(classify);
	RUN(format);
	RUN(cache_round_trip);
	RUN(cache_refuses_bad_files);
	rm_rf(tmpdir);
	rc = TEST_DONE();
	free(keys[0]);
	free(keys[1]);
	return rc;
}
