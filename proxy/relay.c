/* relay: stdin/stdout <-> socket, nc-style, splice where possible; see relay.h. */
#include "relay.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

enum mode {
	MODE_SPLICE,      /* splice src -> dst, one of them a pipe */
	MODE_SPLICE_PIPE, /* splice src -> own pipe -> dst */
	MODE_COPY         /* read/write through buf */
};

enum kind { KIND_OTHER, KIND_PIPE, KIND_SOCKET, KIND_FILE };

struct dir {
	const char *name; /* for messages */
	int src, dst;
	enum kind src_kind, dst_kind;
	enum mode mode;
	int is_up;
	int done;
	/* MODE_SPLICE: which side the last splice was blocked on */
	int wait_dst;
	/* MODE_SPLICE_PIPE and MODE_COPY: bytes held between src and dst */
	size_t pending, cap;
	int src_eof;
	int pipe_full; /* the pipe refused more although pending < cap */
	int pipe[2];
	char *buf;
	size_t off;
	size_t chunk; /* bytes asked per splice */
	unsigned long long bytes;
	/* poll slots of this round, -1 when not polled */
	int slot_src, slot_dst;
};

struct relay {
	struct dir up, down;
	int in_fd, out_fd, sock;
	int out_open;
	struct err *e;
};

static enum kind kind_of(int fd)
{
	struct stat st;

	if (fstat(fd, &st) != 0)
		return KIND_OTHER;
	if (S_ISFIFO(st.st_mode))
		return KIND_PIPE;
	if (S_ISSOCK(st.st_mode))
		return KIND_SOCKET;
	if (S_ISREG(st.st_mode))
		return KIND_FILE;
	return KIND_OTHER;
}

static int is_nonblocking(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl >= 0 && (fl & O_NONBLOCK);
}

static const char *mode_name(enum mode m)
{
	switch (m) {
	case MODE_SPLICE:
		return "splice";
	case MODE_SPLICE_PIPE:
		return "splice via pipe";
	default:
		return "read/write";
	}
}

/* Enlarges a pipe (best effort); returns its size. */
static size_t grow_pipe(int fd, size_t want)
{
	int got;

	if (want > INT_MAX)
		want = INT_MAX;
	got = fcntl(fd, F_SETPIPE_SZ, (int)want);
	if (got < 0)
		got = fcntl(fd, F_GETPIPE_SZ);
	return got > 0 ? (size_t)got : 65536;
}

static void use_copy(struct dir *d)
{
	d->mode = MODE_COPY;
	d->cap = RELAY_BUF_SIZE;
}

static int dir_setup(struct dir *d, const struct relay_opts *opts, struct err *e)
{
	size_t psize = opts && opts->pipe_size ? opts->pipe_size : RELAY_PIPE_SIZE;
	/* splice(2) into a socket blocks unless the socket itself is
	 * non-blocking (SPLICE_F_NONBLOCK only covers the pipe side). */
	int may_splice = !(opts && opts->no_splice);
	int src_ok = d->src_kind == KIND_SOCKET || d->src_kind == KIND_FILE;
	int dst_ok =
	    (d->dst_kind == KIND_SOCKET && is_nonblocking(d->dst)) || d->dst_kind == KIND_FILE;
	int direct = (d->src_kind == KIND_PIPE && dst_ok && d->dst_kind == KIND_SOCKET) ||
	             (d->dst_kind == KIND_PIPE && d->src_kind == KIND_SOCKET);

	d->pipe[0] = d->pipe[1] = -1;
	if (may_splice && direct) {
		d->mode = MODE_SPLICE;
		d->chunk = 0;
		if (d->src_kind == KIND_PIPE)
			d->chunk = grow_pipe(d->src, psize);
		if (d->dst_kind == KIND_PIPE) {
			size_t c = grow_pipe(d->dst, psize);

			if (c > d->chunk)
				d->chunk = c;
		}
	} else if (may_splice && src_ok && dst_ok) {
		d->mode = MODE_SPLICE_PIPE;
		if (pipe2(d->pipe, O_NONBLOCK | O_CLOEXEC) != 0)
			return err_set(e, ERR_IO, "pipe: %s", strerror(errno));
		d->cap = grow_pipe(d->pipe[1], psize);
		d->chunk = d->cap;
	} else {
		use_copy(d);
	}
	if (d->mode == MODE_COPY) {
		d->buf = malloc(d->cap);
		if (!d->buf)
			return err_set(e, ERR_NOMEM, "out of memory");
	}
	return 0;
}

static void dir_release(struct dir *d)
{
	if (d->pipe[0] >= 0)
		close(d->pipe[0]);
	if (d->pipe[1] >= 0)
		close(d->pipe[1]);
	d->pipe[0] = d->pipe[1] = -1;
	free(d->buf);
	d->buf = NULL;
}

/* The direction has ended: tell the far side. */
static void dir_finish(struct relay *r, struct dir *d)
{
	if (d->done)
		return;
	d->done = 1;
	dir_release(d);
	if (d->is_up) {
		(void)shutdown(r->sock, SHUT_WR);
	} else if (r->out_open) {
		if (r->down.dst_kind == KIND_SOCKET)
			(void)shutdown(r->out_fd, SHUT_WR);
		if (r->out_fd != r->in_fd) {
			close(r->out_fd);
			r->out_open = 0;
		}
	}
}

/* An error from writing d->dst: a quiet end, or the relay's error. */
static int dst_error(struct relay *r, struct dir *d, int err)
{
	if (err == EPIPE && !d->is_up) {
		dir_finish(r, d); /* ssh stopped reading: nobody left to tell */
		return 0;
	}
	if ((err == EPIPE || err == ECONNRESET) && d->is_up && r->down.done) {
		dir_finish(r, d); /* the instance closed both ways */
		return 0;
	}
	return err_set(r->e, err == ECONNRESET || err == EPIPE ? ERR_NETWORK : ERR_IO, "%s: %s",
	               d->name, strerror(err));
}

static int src_error(struct relay *r, struct dir *d, int err)
{
	return err_set(r->e, err == ECONNRESET || err == ETIMEDOUT ? ERR_NETWORK : ERR_IO, "%s: %s",
	               d->name, strerror(err));
}

/* MODE_SPLICE: one splice(2) straight from src to dst per call. */
static int step_splice(struct relay *r, struct dir *d)
{
	int moved = 0, rounds;
	ssize_t n;

	for (rounds = 0; rounds < 64; rounds++) {
		n = splice(d->src, NULL, d->dst, NULL, d->chunk, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
		if (n > 0) {
			d->bytes += (unsigned long long)n;
			moved = 1;
			continue;
		}
		if (n == 0) {
			dir_finish(r, d);
			return 0;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN) {
			/* Nothing moved: blocked on the side we were not waiting
			 * for. Something moved: most likely src ran dry; if dst
			 * is full instead, the next round finds out at no cost. */
			d->wait_dst = moved ? 0 : !d->wait_dst;
			return 0;
		}
		if (errno == EINVAL && !moved && d->bytes == 0) {
			use_copy(d); /* the kernel will not splice these two */
			d->buf = malloc(d->cap);
			return d->buf ? 0 : err_set(r->e, ERR_NOMEM, "out of memory");
		}
		/* splice does not say which side failed; a socket source
		 * reports its own errors, anything else is the destination's. */
		if (d->src_kind == KIND_SOCKET && (errno == ECONNRESET || errno == ETIMEDOUT))
			return src_error(r, d, errno);
		return dst_error(r, d, errno);
	}
	d->wait_dst = 0;
	return 0;
}

static ssize_t fill_once(struct dir *d)
{
	size_t room;

	if (d->mode == MODE_SPLICE_PIPE)
		return splice(d->src, NULL, d->pipe[1], NULL, d->cap - d->pending,
		              SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
	if (d->pending == 0)
		d->off = 0;
	else if (d->off + d->pending == d->cap) {
		memmove(d->buf, d->buf + d->off, d->pending);
		d->off = 0;
	}
	room = d->cap - d->off - d->pending;
	if (d->src_kind == KIND_SOCKET)
		return recv(d->src, d->buf + d->off + d->pending, room, MSG_DONTWAIT);
	return read(d->src, d->buf + d->off + d->pending, room);
}

static ssize_t drain_once(struct dir *d)
{
	size_t n = d->pending;

	if (d->mode == MODE_SPLICE_PIPE)
		return splice(d->pipe[0], NULL, d->dst, NULL, n, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
	if (d->dst_kind == KIND_SOCKET)
		return send(d->dst, d->buf + d->off, n, MSG_DONTWAIT | MSG_NOSIGNAL);
	/* A blocking pipe takes PIPE_BUF bytes without blocking once poll said
	 * POLLOUT; a terminal or a file may block briefly, which is fine. */
	if (d->dst_kind == KIND_PIPE && n > PIPE_BUF)
		n = PIPE_BUF;
	return write(d->dst, d->buf + d->off, n);
}

/* MODE_SPLICE_PIPE and MODE_COPY: fill when src is ready, drain when dst is. */
static int step_buffered(struct relay *r, struct dir *d, int src_ready, int dst_ready)
{
	ssize_t n;

	if (src_ready && !d->src_eof && d->pending < d->cap) {
		do
			n = fill_once(d);
		while (n < 0 && errno == EINTR);
		if (n > 0) {
			d->pending += (size_t)n;
			/* A socket or a private pipe never blocks: try to pass
			 * the bytes on at once instead of polling first. */
			if (d->dst_kind == KIND_SOCKET || d->mode == MODE_SPLICE_PIPE)
				dst_ready = 1;
		} else if (n == 0) {
			d->src_eof = 1;
		} else if (errno == EAGAIN) {
			if (d->mode == MODE_SPLICE_PIPE && d->pending > 0)
				d->pipe_full = 1;
		} else if (errno == EINVAL && d->mode == MODE_SPLICE_PIPE && d->bytes == 0 &&
		           d->pending == 0) {
			dir_release(d);
			use_copy(d);
			d->buf = malloc(d->cap);
			return d->buf ? 0 : err_set(r->e, ERR_NOMEM, "out of memory");
		} else {
			return src_error(r, d, errno);
		}
	}
	while (dst_ready && d->pending > 0) {
		n = drain_once(d);
		if (n > 0) {
			d->pending -= (size_t)n;
			d->off += (size_t)n;
			d->bytes += (unsigned long long)n;
			d->pipe_full = 0;
			if (d->mode == MODE_COPY && d->dst_kind != KIND_SOCKET)
				break; /* one write per poll for fds that may block */
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		return dst_error(r, d, n < 0 ? errno : EIO);
	}
	if (d->src_eof && d->pending == 0)
		dir_finish(r, d);
	return 0;
}

static void dir_poll_slots(struct dir *d, struct pollfd *fds, int *n)
{
	d->slot_src = d->slot_dst = -1;
	if (d->done)
		return;
	if (d->mode == MODE_SPLICE) {
		if (d->wait_dst) {
			d->slot_dst = *n;
			fds[(*n)++] = (struct pollfd){.fd = d->dst, .events = POLLOUT};
		} else {
			d->slot_src = *n;
			fds[(*n)++] = (struct pollfd){.fd = d->src, .events = POLLIN};
		}
		return;
	}
	if (!d->src_eof && d->pending < d->cap && !d->pipe_full) {
		d->slot_src = *n;
		fds[(*n)++] = (struct pollfd){.fd = d->src, .events = POLLIN};
	}
	if (d->pending > 0) {
		d->slot_dst = *n;
		fds[(*n)++] = (struct pollfd){.fd = d->dst, .events = POLLOUT};
	}
}

static int dir_step(struct relay *r, struct dir *d, const struct pollfd *fds)
{
	int src_ready = d->slot_src >= 0 && fds[d->slot_src].revents;
	int dst_ready = d->slot_dst >= 0 && fds[d->slot_dst].revents;

	if (d->done || (!src_ready && !dst_ready))
		return 0;
	if (d->mode == MODE_SPLICE)
		return step_splice(r, d);
	return step_buffered(r, d, src_ready, dst_ready);
}

void relay_ignore_sigpipe(void)
{
	struct sigaction sa;

	if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_IGN;
		sigemptyset(&sa.sa_mask);
		(void)sigaction(SIGPIPE, &sa, NULL);
	}
}

int relay_run(int in_fd, int out_fd, int sock, const struct relay_opts *opts,
              struct relay_stats *stats, struct err *e)
{
	struct relay r;
	struct pollfd fds[4];
	int n, rc = 0;

	memset(&r, 0, sizeof(r));
	r.in_fd = in_fd;
	r.out_fd = out_fd;
	r.out_open = 1;
	r.sock = sock;
	r.e = e;
	r.up = (struct dir){.name = "stdin to network",
	                    .src = in_fd,
	                    .dst = sock,
	                    .is_up = 1,
	                    .src_kind = kind_of(in_fd),
	                    .dst_kind = KIND_SOCKET,
	                    .pipe = {-1, -1}};
	r.down = (struct dir){.name = "network to stdout",
	                      .src = sock,
	                      .dst = out_fd,
	                      .src_kind = KIND_SOCKET,
	                      .dst_kind = kind_of(out_fd),
	                      .pipe = {-1, -1}};
	relay_ignore_sigpipe();
	rc = dir_setup(&r.up, opts, e);
	if (!rc)
		rc = dir_setup(&r.down, opts, e);
	if (stats) {
		stats->up_mode = mode_name(r.up.mode);
		stats->down_mode = mode_name(r.down.mode);
	}
	while (!rc && !(r.up.done && r.down.done)) {
		n = 0;
		dir_poll_slots(&r.up, fds, &n);
		dir_poll_slots(&r.down, fds, &n);
		if (poll(fds, (nfds_t)n, -1) < 0) {
			if (errno == EINTR)
				continue;
			rc = err_set(e, ERR_IO, "poll: %s", strerror(errno));
			break;
		}
		rc = dir_step(&r, &r.up, fds);
		if (!rc)
			rc = dir_step(&r, &r.down, fds);
	}
	if (stats) {
		stats->up = r.up.bytes;
		stats->down = r.down.bytes;
		stats->up_mode = mode_name(r.up.mode);
		stats->down_mode = mode_name(r.down.mode);
	}
	dir_release(&r.up);
	dir_release(&r.down);
	if (r.out_open && out_fd != in_fd)
		close(out_fd);
	return rc;
}
