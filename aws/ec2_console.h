/*
 * ec2_console: EC2's GetConsoleOutput, its XML answer parsed by expat and
 * its base64 console decoded.
 *
 *   <GetConsoleOutputResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
 *     <requestId>..</requestId><instanceId>i-..</instanceId>
 *     <timestamp>2024-05-01T09:31:02.000Z</timestamp>
 *     <output>BASE64, possibly wrapped</output>
 *   </GetConsoleOutputResponse>
 *
 * EC2 keeps the last 64 KiB of an instance's serial console. By default it
 * answers a snapshot posted shortly after the last state change (start,
 * reboot), which can take minutes to appear after a boot; with Latest=true
 * it reads the console as it is now, which only Nitro instances can (others
 * answer a 400 error: ec2_console_latest_unsupported). An instance with no
 * output yet has no <output> (or an empty one). The console's bytes are
 * returned as they are: untrusted, any bytes, NULs included.
 */
#ifndef EBSSH_AWS_EC2_CONSOLE_H
#define EBSSH_AWS_EC2_CONSOLE_H

#include <stddef.h>

#include "../util/err.h"

#define EC2_CONSOLE_OUTPUT_MAX ((size_t)1 << 20) /* decoded bytes; EC2 sends at most 64 KiB */
#define EC2_CONSOLE_TEXT_MAX   ((size_t)2 << 20) /* characters of <output> (base64, wrapped) */

struct aws_client;

struct ec2_console {
	char *instance_id;     /* owned; as EC2 echoed it; NULL when absent */
	char *timestamp;       /* owned; NULL when absent */
	unsigned char *output; /* owned; the decoded console plus a NUL; NULL when none */
	size_t output_len;
};

/* Frees what c owns and zeroes it. */
void ec2_console_free(struct ec2_console *c);

/*
 * Parses one GetConsoleOutput answer into *out (zeroed on entry). ERR_PARSE
 * for malformed or truncated XML, another root element, a DOCTYPE or an
 * entity declaration, or an <output> that is not base64; ERR_TOO_LARGE
 * past the bounds above. On failure *out is left zeroed.
 */
int ec2_parse_console_output(const char *xml, size_t len, struct ec2_console *out, struct err *e);

/* 1 when instance_id looks like an EC2 instance id ("i-" and 8 or 17 hex digits). */
int ec2_console_valid_instance_id(const char *instance_id);

/*
 * GetConsoleOutput of one instance, with Latest=true when latest. *out
 * zeroed on entry, filled on success (caller frees). ERR_INVALID for a
 * malformed instance id (no call is made); other errors as aws_client_call
 * gives them.
 */
int ec2_get_console_output(struct aws_client *c, const char *instance_id, int latest,
                           struct ec2_console *out, struct err *e);

/* 1 when e, the failure of a Latest=true call, means "this instance cannot
 * give its latest output" (an AWS 400 error other than InvalidInstanceID.*):
 * the caller may ask again without Latest. */
int ec2_console_latest_unsupported(const struct err *e);

#endif
