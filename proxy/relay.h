/*
 * relay: the byte pump between ssh (our stdin and stdout) and the instance
 * (a connected socket), in the manner of OpenBSD nc.
 *
 * Two directions, each on its own: "up" copies in_fd to the socket, "down"
 * copies the socket to out_fd. One poll(2) loop waits on whatever each
 * direction is blocked on and nothing else, so the relay never spins. The
 * relay ends when both directions have ended:
 *   - up ends at EOF on in_fd: the socket's write side is shut down
 *     (shutdown SHUT_WR), and the down direction goes on;
 *   - down ends at EOF from the socket: out_fd is closed (a socket out_fd is
 *     shut down for writing instead), so its reader sees the end too.
 * EAGAIN and EINTR mean "poll again". SIGPIPE is ignored by relay_run (a
 * relay must see EPIPE, not die): EPIPE from out_fd (ssh went away) ends the
 * down direction quietly, EPIPE or a reset on the socket after the down
 * direction ended ends the up direction quietly; any other failure ends the
 * relay with an error.
 *
 * How bytes move, per direction, chosen from the kinds of its two fds:
 *   - a pipe and the socket (ssh's ProxyCommand pipes): splice(2) straight
 *     from one to the other, the pipe enlarged with F_SETPIPE_SZ
 *     (RELAY_PIPE_SIZE, best effort): no copy through user space;
 *   - sockets or regular files at both ends: splice(2) through a private
 *     pipe of RELAY_PIPE_SIZE (a socket destination must be non-blocking,
 *     as splice into a blocking socket would block the relay);
 *   - anything else (a terminal, /dev/null): read(2)/write(2) through a
 *     RELAY_BUF_SIZE buffer. Also used when opts->no_splice is set, and
 *     when the kernel refuses splice for a pair of fds (EINVAL).
 * in_fd and out_fd keep their blocking mode (they may be shared with a
 * terminal); the socket must be non-blocking (connect_tcp leaves it so).
 */
#ifndef EBSSH_PROXY_RELAY_H
#define EBSSH_PROXY_RELAY_H

#include <stddef.h>

#include "../util/err.h"

#define RELAY_PIPE_SIZE ((size_t)1024 * 1024)
#define RELAY_BUF_SIZE  ((size_t)256 * 1024)

struct relay_opts {
	int no_splice;    /* read/write only */
	size_t pipe_size; /* 0: RELAY_PIPE_SIZE */
};

struct relay_stats {
	unsigned long long up;   /* bytes from in_fd to the socket */
	unsigned long long down; /* bytes from the socket to out_fd */
	const char *up_mode;     /* "splice", "splice via pipe" or "read/write" */
	const char *down_mode;
};

/*
 * Relays until both directions end (see above). opts and stats may be NULL.
 * Takes over out_fd: it is closed when the down direction ends (a socket is
 * shut down for writing first), or at the latest before relay_run returns;
 * only when out_fd == in_fd (one socket both ways) is it merely shut down.
 * in_fd and sock stay open. 0, or ERR_NETWORK / ERR_IO / ERR_NOMEM with the
 * failing direction and its cause in err.
 */
/*
 * The set-up every relay shares (relay_run and jump_relay call it first):
 * SIGPIPE ignored when its disposition is the default, so that a write to
 * a reader that went away fails with EPIPE, which the relay handles,
 * instead of killing the process before it can close its end.
 */
void relay_ignore_sigpipe(void);

int relay_run(int in_fd, int out_fd, int sock, const struct relay_opts *opts,
              struct relay_stats *stats, struct err *e);

#endif
