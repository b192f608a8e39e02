/* Unit tests of proxy/cache: expiry, stale fallback, permissions, atomic
 * replacement, and refusing symlinks and foreign files. */
#include "test.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proxy/cache.h"

static char tmpdir[64];
static const time_t T0 = 1700000000;

static struct addr ip(const char *text)
{
	struct addr a;

	if (addr_parse_literal(text, strlen(text), &a, NULL) != 0)
		memset(&a, 0, sizeof(a));
	return a;
}

static void path_in(char *out, size_t cap, const char *sub)
{
	snprintf(out, cap, "%s/%s", tmpdir, sub);
}

static mode_t mode_of(const char *path)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		return (mode_t)-1;
	return st.st_mode & 07777;
}

static void write_text(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK_INT(write(fd, text, strlen(text)), (long long)strlen(text));
	CHECK_INT(fchmod(fd, mode), 0);
	close(fd);
}

/* Number of entries in dir (without . and ..). */
static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void key_of(char key[CACHE_KEY_LEN + 1], const char *name)
{
	CHECK_INT(cache_key(key, "https://api.example/prod", "eb", name, 1, "public", NULL), 0);
}

TEST_CASE(open_creates_private_directory)
{
	struct cache c;
	struct err e;
	char dir[128], parent[128];

	path_in(parent, sizeof(parent), "home/.cache");
	path_in(dir, sizeof(dir), "home/.cache/ebssh");
	CHECK_INT(cache_open(&c, dir, &e), 0);
	CHECK(c.dirfd >= 0);
	CHECK_INT(mode_of(dir), 0700);
	CHECK_INT(mode_of(parent), 0700);
	cache_close(&c);
	CHECK_INT(c.dirfd, -1);
	cache_close(&c); /* twice is fine */

	/* readable by others: tightened */
	CHECK_INT(chmod(dir, 0755), 0);
	CHECK_INT(cache_open(&c, dir, &e), 0);
	CHECK_INT(mode_of(dir), 0700);
	cache_close(&c);

	/* writable by group or others: refused, left as it is */
	CHECK_INT(chmod(dir, 0770), 0);
	CHECK_INT(cache_open(&c, dir, &e), ERR_INVALID);
	CHECK(strstr(e.message, "writable by group or others") != NULL);
	CHECK_INT(c.dirfd, -1);
	CHECK_INT(mode_of(dir), 0770);
	CHECK_INT(chmod(dir, 0700), 0);

	CHECK_INT(cache_open(&c, "relative/dir", &e), ERR_INVALID);
}

TEST_CASE(open_refuses_symlink_file_and_foreign_dir)
{
	struct cache c;
	struct err e;
	char dir[128], link[128], file[128];

	path_in(dir, sizeof(dir), "real");
	path_in(link, sizeof(link), "link");
	path_in(file, sizeof(file), "plainfile");
	CHECK_INT(mkdir(dir, 0700), 0);
	CHECK_INT(symlink(dir, link), 0);
	CHECK_INT(cache_open(&c, link, &e), ERR_INVALID);
	CHECK(strstr(e.message, "is a symlink or not a directory") != NULL);
	write_text(file, "x", 0600);
	CHECK_INT(cache_open(&c, file, &e), ERR_INVALID);
	if (geteuid() == 0) {
		CHECK_INT(chown(dir, 65534, 65534), 0);
		CHECK_INT(cache_open(&c, dir, &e), ERR_INVALID);
		CHECK(strstr(e.message, "owned by uid 65534") != NULL);
	} else {
		printf("# not root: foreign owner not tested\n");
	}
}

TEST_CASE(key_covers_every_field)
{
	char k[8][CACHE_KEY_LEN + 1];
	int i, j;

	CHECK_INT(cache_key(k[0], "https://a", "eb", "my-env", 1, "public", NULL), 0);
	CHECK_INT(cache_key(k[1], "https://b", "eb", "my-env", 1, "public", NULL), 0);
	CHECK_INT(cache_key(k[2], "https://a", "asg", "my-env", 1, "public", NULL), 0);
	CHECK_INT(cache_key(k[3], "https://a", "eb", "my-env2", 1, "public", NULL), 0);
	CHECK_INT(cache_key(k[4], "https://a", "eb", "my-env", 2, "public", NULL), 0);
	CHECK_INT(cache_key(k[5], "https://a", "eb", "my-env", 1, "private", NULL), 0);
	CHECK_INT(cache_key(k[6], "https://a", "eb", "my-env", 1, "public", NULL), 0);
	CHECK_INT(cache_key(k[7], "https://a", "eb", "my-env", 12, "public", NULL), 0);
	for (i = 0; i < 8; i++) {
		CHECK_INT(strlen(k[i]), CACHE_KEY_LEN);
		CHECK_INT(strspn(k[i], "0123456789abcdef"), CACHE_KEY_LEN);
		for (j = i + 1; j < 8; j++)
			if (!(i == 0 && j == 6))
				CHECK(strcmp(k[i], k[j]) != 0);
	}
	CHECK_STR(k[0], k[6]);
	/* the SHA-256 of the documented material, computed by sha256sum */
	CHECK_INT(cache_key(k[0], "http://127.0.0.1:8080", "eb", "demo-env", 2, "public", NULL), 0);
	CHECK_STR(k[0], "40e7c4194444082016b15a42d956749550756453192d7a344dc40ef455e53bcc");
}

TEST_CASE(expiry_and_stale_fallback)
{
	struct cache c;
	struct cache_entry ent;
	struct err e;
	char dir[128], key[CACHE_KEY_LEN + 1];
	struct addr a = ip("203.0.113.7");

	path_in(dir, sizeof(dir), "expiry");
	CHECK_INT(cache_open(&c, dir, &e), 0);
	key_of(key, "my-env");
	CHECK_INT(cache_get(&c, key, T0, 30, &ent, &e), ERR_NOT_FOUND);
	CHECK_STR(e.message, "no cached answer");
	CHECK_INT(cache_get_stale(&c, key, T0, &ent, &e), ERR_NOT_FOUND);

	CHECK_INT(cache_put(&c, key, &a, T0, &e), 0);
	CHECK_INT(cache_get(&c, key, T0, 30, &ent, &e), 0);
	CHECK_STR(ent.addr.text, "203.0.113.7");
	CHECK_INT(ent.addr.family, a.family);
	CHECK_INT(ent.stored_at, T0);
	CHECK_INT(ent.age, 0);
	CHECK_INT(cache_get(&c, key, T0 + 29, 30, &ent, &e), 0);
	CHECK_INT(ent.age, 29);
	CHECK_INT(cache_get(&c, key, T0 + 30, 30, &ent, &e), ERR_NOT_FOUND);
	CHECK_STR(e.message, "cached answer is 30s old (limit 30s)");
	CHECK_STR(ent.addr.text, "");
	/* ttl 0 never serves, but the entry is still there for the fallback */
	CHECK_INT(cache_get(&c, key, T0, 0, &ent, &e), ERR_NOT_FOUND);
	CHECK_INT(cache_get_stale(&c, key, T0 + 30, &ent, &e), 0);
	CHECK_INT(ent.age, 30);
	CHECK_INT(cache_get_stale(&c, key, T0 + CACHE_STALE_MAX - 1, &ent, &e), 0);
	CHECK_STR(ent.addr.text, "203.0.113.7");
	CHECK_INT(cache_get_stale(&c, key, T0 + CACHE_STALE_MAX, &ent, &e), ERR_NOT_FOUND);
	/* from the future (clock went back): ignored */
	CHECK_INT(cache_get(&c, key, T0 - 1, 30, &ent, &e), ERR_NOT_FOUND);
	CHECK(strstr(e.message, "future") != NULL);

	/* a newer answer replaces the older one */
	a = ip("2001:db8::7");
	CHECK_INT(cache_put(&c, key, &a, T0 + 100, &e), 0);
	CHECK_INT(cache_get(&c, key, T0 + 101, 30, &ent, &e), 0);
	CHECK_STR(ent.addr.text, "2001:db8::7");
	CHECK_INT(ent.age, 1);

	/* bad keys are refused, never used as a path */
	CHECK_INT(cache_get(&c, "../../etc/passwd", T0, 30, &ent, &e), ERR_INVALID);
	CHECK_INT(cache_put(&c, "../x", &a, T0, &e), ERR_INVALID);
	cache_close(&c);
	CHECK_INT(cache_get(&c, key, T0 + 101, 30, &ent, &e), ERR_NOT_FOUND);
	CHECK_INT(cache_put(&c, key, &a, T0, &e), ERR_INVALID);
}

TEST_CASE(files_private_and_replaced_atomically)
{
	struct cache c;
	struct cache_entry ent;
	struct err e;
	char dir[128], key[CACHE_KEY_LEN + 1], file[256], before[64];
	struct addr a = ip("198.51.100.1");
	struct stat st1, st2;
	int fd;
	ssize_t n;

	path_in(dir, sizeof(dir), "atomic");
	CHECK_INT(cache_open(&c, dir, &e), 0);
	key_of(key, "atomic-env");
	snprintf(file, sizeof(file), "%s/%s", dir, key);
	umask(0);
	CHECK_INT(cache_put(&c, key, &a, T0, &e), 0);
	umask(022);
	CHECK_INT(mode_of(file), 0600);
	CHECK_INT(count_entries(dir), 1); /* no temporary file left */
	{
		char *text = test_read_file(file, NULL);

		CHECK_STR(text, "ebssh-cache 1\n198.51.100.1\n1700000000\n");
		free(text);
	}

	/* A reader holding the old entry keeps reading the old entry whole:
	 * the new one is a new file renamed over it, not a rewrite in place. */
	fd = open(file, O_RDONLY);
	CHECK(fd >= 0);
	CHECK_INT(fstat(fd, &st1), 0);
	a = ip("198.51.100.2");
	CHECK_INT(cache_put(&c, key, &a, T0 + 5, &e), 0);
	CHECK_INT(stat(file, &st2), 0);
	CHECK(st1.st_ino != st2.st_ino);
	n = pread(fd, before, sizeof(before) - 1, 0);
	CHECK(n > 0);
	before[n > 0 ? n : 0] = '\0';
	CHECK_STR(before, "ebssh-cache 1\n198.51.100.1\n1700000000\n");
	close(fd);
	CHECK_INT(cache_get(&c, key, T0 + 5, 30, &ent, &e), 0);
	CHECK_STR(ent.addr.text, "198.51.100.2");
	CHECK_INT(count_entries(dir), 1);
	cache_close(&c);
}

TEST_CASE(symlinks_and_unsafe_entries_refused)
{
	struct cache c;
	struct cache_entry ent;
	struct err e;
	char dir[128], key[CACHE_KEY_LEN + 1], file[256], target[128];
	struct addr a = ip("192.0.2.50");

	path_in(dir, sizeof(dir), "unsafe");
	path_in(target, sizeof(target), "target");
	CHECK_INT(cache_open(&c, dir, &e), 0);
	key_of(key, "unsafe-env");
	snprintf(file, sizeof(file), "%s/%s", dir, key);

	/* a symlink at the entry's name is never followed on read ... */
	write_text(target, "ebssh-cache 1\n192.0.2.66\n1700000000\n", 0600);
	CHECK_INT(symlink(target, file), 0);
	CHECK_INT(cache_get(&c, key, T0, 30, &ent, &e), ERR_NOT_FOUND);
	CHECK_STR(e.message, "cache entry is a symlink: ignored");
	/* ... nor on write: the link itself is replaced, its target untouched */
	CHECK_INT(cache_put(&c, key, &a, T0, &e), 0);
	{
		char *text = test_read_file(target, NULL);

		CHECK_STR(text, "ebssh-cache 1\n192.0.2.66\n1700000000\n");
		free(text);
	}
	CHECK_INT(mode_of(file) != (mode_t)-1, 1);
	CHECK_INT(cache_get(&c, key, T0, 30, &ent, &e), 0);
	CHECK_STR(ent.addr.text, "192.0.2.50");

	/* writable by others */
	CHECK_INT(chmod(file, 0666), 0);
	CHECK_INT(cache_get(&c, key, T0, 30, &ent, &e), ERR_NOT_FOUND);
	CHECK(strstr(e.message, "not a small private file") != NULL);
	CHECK_INT(chmod(file, 0600), 0);
	if (geteuid() == 0) {
		CHECK_INT(chown(file, 65534, 65534), 0);
		CHECK_INT(cache_get(&c, key, T0, 30, &ent, &e), ERR_NOT_FOUND);
		CHECK_INT(chown(file, 0, 0), 0);
	}
	/* a FIFO does not block the reader */
	CHECK_INT(unlink(file), 0);
	CHECK_INT(mkfifo(file, 0600), 0);
	CHECK_INT(cache_get(&c, key, T0, 30, &ent, &e), ERR_NOT_FOUND);
	CHECK_INT(unlink(file), 0);
	/* a directory */
	CHECK_INT(mkdir(file, 0700), 0);
	CHECK_INT(cache_get(&c, key, T0, 30, &ent, &e), ERR_NOT_FOUND);
	CHECK_INT(rmdir(file), 0);
	cache_close(&c);
}

TEST_CASE(malformed_entries_are_misses)
{
	static const char *bad[] = {
	    "",
	    "ebssh-cache 1\n",
	    "ebssh-cache 2\n192.0.2.1\n1700000000\n",
	    "ebssh-cache 1\n192.0.2.1\n1700000000",
	    "ebssh-cache 1\n192.0.2.1\n1700000000\nextra\n",
	    "ebssh-cache 1\n192.0.2.1\n\n",
	    "ebssh-cache 1\n192.0.2.1\n-5\n",
	    "ebssh-cache 1\n192.0.2.1\n01700000000\n",
	    "ebssh-cache 1\n192.0.2.1\n99999999999999999999999\n",
	    "ebssh-cache 1\nlocalhost\n1700000000\n",
	    "ebssh-cache 1\n0.0.0.0\n1700000000\n",
	    "ebssh-cache 1\n 192.0.2.1\n1700000000\n",
	    "ebssh-cache 1\n192.0.2.1\n1700000000\n                                                "
	    " "
	    "                                                                                "
	    "                                                                                "
	    "                                                                                ",
	};
	struct cache c;
	struct cache_entry ent;
	struct err e;
	char dir[128], key[CACHE_KEY_LEN + 1], file[256];
	size_t i;

	path_in(dir, sizeof(dir), "malformed");
	CHECK_INT(cache_open(&c, dir, &e), 0);
	key_of(key, "bad-env");
	snprintf(file, sizeof(file), "%s/%s", dir, key);
	write_text(file, "ebssh-cache 1\n192.0.2.1\n1700000000\n", 0600);
	CHECK_INT(cache_get(&c, key, T0, 30, &ent, &e), 0); /* the good form */
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_text(file, bad[i], 0600);
		if (cache_get(&c, key, T0 + 1, 30, &ent, &e) != ERR_NOT_FOUND) {
			printf("# case %zu accepted\n", i);
			test_failed_case = 1;
		}
	}
	cache_close(&c);
}

TEST_CASE(default_dir_follows_xdg)
{
	struct err e;
	char *p;

	setenv("XDG_CACHE_HOME", "/x/cache", 1);
	setenv("HOME", "/home/u", 1);
	p = cache_default_dir(&e);
	CHECK_STR(p, "/x/cache/ebssh");
	free(p);
	setenv("XDG_CACHE_HOME", "", 1);
	p = cache_default_dir(&e);
	CHECK_STR(p, "/home/u/.cache/ebssh");
	free(p);
}

TEST_CASE(lock_is_single_flight_and_bounded)
{
	struct cache c;
	struct err e;
	char dir[128], key[CACHE_KEY_LEN + 1];
	int fd = -1, fd2 = -1, status = 0, ready[2];
	pid_t child;
	char byte;

	path_in(dir, sizeof(dir), "lock");
	CHECK_INT(cache_open(&c, dir, &e), 0);
	key_of(key, "my-env");
	CHECK_INT(cache_lock(&c, "not-a-key", 100, &fd, &e), ERR_INVALID);
	CHECK_INT(fd, -1);
	CHECK_INT(pipe(ready), 0);
	child = fork();
	if (child == 0) {
		/* holds the lock for 300 ms, as a slow lookup would */
		int held = -1;

		if (cache_lock(&c, key, 1000, &held, NULL) != 0)
			_exit(1);
		if (write(ready[1], "x", 1) != 1)
			_exit(1);
		usleep(300 * 1000);
		cache_unlock(held);
		_exit(0);
	}
	CHECK_INT(read(ready[0], &byte, 1), 1);
	/* a second process gives up after its timeout ... */
	CHECK_INT(cache_lock(&c, key, 50, &fd, &e), ERR_TIMEOUT);
	CHECK_INT(fd, -1);
	CHECK(strstr(e.message, "still running") != NULL);
	/* ... or waits until the first is done */
	CHECK_INT(cache_lock(&c, key, 5000, &fd, &e), 0);
	CHECK(fd >= 0);
	CHECK_INT(waitpid(child, &status, 0), child);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* another key is another lock */
	key_of(key, "other-env");
	CHECK_INT(cache_lock(&c, key, 50, &fd2, &e), 0);
	cache_unlock(fd2);
	cache_unlock(fd);
	cache_unlock(-1);
	close(ready[0]);
	close(ready[1]);
	cache_close(&c);
}

/* A text entry of the tests' own format: "T <time>\n<word>\n". */
struct word {
	char text[32];
};

static int parse_word(const char *text, size_t len, void *value, long long *stored_at)
{
	struct word *w = value;
	const char *nl = memchr(text, '\n', len);
	size_t n;

	if (len < 3 || memcmp(text, "T ", 2) != 0 || !nl || text[len - 1] != '\n' ||
	    cache_parse_time(text + 2, (size_t)(nl - text - 2), stored_at) != 0)
		return -1;
	n = len - (size_t)(nl + 1 - text) - 1;
	if (n >= sizeof(w->text) || memchr(nl + 1, '\n', n))
		return -1;
	memcpy(w->text, nl + 1, n);
	w->text[n] = '\0';
	return 0;
}

TEST_CASE(text_entries)
{
	static const char entry[] = "T 1700000000\nhello\n";
	struct cache c;
	struct cache_entry ent;
	struct word w;
	struct err e;
	char dir[128], key[CACHE_KEY_LEN + 1], other[CACHE_KEY_LEN + 1], file[256];
	long long age = -1;
	int fd = -1;

	path_in(dir, sizeof(dir), "text");
	CHECK_INT(cache_open(&c, dir, &e), 0);
	CHECK_INT(cache_key(key, "https://a", "eb", "my-env", 1, "words", NULL), 0);
	snprintf(file, sizeof(file), "%s/%s", dir, key);
	CHECK_INT(cache_get_text(&c, key, T0, 30, 64, parse_word, &w, &age, &e), ERR_NOT_FOUND);
	CHECK_STR(e.message, "no cached answer");
	CHECK_INT(age, 0);

	umask(0);
	CHECK_INT(cache_put_text(&c, key, entry, strlen(entry), &e), 0);
	umask(022);
	CHECK_INT(mode_of(file), 0600);
	CHECK_INT(count_entries(dir), 1);
	{
		char *text = test_read_file(file, NULL);

		CHECK_STR(text, entry);
		free(text);
	}
	memset(&w, 0, sizeof(w));
	CHECK_INT(cache_get_text(&c, key, T0 + 7, 30, 64, parse_word, &w, &age, &e), 0);
	CHECK_STR(w.text, "hello");
	CHECK_INT(age, 7);
	/* the age rules of every entry */
	CHECK_INT(cache_get_text(&c, key, T0 + 30, 30, 64, parse_word, &w, &age, &e),
	          ERR_NOT_FOUND);
	CHECK_STR(e.message, "cached answer is 30s old (limit 30s)");
	CHECK_INT(age, 0);
	CHECK_INT(cache_get_text(&c, key, T0 - 1, 30, 64, parse_word, &w, &age, &e), ERR_NOT_FOUND);
	CHECK_STR(e.message, "cached answer is from the future: ignored");
	CHECK_INT(cache_get_text(&c, key, T0, 0, 64, parse_word, &w, &age, &e), ERR_NOT_FOUND);
	CHECK_STR(e.message, "cache not asked (ttl 0)");
	/* the size cap: a file over max_len is not read */
	CHECK_INT(cache_get_text(&c, key, T0, 30, strlen(entry), parse_word, &w, &age, &e), 0);
	CHECK_INT(cache_get_text(&c, key, T0, 30, strlen(entry) - 1, parse_word, &w, &age, &e),
	          ERR_NOT_FOUND);
	CHECK(strstr(e.message, "not a small private file") != NULL);
	/* what the parser refuses is a miss */
	CHECK_INT(cache_put_text(&c, key, "T 1700000000\ntwo\nlines\n", 23, &e), 0);
	CHECK_INT(cache_get_text(&c, key, T0, 30, 64, parse_word, &w, &age, &e), ERR_NOT_FOUND);
	CHECK_STR(e.message, "cache entry is malformed: ignored");
	/* an address entry and a text entry of another format never meet */
	CHECK_INT(cache_put_text(&c, key, entry, strlen(entry), &e), 0);
	CHECK_INT(cache_get(&c, key, T0, 30, &ent, &e), ERR_NOT_FOUND);
	key_of(other, "my-env");
	ent.addr = ip("192.0.2.9");
	CHECK_INT(cache_put(&c, other, &ent.addr, T0, &e), 0);
	CHECK_INT(cache_get_text(&c, other, T0, 64, 64, parse_word, &w, &age, &e), ERR_NOT_FOUND);
	/* single flight works for any key, and its lock file is not the entry */
	CHECK_INT(cache_lock(&c, key, 50, &fd, &e), 0);
	CHECK_INT(cache_get_text(&c, key, T0, 30, 64, parse_word, &w, &age, &e), 0);
	cache_unlock(fd);
	/* bad keys, no text, a closed cache */
	CHECK_INT(cache_put_text(&c, "../x", entry, strlen(entry), &e), ERR_INVALID);
	CHECK_INT(cache_put_text(&c, key, NULL, 0, &e), ERR_INVALID);
	CHECK_INT(cache_get_text(&c, "../x", T0, 30, 64, parse_word, &w, &age, &e), ERR_INVALID);
	cache_close(&c);
	CHECK_INT(cache_get_text(&c, key, T0, 30, 64, parse_word, &w, &age, &e), ERR_NOT_FOUND);
	CHECK_INT(cache_put_text(&c, key, entry, strlen(entry), &e), ERR_INVALID);
}

TEST_CASE(stored_times)
{
	static const char *bad[] = {"", "01", "-5", "+5", "12a", " 1", "1234567890123"};
	long long t = -1;
	size_t i;

	CHECK_INT(cache_parse_time("0", 1, &t), 0);
	CHECK_INT(t, 0);
	CHECK_INT(cache_parse_time("1700000000", 10, &t), 0);
	CHECK_INT(t, 1700000000LL);
	CHECK_INT(cache_parse_time("999999999999", 12, &t), 0);
	CHECK_INT(t, 999999999999LL);
	CHECK_INT(cache_parse_time("17000000009", 10, &t), 0); /* only len bytes are read */
	CHECK_INT(t, 1700000000LL);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		t = -1;
		CHECK_INT(cache_parse_time(bad[i], strlen(bad[i]), &t), -1);
		CHECK_INT(t, -1);
	}
}

int main(void)
{
	char cmd[128];

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ebssh-test-cache.XXXXXX");
	if (!mkdtemp(tmpdir))
		return 1;
	RUN(open_creates_private_directory);
	RUN(open_refuses_symlink_file_and_foreign_dir);
	RUN(key_covers_every_field);
	RUN(expiry_and_stale_fallback);
	RUN(files_private_and_replaced_atomically);
	RUN(symlinks_and_unsafe_entries_refused);
	RUN(malformed_entries_are_misses);
	RUN(default_dir_follows_xdg);
	RUN(lock_is_single_flight_and_bounded);
	RUN(text_entries);
	RUN(stored_times);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", tmpdir);
	return TEST_DONE();
}
