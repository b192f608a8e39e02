/* credentials_process: a profile's credential_process; see credentials_process.h. */
#include "credentials_process.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../util/buf.h"
#include "credentials_remote.h"

#define OUTPUT_MAX ((size_t)64 << 10)

extern char **environ;

void credentials_argv_free(char **argv)
{
	if (!argv)
		return;
	for (char **a = argv; *a; a++)
		free(*a);
	free(argv);
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Appends word to the array. */
static int push(char ***argv, size_t *n, struct buf *word)
{
	char **grown = realloc(*argv, (*n + 2) * sizeof(**argv));
	char *w;

	if (!grown)
		return ERR_NOMEM;
	*argv = grown;
	w = word->data ? buf_take(word) : strdup("");
	buf_free(word);
	if (!w)
		return ERR_NOMEM;
	grown[(*n)++] = w;
	grown[*n] = NULL;
	return 0;
}

int credentials_shell_split(const char *s, char ***argv, struct err *e)
{
	struct buf word;
	size_t n = 0;
	char state = ' ', escaped = 0; /* ' ' between words, 'a' in one, '\'' '"' quoted, '\\' */
	int have = 0, rc = 0;

	*argv = calloc(1, sizeof(**argv));
	if (!*argv)
		return err_set(e, ERR_NOMEM, "out of memory");
	buf_init(&word, 0);
	for (const char *p = s;; p++) {
		char c = *p;

		if (state == '\\') {
			if (!c) {
				rc = err_set(e, ERR_PARSE, "No escaped character");
				break;
			}
			if (escaped == '"' && c != '"' && c != '\\')
				rc = buf_append(&word, "\\", 1);
			if (!rc)
				rc = buf_append(&word, &c, 1);
			state = escaped;
		} else if (state == '\'' || state == '"') {
			if (!c) {
				rc = err_set(e, ERR_PARSE, "No closing quotation");
				break;
			}
			if (c == state) {
				state = 'a';
			} else if (c == '\\' && state == '"') {
				escaped = state;
				state = '\\';
			} else {
				rc = buf_append(&word, &c, 1);
			}
		} else if (!c || is_blank(c)) {
			if (state == 'a' && have)
				rc = push(argv, &n, &word);
			have = 0;
			state = ' ';
			if (!c)
				break;
		} else {
			have = 1;
			if (c == '\'' || c == '"') {
				state = c;
			} else if (c == '\\') {
				escaped = 'a';
				state = '\\';
			} else {
				state = 'a';
				rc = buf_append(&word, &c, 1);
			}
		}
		if (rc)
			break;
	}
	if (!rc && n == 0)
		rc = err_set(e, ERR_PARSE, "an empty command");
	if (rc == ERR_NOMEM || rc == ERR_TOO_LARGE)
		rc = err_set(e, ERR_NOMEM, "out of memory");
	buf_free(&word);
	if (rc) {
		credentials_argv_free(*argv);
		*argv = NULL;
	}
	return rc;
}

int credentials_process_parse(const char *body, size_t len, struct aws_credentials *out,
                              struct err *e)
{
	json_t *root = json_loadb(body, len, 0, NULL);
	json_t *version = json_object_get(root, "Version");
	const char *id = credentials_json_str(root, "AccessKeyId");
	const char *secret = credentials_json_str(root, "SecretAccessKey");
	const char *token = credentials_json_str(root, "SessionToken");
	json_t *exp = json_object_get(root, "Expiration");
	time_t t = 0;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(root)) {
		rc = err_set(e, ERR_PARSE, "its output is not a JSON object");
		goto out;
	}
	if (!json_is_number(version) || json_number_value(version) != 1.0) {
		rc = err_set(e, ERR_PARSE,
		             "Unsupported version for credential process provider, supported "
		             "versions: 1");
		goto out;
	}
	if (!id || !*id || !secret || !*secret) {
		rc = err_set(e, ERR_PARSE, "Missing required key in response: '%s'",
		             !id || !*id ? "AccessKeyId" : "SecretAccessKey");
		goto out;
	}
	if (exp && !json_is_null(exp) &&
	    (!json_is_string(exp) || credentials_parse_time(json_string_value(exp), &t))) {
		rc = err_set(e, ERR_PARSE, "a bad Expiration (ISO 8601 expected)");
		goto out;
	}
	rc = credentials_set(out, id, secret, token, t, e);
out:
	credentials_json_wipe(root);
	json_decref(root);
	return rc;
}

/* Reads both pipes to EOF (each capped; the excess is drained and dropped). */
static int drain(int out_fd, int err_fd, struct buf *out, struct buf *err_text)
{
	struct pollfd pf[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
	struct buf *dst[2] = {out, err_text};
	char chunk[4096];

	while (pf[0].fd >= 0 || pf[1].fd >= 0) {
		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return ERR_IO;
		}
		for (int i = 0; i < 2; i++) {
			ssize_t n;

			if (pf[i].fd < 0 || !pf[i].revents)
				continue;
			n = read(pf[i].fd, chunk, sizeof(chunk));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				close(pf[i].fd);
				pf[i].fd = -1;
				continue;
			}
			if (dst[i]->len + (size_t)n <= OUTPUT_MAX &&
			    buf_append(dst[i], chunk, (size_t)n))
				return ERR_NOMEM;
		}
	}
	return 0;
}

int credentials_process_run(const char *profile, const char *command, struct aws_credentials *out,
                            struct err *e)
{
	posix_spawn_file_actions_t fa;
	char **argv = NULL, line[300];
	int po[2] = {-1, -1}, pe[2] = {-1, -1}, status = 0, rc;
	struct buf sout, serr;
	pid_t pid;

	memset(out, 0, sizeof(*out));
	buf_init(&sout, OUTPUT_MAX + 4096);
	buf_init(&serr, OUTPUT_MAX + 4096);
	rc = credentials_shell_split(command, &argv, e);
	if (!rc && (!argv || !argv[0])) {
		rc = ERR_PARSE;
		err_set(e, rc, "an empty command");
	}
	if (rc) {
		credentials_argv_free(argv);
		err_prefix(e, "profile %s: credential_process", profile);
		return rc == ERR_NOMEM ? rc : ERR_CREDENTIALS;
	}
	if (pipe2(po, O_CLOEXEC) || pipe2(pe, O_CLOEXEC)) {
		rc = err_set(e, ERR_CREDENTIALS, "profile %s: credential_process: pipe: %s",
		             profile, strerror(errno));
		goto out;
	}
	/* A path that cannot run is said as such: a posix_spawn that forks
	 * (valgrind's, some libcs') reports a failed exec only as status 127. */
	if (strchr(argv[0], '/') && access(argv[0], X_OK) != 0) {
		credentials_printable(line, sizeof(line), argv[0]);
		rc = err_set(e, ERR_CREDENTIALS, "profile %s: credential_process %s: %s", profile,
		             line, strerror(errno));
		goto out;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, po[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
	rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(po[1]);
	close(pe[1]);
	po[1] = pe[1] = -1;
	if (rc) {
		credentials_printable(line, sizeof(line), argv[0]);
		rc = err_set(e, ERR_CREDENTIALS, "profile %s: credential_process %s: %s", profile,
		             line, strerror(rc));
		goto out;
	}
	rc = drain(po[0], pe[0], &sout, &serr);
	po[0] = pe[0] = -1; /* drain closed them */
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (rc) {
		rc = err_set(e, rc == ERR_NOMEM ? rc : ERR_CREDENTIALS,
		             "profile %s: credential_process: reading its output failed", profile);
		goto out;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		const char *s = buf_str(&serr);
		size_t n = strcspn(s, "\r\n");
		char first[256];

		if (n >= sizeof(first))
			n = sizeof(first) - 1;
		memcpy(first, s, n);
		first[n] = '\0';
		credentials_printable(line, sizeof(line), first);
		if (WIFEXITED(status))
			rc = err_set(e, ERR_CREDENTIALS,
			             "profile %s: credential_process exited with status %d%s%s",
			             profile, WEXITSTATUS(status), *line ? ": " : "", line);
		else
			rc = err_set(e, ERR_CREDENTIALS,
			             "profile %s: credential_process was killed by signal %d%s%s",
			             profile, WTERMSIG(status), *line ? ": " : "", line);
		goto out;
	}
	rc = credentials_process_parse(sout.data ? sout.data : "", sout.len, out, e);
	if (rc) {
		err_prefix(e, "profile %s: credential_process", profile);
		rc = rc == ERR_NOMEM ? rc : ERR_CREDENTIALS;
	}
out:
	for (int i = 0; i < 2; i++) {
		if (po[i] >= 0)
			close(po[i]);
		if (pe[i] >= 0)
			close(pe[i]);
	}
	if (sout.data)
		OPENSSL_cleanse(sout.data, sout.cap);
	buf_free(&sout);
	buf_free(&serr);
	credentials_argv_free(argv);
	return rc;
}
