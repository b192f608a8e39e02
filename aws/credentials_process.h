/*
 * credentials_process: a profile's credential_process, as botocore's
 * ProcessProvider runs it: the command line split as Python's shlex.split
 * (POSIX rules: blanks separate words, '...' is literal, "..." keeps a
 * backslash unless before '"' or '\', a backslash outside quotes escapes
 * any byte), run without a shell (execvp's PATH search), stdin /dev/null
 * (ebssh-proxy's stdin is the ssh connection), stdout and stderr read to
 * EOF (64 KiB each at most). Exit 0 and the JSON Version 1 format
 * ({"Version": 1, "AccessKeyId", "SecretAccessKey", optional "SessionToken"
 * and "Expiration"}); a non-zero exit is an error carrying the first line
 * of its stderr. Internal to aws/credentials*.c.
 */
#ifndef EBSSH_AWS_CREDENTIALS_PROCESS_H
#define EBSSH_AWS_CREDENTIALS_PROCESS_H

#include <stddef.h>

#include "../util/err.h"
#include "credentials.h"

/* shlex.split(s): a NULL-terminated malloc'd array of malloc'd words;
 * free with credentials_argv_free. ERR_PARSE ("No closing quotation", "No
 * escaped character", no words), ERR_NOMEM. */
int credentials_shell_split(const char *s, char ***argv, struct err *e);
void credentials_argv_free(char **argv);

/* Parses the process's stdout. ERR_PARSE with botocore's reasons, ERR_NOMEM. */
int credentials_process_parse(const char *body, size_t len, struct aws_credentials *out,
                              struct err *e);

/* Runs command for profile. ERR_CREDENTIALS naming the profile, ERR_NOMEM. */
int credentials_process_run(const char *profile, const char *command, struct aws_credentials *out,
                            struct err *e);

#endif
