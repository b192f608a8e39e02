/*
 * test.h: a tiny TAP producer for ebssh's C unit tests.
 *
 * Each TEST_CASE is a function; main() lists them with RUN(). Checks print
 * the file, line and both values on failure and mark the current case
 * failed; the case's "ok"/"not ok" line is printed when it ends. tests/run
 * totals the TAP lines of every suite.
 */
#ifndef EBSSH_TEST_H
#define EBSSH_TEST_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test_failed_case;
static int test_failures;
static int test_count;

#define TEST_CASE(name) static void name(void)

#define RUN(name)                                                                                  \
	do {                                                                                       \
		test_failed_case = 0;                                                              \
		name();                                                                            \
		test_count++;                                                                      \
		printf("%sok %d - %s\n", test_failed_case ? "not " : "", test_count, #name);       \
		if (test_failed_case)                                                              \
			test_failures++;                                                           \
		fflush(stdout);                                                                    \
	} while (0)

/* RUN_NAMED: a case whose name is computed (one case per vector file). */
#define RUN_NAMED(label, expr)                                                                     \
	do {                                                                                       \
		test_failed_case = 0;                                                              \
		expr;                                                                              \
		test_count++;                                                                      \
		printf("%sok %d - %s\n", test_failed_case ? "not " : "", test_count, (label));     \
		if (test_failed_case)                                                              \
			test_failures++;                                                           \
		fflush(stdout);                                                                    \
	} while (0)

#define TEST_DONE() (printf("1..%d\n", test_count), test_failures ? 1 : 0)

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			printf("# %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);          \
			test_failed_case = 1;                                                      \
		}                                                                                  \
	} while (0)

#define CHECK_INT(got, want)                                                                       \
	do {                                                                                       \
		long long g_ = (long long)(got), w_ = (long long)(want);                           \
		if (g_ != w_) {                                                                    \
			printf("# %s:%d: %s == %lld, want %lld\n", __FILE__, __LINE__, #got, g_,   \
			       w_);                                                                \
			test_failed_case = 1;                                                      \
		}                                                                                  \
	} while (0)

#define CHECK_STR(got, want)                                                                       \
	do {                                                                                       \
		const char *g_ = (got), *w_ = (want);                                              \
		if (!g_ || !w_ ? g_ != w_ : strcmp(g_, w_) != 0) {                                 \
			printf("# %s:%d: %s == \"%s\", want \"%s\"\n", __FILE__, __LINE__, #got,   \
			       g_ ? g_ : "(null)", w_ ? w_ : "(null)");                            \
			test_failed_case = 1;                                                      \
		}                                                                                  \
	} while (0)

/* The directory of the test vectors: $EBSSH_VECTORS, else tests/vectors
 * relative to the working directory (the checkout's root). */
static inline const char *test_vectors_dir(void)
{
	const char *v = getenv("EBSSH_VECTORS");
	return v && *v ? v : "tests/vectors";
}

static inline int test_cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted names of the files of $EBSSH_VECTORS/subdir ending in suffix
 * (malloc'd array of malloc'd names, count in *n); NULL when the directory
 * cannot be read, so a missing vector set is a failure, not zero cases. */
static inline char **test_list_vectors(const char *subdir, const char *suffix, size_t *n)
{
	char dir[1024], **names = NULL, **p;
	size_t len, slen = strlen(suffix);
	struct dirent *de;
	DIR *d;

	*n = 0;
	snprintf(dir, sizeof(dir), "%s/%s", test_vectors_dir(), subdir);
	d = opendir(dir);
	if (!d)
		return NULL;
	while ((de = readdir(d))) {
		len = strlen(de->d_name);
		if (len <= slen || strcmp(de->d_name + len - slen, suffix) != 0)
			continue;
		p = realloc(names, (*n + 1) * sizeof(*names));
		if (!p)
			break;
		names = p;
		names[(*n)++] = strdup(de->d_name);
	}
	closedir(d);
	if (names)
		qsort(names, *n, sizeof(*names), test_cmp_names);
	return names;
}

/* Reads a whole file into a NUL-terminated malloc'd buffer; NULL on failure. */
static inline char *test_read_file(const char *path, size_t *len_out)
{
	FILE *f = fopen(path, "rb");
	char *data = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		data = malloc((size_t)n + 1);
		if (data && fread(data, 1, (size_t)n, f) != (size_t)n) {
			free(data);
			data = NULL;
		} else if (data) {
			data[n] = '\0';
			if (len_out)
				*len_out = (size_t)n;
		}
	}
	fclose(f);
	return data;
}

#endif
