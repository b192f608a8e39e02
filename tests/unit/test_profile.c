/* Unit tests of aws/profile: the AWS CLI's INI files, parsed as botocore does. */
#include "test.h"

#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aws/profile.h"
#include "util/buf.h"

/* Every visit as one line: "[section]" or "section|key|subkey|value". */
static int transcribe(void *ctx, const char *section, const char *key, const char *subkey,
                      const char *value)
{
	struct buf *b = ctx;

	if (!key)
		return buf_appendf(b, "[%s]\n", section);
	return buf_appendf(b, "%s|%s|%s|%s\n", section, key, subkey ? subkey : "-", value);
}

static char *transcript(const char *text, int *rc, struct err *e)
{
	struct buf b;

	buf_init(&b, 0);
	*rc = profile_parse(text, strlen(text), transcribe, &b, e);
	return buf_take(&b);
}

/* profile_get of a NUL-terminated text; "" + rc when absent. */
static char *get(const char *text, const char *section, const char *key, int *rc)
{
	char *out = NULL;

	*rc = profile_get(text, strlen(text), section, key, &out, NULL);
	return out;
}

TEST_CASE(sections_keys_and_values_in_order)
{
	const char *text = "[default]\n"
	                   "\tAWS_Access_Key_ID   =   AKID  \n"
	                   "region = us-east-1\n"
	                   "Output=json\n"
	                   "\tindented = so a continuation\n"
	                   "[profile dev]\n"
	                   "region: eu-west-1\n"
	                   "endpoint_url = http://localhost:4566\n"
	                   "weird:key=value\n"
	                   "[empty]\n";
	struct err e;
	int rc;
	char *t = transcript(text, &rc, &e);

	CHECK_INT(rc, 0);
	CHECK_STR(t, "[default]\n"
	             "default|aws_access_key_id|-|AKID\n"
	             "default|region|-|us-east-1\n"
	             "default|output|-|json\nindented = so a continuation\n"
	             "[profile dev]\n"
	             "profile dev|region|-|eu-west-1\n"
	             "profile dev|endpoint_url|-|http://localhost:4566\n"
	             "profile dev|weird|-|key=value\n"
	             "[empty]\n");
	free(t);
}

TEST_CASE(comments_blank_lines_and_no_inline_comments)
{
	const char *text = "# top comment\n"
	                   "; another\n"
	                   "\n"
	                   "[default]\n"
	                   "   # indented comment\n"
	                   "region = us-east-1 # not a comment\n"
	                   ";x = 1\n"
	                   "#y = 2\n";
	int rc;
	char *v = get(text, "default", "region", &rc);

	CHECK_INT(rc, 0);
	CHECK_STR(v, "us-east-1 # not a comment");
	free(v);
	v = get(text, "default", "x", &rc);
	CHECK_INT(rc, ERR_NOT_FOUND);
	CHECK(v == NULL);
	v = get(text, "default", "y", &rc);
	CHECK_INT(rc, ERR_NOT_FOUND);
}

TEST_CASE(keys_are_case_insensitive_sections_are_not)
{
	const char *text = "[Default]\nREGION = a\n[default]\nregion = b\n";
	int rc;
	char *v = get(text, "default", "Region", &rc);

	CHECK_INT(rc, 0);
	CHECK_STR(v, "b");
	free(v);
	v = get(text, "Default", "region", &rc);
	CHECK_STR(v, "a");
	free(v);
	v = get(text, "DEFAULT", "region", &rc);
	CHECK_INT(rc, ERR_NOT_FOUND);
}

TEST_CASE(line_endings_bom_and_missing_final_newline)
{
	const char *crlf = "\xEF\xBB\xBF[default]\r\nregion = us-west-2\r\nx = 1\ry = 2";
	int rc;
	char *v = get(crlf, "default", "region", &rc);

	CHECK_INT(rc, 0);
	CHECK_STR(v, "us-west-2");
	free(v);
	v = get(crlf, "default", "x", &rc);
	CHECK_STR(v, "1");
	free(v);
	v = get(crlf, "default", "y", &rc);
	CHECK_STR(v, "2");
	free(v);
}

TEST_CASE(text_need_not_be_terminated)
{
	const char text[] = {'[', 'a', ']', '\n', 'k', '=', 'v', 'X'};
	char *out = NULL;

	CHECK_INT(profile_get(text, sizeof(text) - 1, "a", "k", &out, NULL), 0);
	CHECK_STR(out, "v");
	free(out);
}

TEST_CASE(continuation_lines_join_with_newlines)
{
	const char *text = "[a]\n"
	                   "k = first\n"
	                   "  second\n"
	                   "\n"
	                   "\tthird\n"
	                   "  # a comment inside\n"
	                   "\n"
	                   "next = 1\n";
	int rc;
	char *v = get(text, "a", "k", &rc);

	CHECK_INT(rc, 0);
	CHECK_STR(v, "first\nsecond\n\nthird");
	free(v);
	v = get(text, "a", "next", &rc);
	CHECK_STR(v, "1");
	free(v);
}

TEST_CASE(indentation_is_relative_to_the_key)
{
	/* an indented key after a header is a key; a less indented one ends a value */
	const char *text = "[a]\n"
	                   "    k = v\n"
	                   "  j = w\n"
	                   "      still j\n";
	struct err e;
	int rc;
	char *t = transcript(text, &rc, &e);

	CHECK_INT(rc, 0);
	CHECK_STR(t, "[a]\na|k|-|v\na|j|-|w\nstill j\n");
	free(t);
}

TEST_CASE(nested_sub_sections_are_kept_apart)
{
	const char *text = "[default]\n"
	                   "region = us-east-1\n"
	                   "s3 =\n"
	                   "  addressing_style = path\n"
	                   "\n"
	                   "  Signature_Version=s3v4\n"
	                   "  # comment\n"
	                   "output = json\n";
	struct err e;
	char *out = NULL, *t;
	int rc;

	t = transcript(text, &rc, &e);
	CHECK_INT(rc, 0);
	CHECK_STR(t, "[default]\n"
	             "default|region|-|us-east-1\n"
	             "default|s3|addressing_style|path\n"
	             "default|s3|signature_version|s3v4\n"
	             "default|output|-|json\n");
	free(t);
	CHECK_INT(profile_get(text, strlen(text), "default", "addressing_style", &out, &e),
	          ERR_NOT_FOUND);
	CHECK_INT(profile_get(text, strlen(text), "default", "s3", &out, &e), ERR_NOT_FOUND);
	CHECK_STR(e.message, "a sub-section s3 in [default]");
	CHECK_INT(profile_lookup(text, strlen(text), PROFILE_SECTION, "default", "s3",
	                         "signature_version", &out, &e),
	          0);
	CHECK_STR(out, "s3v4");
	free(out);
	CHECK_INT(
	    profile_lookup(text, strlen(text), PROFILE_SECTION, "default", "s3", "nope", &out, &e),
	    ERR_NOT_FOUND);
	CHECK_STR(e.message, "no nope in sub-section s3 of [default]");
	CHECK_INT(profile_lookup(text, strlen(text), PROFILE_SECTION, "default", "region",
	                         "signature_version", &out, &e),
	          ERR_NOT_FOUND);
}

TEST_CASE(empty_value_without_continuation_is_a_value)
{
	const char *text = "[a]\nk =\nj = 2\n";
	int rc;
	char *v = get(text, "a", "k", &rc);

	CHECK_INT(rc, 0);
	CHECK_STR(v, "");
	free(v);
}

TEST_CASE(last_value_wins_and_sections_merge)
{
	const char *text = "[a]\nk = 1\nj = x\n[b]\nk = 9\n[a]\nk = 2\n";
	int rc;
	char *v = get(text, "a", "k", &rc);

	CHECK_STR(v, "2");
	free(v);
	v = get(text, "a", "j", &rc);
	CHECK_STR(v, "x");
	free(v);
}

TEST_CASE(section_header_forms)
{
	const char *text = "  [ spaced ]  \nk = 1\n[a]b] ; trailing text\nk = 2\n";
	int rc;
	char *v = get(text, "spaced", "k", &rc);

	CHECK_STR(v, "1");
	free(v);
	v = get(text, "a]b", "k", &rc);
	CHECK_STR(v, "2");
	free(v);
}

TEST_CASE(parse_errors_name_the_line)
{
	static const struct {
		const char *text;
		const char *message;
	} cases[] = {
	    {"region = x\n", "line 1: text before the first [section]"},
	    {"# c\n\n[a]\nk = 1\njunk\n", "line 5: expected \"key = value\""},
	    {"[a]\n = v\n", "line 2: no key before '='"},
	    {"[a]\n: v\n", "line 2: no key before ':'"},
	    {"[a]\n[ ]\n", "line 2: empty section name"},
	    {"[]\n", "line 1: text before the first [section]"},
	    {"[a]\ns3 =\n  k = v\n  bad\n", "line 4: expected \"key = value\" in sub-section s3"},
	};
	struct err e;
	char *out = NULL;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err_clear(&e);
		CHECK_INT(profile_get(cases[i].text, strlen(cases[i].text), "a", "k", &out, &e),
		          ERR_PARSE);
		CHECK(out == NULL);
		CHECK_STR(e.message, cases[i].message);
	}
	{
		const char text[] = "[a]\nk = v\0w\n";

		CHECK_INT(profile_get(text, sizeof(text) - 1, "a", "k", &out, &e), ERR_PARSE);
		CHECK_STR(e.message, "line 2: NUL byte");
	}
}

TEST_CASE(continuation_comment_does_not_hide_an_error_before_a_section)
{
	/* a value line indented after a header is a key line, not a continuation */
	const char *text = "[a]\n  novalue\n";
	struct err e;
	char *out = NULL;

	CHECK_INT(profile_get(text, strlen(text), "a", "k", &out, &e), ERR_PARSE);
	CHECK_STR(e.message, "line 2: expected \"key = value\"");
}

static int stop_at_second(void *ctx, const char *section, const char *key, const char *subkey,
                          const char *value)
{
	int *n = ctx;

	(void)section;
	(void)subkey;
	(void)value;
	if (key && ++*n == 2)
		return ERR_INTERNAL;
	return 0;
}

TEST_CASE(a_visitor_can_stop_the_parse)
{
	const char *text = "[a]\nk = 1\nj = 2\ni = 3\n";
	int n = 0;

	CHECK_INT(profile_parse(text, strlen(text), stop_at_second, &n, NULL), ERR_INTERNAL);
	CHECK_INT(n, 2);
}

TEST_CASE(config_and_credentials_section_names)
{
	const char *conf = "[default]\nregion = d\n"
	                   "[profile dev]\nregion = r1\n"
	                   "[profile   \"qa team\"]\nregion = r2\n"
	                   "[profilex]\nregion = no\n"
	                   "[prod]\nregion = no\n"
	                   "[profile a b]\nregion = no\n"
	                   "[services local]\nec2 =\n  endpoint_url = http://127.0.0.1:9\n";
	struct err e;
	char *out = NULL;

	CHECK_INT(
	    profile_lookup(conf, strlen(conf), PROFILE_CONFIG, "default", "region", NULL, &out, &e),
	    0);
	CHECK_STR(out, "d");
	free(out);
	CHECK_INT(
	    profile_lookup(conf, strlen(conf), PROFILE_CONFIG, "dev", "region", NULL, &out, &e), 0);
	CHECK_STR(out, "r1");
	free(out);
	CHECK_INT(
	    profile_lookup(conf, strlen(conf), PROFILE_CONFIG, "qa team", "region", NULL, &out, &e),
	    0);
	CHECK_STR(out, "r2");
	free(out);
	CHECK_INT(profile_lookup(conf, strlen(conf), PROFILE_CONFIG, "x", "region", NULL, &out, &e),
	          ERR_NOT_FOUND);
	CHECK_STR(e.message, "no section [profile x]");
	CHECK_INT(
	    profile_lookup(conf, strlen(conf), PROFILE_CONFIG, "prod", "region", NULL, &out, &e),
	    ERR_NOT_FOUND);
	CHECK_INT(profile_lookup(conf, strlen(conf), PROFILE_CONFIG, "a", "region", NULL, &out, &e),
	          ERR_NOT_FOUND);
	CHECK_INT(
	    profile_lookup(conf, strlen(conf), PROFILE_CONFIG, "dev", "output", NULL, &out, &e),
	    ERR_NOT_FOUND);
	CHECK_STR(e.message, "no output in [profile dev]");
	CHECK_INT(profile_lookup(conf, strlen(conf), PROFILE_SERVICES, "local", "ec2",
	                         "endpoint_url", &out, &e),
	          0);
	CHECK_STR(out, "http://127.0.0.1:9");
	free(out);
	/* a credentials file names profiles without "profile " */
	CHECK_INT(
	    profile_lookup(conf, strlen(conf), PROFILE_SECTION, "dev", "region", NULL, &out, &e),
	    ERR_NOT_FOUND);
	CHECK_STR(e.message, "no section [dev]");
	CHECK_INT(
	    profile_lookup(conf, strlen(conf), PROFILE_SECTION, "prod", "region", NULL, &out, &e),
	    0);
	free(out);
}

TEST_CASE(profile_default_also_names_default)
{
	const char *conf = "[profile default]\nregion = pd\n";

	CHECK_INT(profile_section_is("profile default", PROFILE_CONFIG, "default"), 1);
	CHECK_INT(profile_section_is("default", PROFILE_CONFIG, "default"), 1);
	CHECK_INT(profile_section_is("default", PROFILE_CONFIG, "dev"), 0);
	CHECK_INT(profile_section_is("profile 'x'", PROFILE_CONFIG, "x"), 1);
	CHECK_INT(profile_section_is("profile \"x", PROFILE_CONFIG, "x"), 0);
	CHECK_INT(profile_section_is("profile", PROFILE_CONFIG, ""), 0);
	CHECK_INT(profile_section_is("services\tlocal", PROFILE_SERVICES, "local"), 1);
	CHECK_INT(profile_has_section(conf, strlen(conf), PROFILE_CONFIG, "default", NULL), 1);
	CHECK_INT(profile_has_section(conf, strlen(conf), PROFILE_CONFIG, "dev", NULL), 0);
	CHECK_INT(profile_has_section("[a]\n", 4, PROFILE_SECTION, "a", NULL), 1);
	CHECK_INT(profile_has_section("x\n", 2, PROFILE_SECTION, "a", NULL), ERR_PARSE);
}

static char tmpdir[] = "/tmp/ebssh-profile-XXXXXX";

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

TEST_CASE(read_file_bounds_and_errors)
{
	char path[256], *text = NULL;
	size_t len = 99;
	struct err e;
	FILE *f;

	snprintf(path, sizeof(path), "%s/config", tmpdir);
	write_file(path, "[default]\nregion = x\n");
	CHECK_INT(profile_read_file(path, &text, &len, &e), 0);
	CHECK_STR(text, "[default]\nregion = x\n");
	CHECK_INT(len, 21);
	free(text);

	snprintf(path, sizeof(path), "%s/empty", tmpdir);
	write_file(path, "");
	CHECK_INT(profile_read_file(path, &text, &len, &e), 0);
	CHECK_STR(text, "");
	CHECK_INT(len, 0);
	free(text);

	snprintf(path, sizeof(path), "%s/missing", tmpdir);
	CHECK_INT(profile_read_file(path, &text, &len, &e), ERR_NOT_FOUND);
	CHECK(text == NULL);
	CHECK(strstr(e.message, "does not exist") != NULL);

	CHECK_INT(profile_read_file(tmpdir, &text, &len, &e), ERR_IO);
	CHECK(strstr(e.message, "is not a regular file") != NULL);

	/* AWS_CONFIG_FILE=/dev/null reads as an empty file, as the AWS CLI has it */
	len = 99;
	CHECK_INT(profile_read_file("/dev/null", &text, &len, &e), 0);
	CHECK_STR(text, "");
	CHECK_INT(len, 0);
	free(text);
	text = NULL;

	snprintf(path, sizeof(path), "%s/big", tmpdir);
	f = fopen(path, "w");
	if (f) {
		for (unsigned i = 0; i <= PROFILE_MAX_FILE; i++)
			fputc(i % 64 == 63 ? '\n' : '#', f);
		fclose(f);
	}
	CHECK_INT(profile_read_file(path, &text, &len, &e), ERR_TOO_LARGE);
	CHECK(text == NULL);
	CHECK(strstr(e.message, "is larger than 1048576 bytes") != NULL);
}

TEST_CASE(paths_from_environment_and_home)
{
	char *p = NULL;
	char *home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;

	setenv("HOME", "/home/tester", 1);
	unsetenv("AWS_CONFIG_FILE");
	unsetenv("AWS_SHARED_CREDENTIALS_FILE");
	CHECK_INT(profile_config_path(&p, NULL), 0);
	CHECK_STR(p, "/home/tester/.aws/config");
	free(p);
	CHECK_INT(profile_credentials_path(&p, NULL), 0);
	CHECK_STR(p, "/home/tester/.aws/credentials");
	free(p);
	setenv("AWS_CONFIG_FILE", "/etc/aws.conf", 1);
	CHECK_INT(profile_config_path(&p, NULL), 0);
	CHECK_STR(p, "/etc/aws.conf");
	free(p);
	setenv("AWS_SHARED_CREDENTIALS_FILE", "~/creds", 1);
	CHECK_INT(profile_credentials_path(&p, NULL), 0);
	CHECK_STR(p, "/home/tester/creds");
	free(p);
	setenv("AWS_CONFIG_FILE", "", 1);
	CHECK_INT(profile_config_path(&p, NULL), 0);
	CHECK_STR(p, "/home/tester/.aws/config");
	free(p);
	unsetenv("HOME");
	CHECK_INT(profile_config_path(&p, NULL), 0); /* the passwd entry's home */
	CHECK(p != NULL && strstr(p, "/.aws/config") != NULL);
	free(p);
	unsetenv("AWS_CONFIG_FILE");
	unsetenv("AWS_SHARED_CREDENTIALS_FILE");
	if (home) {
		setenv("HOME", home, 1);
		free(home);
	}
}

TEST_CASE(profile_name_defaults)
{
	unsetenv("AWS_PROFILE");
	CHECK_STR(profile_name(), "default");
	setenv("AWS_PROFILE", "", 1);
	CHECK_STR(profile_name(), "default");
	setenv("AWS_PROFILE", "dev", 1);
	CHECK_STR(profile_name(), "dev");
	unsetenv("AWS_PROFILE");
}

int main(void)
{
	char cmd[64];

	if (!mkdtemp(tmpdir))
		return 1;
	RUN(sections_keys_and_values_in_order);
	RUN(comments_blank_lines_and_no_inline_comments);
	RUN(keys_are_case_insensitive_sections_are_not);
	RUN(line_endings_bom_and_missing_final_newline);
	RUN(text_need_not_be_terminated);
	RUN(continuation_lines_join_with_newlines);
	RUN(indentation_is_relative_to_the_key);
	RUN(nested_sub_sections_are_kept_apart);
	RUN(empty_value_without_continuation_is_a_value);
	RUN(last_value_wins_and_sections_merge);
	RUN(section_header_forms);
	RUN(parse_errors_name_the_line);
	RUN(continuation_comment_does_not_hide_an_error_before_a_section);
	RUN(a_visitor_can_stop_the_parse);
	RUN(config_and_credentials_section_names);
	RUN(profile_default_also_names_default);
	RUN(read_file_bounds_and_errors);
	RUN(paths_from_environment_and_home);
	RUN(profile_name_defaults);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", tmpdir);
	return TEST_DONE();
}
