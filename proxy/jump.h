/*
 * jump: reach the instance through an SSH bastion, in this one process
 * (ebssh-proxy --jump [user@]host[:port]), instead of `ssh -W` in a second.
 *
 * In the order OpenSSH follows: connect to the bastion (connect_tcp_name),
 * SSH handshake (libssh2), check the bastion's host key against
 * ~/.ssh/known_hosts and /etc/ssh/ssh_known_hosts (hashed entries and
 * [host]:port entries included; the host key algorithms already known for
 * the bastion are asked for first, as OpenSSH does), authenticate with the
 * keys of ssh-agent ($SSH_AUTH_SOCK) and then the identity file if one was
 * given, and open a direct-tcpip channel to the instance. An unknown or a
 * changed host key is refused, with the key's SHA256 fingerprint; nothing is
 * ever added to known_hosts. Identity files must not need a passphrase (use
 * the agent for those).
 *
 * jump_relay then pumps stdin to the channel and the channel to stdout,
 * non-blocking, waiting in poll(2) on what libssh2_session_block_directions
 * names and on stdin/stdout, never spinning; stdin EOF sends the channel's
 * EOF and the relay goes on reading, as relay.c does for a socket.
 */
#ifndef EBSSH_PROXY_JUMP_H
#define EBSSH_PROXY_JUMP_H

#include "../util/err.h"
#include "relay.h"

#define JUMP_USER_MAX 64
#define JUMP_HOST_MAX 255

struct jump_spec {
	char user[JUMP_USER_MAX + 1]; /* "" when not given: the local user */
	char host[JUMP_HOST_MAX + 1]; /* a name or an IP literal, without brackets */
	unsigned port;                /* 22 when not given */
};

struct jump_opts {
	const struct jump_spec *spec;
	const char *identity;          /* a private key file, or NULL for the agent only */
	const char *known_hosts;       /* NULL: ~/.ssh/known_hosts (and the system's file) */
	long timeout_ms;               /* for the connect, and for each step before the relay */
	void (*log)(const char *line); /* one line per step, or NULL */
};

struct jump;

/* Parses "[user@]host[:port]" ("[v6]:port" for IPv6) into out. */
int jump_parse_spec(const char *s, struct jump_spec *out, struct err *e);

/*
 * Connects to the bastion and opens a channel to ip:port, as above. Returns
 * a new jump in *out (free with jump_close), or ERR_NETWORK / ERR_TIMEOUT
 * (connect or channel), ERR_CREDENTIALS (host key refused, no key
 * accepted), ERR_NOMEM, with the bastion and the cause in err.
 */
int jump_open(const struct jump_opts *o, const char *ip, unsigned port, struct jump **out,
              struct err *e);

/*
 * Relays in_fd to the channel and the channel to out_fd until both
 * directions end (see relay.h for the half-close rules). out_fd is closed
 * when the channel ends, as relay_run does; SIGPIPE is ignored as
 * relay_run ignores it (relay_ignore_sigpipe), so ssh going away first
 * ends the down direction and the channel still gets its EOF and close.
 * stats may be NULL.
 */
int jump_relay(struct jump *j, int in_fd, int out_fd, struct relay_stats *stats, struct err *e);

/* Closes the channel, the session and the socket; j may be NULL. */
void jump_close(struct jump *j);

#endif
