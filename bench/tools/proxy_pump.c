/*
 * proxy_pump: plays ssh's part in the relay benchmark (bench/proxy_relay.py).
 * Runs a ProxyCommand the way ssh does -- `/bin/sh -c "exec COMMAND"` with
 * its stdin and stdout on two fresh pipes -- and pushes bytes through it to
 * a proxy_endpoint port, with read(2) and write(2) as ssh does.
 *
 *   proxy_pump MODE BYTES -c COMMAND       through a ProxyCommand
 *   proxy_pump MODE BYTES -t ADDRESS PORT  straight to the endpoint (a ceiling)
 *
 * MODE is up (write BYTES), down (read BYTES) or both. The endpoint's
 * one-byte greeting marks the relay as ready; the clock starts then, so
 * process start, lookup and SSH handshakes are timed apart ("setup").
 * The clock stops at the endpoint's trailer byte, which it sends once it
 * has sent and received everything (not at EOF: socat, for one, passes EOF
 * on only when it exits, half a second later). Then, untimed, the
 * command's stdin is closed, its stdout read to EOF and it is waited for. One line on stdout,
 * key=value: setup (s), wall (s), sent, received (bytes), user and sys (the command's CPU seconds
 * with its waited-for children: wait4), self_user and self_sys (this program's own), status (the
 * command's exit status). Exit status 0 when the byte counts are right and the command exited 0.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHUNK ((size_t)1024 * 1024)

static void die(const char *what)
{
	fprintf(stderr, "proxy_pump: %s: %s\n", what, strerror(errno));
	exit(1);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double tv(struct timeval t)
{
	return (double)t.tv_sec + (double)t.tv_usec / 1e6;
}

static void nonblock(int fd)
{
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0)
		die("fcntl");
}

/* Starts `sh -c "exec CMD"` on two pipes; *wfd is its stdin, *rfd its stdout. */
static pid_t spawn(const char *cmd, int *wfd, int *rfd)
{
	int in[2], out[2];
	char *line;
	pid_t pid;

	if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0)
		die("pipe");
	if (asprintf(&line, "exec %s", cmd) < 0)
		die("asprintf");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0)
			_exit(127);
		execl("/bin/sh", "sh", "-c", line, (char *)NULL);
		_exit(127);
	}
	free(line);
	close(in[0]);
	close(out[1]);
	*wfd = in[1];
	*rfd = out[0];
	return pid;
}

static int dial(const char *addr, const char *port)
{
	struct sockaddr_in sa;
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short)atoi(port));
	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
		fprintf(stderr, "proxy_pump: not an IPv4 address: %s\n", addr);
		exit(2);
	}
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		die("connect");
	return fd;
}

int main(int argc, char **argv)
{
	unsigned long long bytes, to_send, to_recv, sent = 0, got = 0;
	double t_start, t_ready = 0, t_end;
	struct rusage ru, self;
	struct pollfd p[2];
	int wfd, rfd, status = 0, ready = 0, done = 0, eof = 0, trailer = 0, np;
	char *buf, *zeros, *end, last = 0;
	pid_t pid = -1;
	ssize_t n;

	if (argc < 5 || (strcmp(argv[3], "-c") == 0 ? argc != 5 : argc != 6) ||
	    (strcmp(argv[3], "-c") != 0 && strcmp(argv[3], "-t") != 0)) {
		fprintf(stderr, "usage: proxy_pump up|down|both BYTES -c COMMAND\n"
		                "       proxy_pump up|down|both BYTES -t ADDRESS PORT\n");
		return 2;
	}
	bytes = strtoull(argv[2], &end, 10);
	if (*end || !*argv[2]) {
		fprintf(stderr, "proxy_pump: BYTES must be a number\n");
		return 2;
	}
	to_send = strcmp(argv[1], "down") == 0 ? 0 : bytes;
	to_recv = strcmp(argv[1], "up") == 0 ? 0 : bytes;
	if (strcmp(argv[1], "up") && strcmp(argv[1], "down") && strcmp(argv[1], "both")) {
		fprintf(stderr, "proxy_pump: MODE is up, down or both\n");
		return 2;
	}
	buf = malloc(CHUNK);
	zeros = calloc(1, CHUNK);
	if (!buf || !zeros)
		die("malloc");
	signal(SIGPIPE, SIG_IGN);

	t_start = now();
	if (strcmp(argv[3], "-c") == 0) {
		pid = spawn(argv[4], &wfd, &rfd);
	} else {
		wfd = rfd = dial(argv[4], argv[5]);
	}
	nonblock(wfd);
	if (rfd != wfd)
		nonblock(rfd);

	/* Until the trailer: data bytes, then one 'e', counted in got. */
	while (!done && !eof) {
		np = 0;
		p[np++] = (struct pollfd){.fd = rfd, .events = POLLIN};
		if (ready && sent < to_send)
			p[np++] = (struct pollfd){.fd = wfd, .events = POLLOUT};
		if (poll(p, (nfds_t)np, -1) < 0) {
			if (errno == EINTR)
				continue;
			die("poll");
		}
		if (p[0].revents) {
			n = read(rfd, buf, CHUNK);
			if (n > 0)
				last = buf[n - 1];
			if (n > 0 && !ready) {
				if (buf[0] != 'h') {
					fprintf(stderr,
					        "proxy_pump: no greeting from the endpoint\n");
					return 1;
				}
				ready = 1;
				t_ready = now();
				got += (unsigned long long)n - 1;
			} else if (n > 0) {
				got += (unsigned long long)n;
			} else if (n == 0) {
				eof = 1;
			} else if (errno != EAGAIN && errno != EINTR) {
				die("read");
			}
		}
		if (ready && got > to_recv) {
			done = 1;
			trailer = got == to_recv + 1 && last == 'e';
			got -= (unsigned long long)trailer;
			break;
		}
		if (np > 1 && p[1].revents) {
			size_t want = to_send - sent < CHUNK ? (size_t)(to_send - sent) : CHUNK;

			n = write(wfd, zeros, want);
			if (n > 0)
				sent += (unsigned long long)n;
			else if (n < 0 && errno != EAGAIN && errno != EINTR)
				die("write");
		}
	}
	t_end = now();
	/* Untimed: end our side, and read on until the relay passes EOF on. */
	if (rfd != wfd)
		close(wfd);
	else
		shutdown(wfd, SHUT_WR);
	fcntl(rfd, F_SETFL, fcntl(rfd, F_GETFL) & ~O_NONBLOCK);
	while (done && (n = read(rfd, buf, CHUNK)) != 0) {
		if (n > 0)
			got += (unsigned long long)n; /* bytes after the trailer: wrong */
		else if (errno != EINTR)
			break;
	}
	close(rfd);
	memset(&ru, 0, sizeof(ru));
	if (pid > 0 && wait4(pid, &status, 0, &ru) < 0)
		die("wait4");
	getrusage(RUSAGE_SELF, &self);
	if (!ready)
		t_ready = t_end;
	printf("setup=%.6f wall=%.6f sent=%llu received=%llu user=%.3f sys=%.3f "
	       "self_user=%.3f self_sys=%.3f status=%d\n",
	       t_ready - t_start, t_end - t_ready, sent, got, tv(ru.ru_utime), tv(ru.ru_stime),
	       tv(self.ru_utime), tv(self.ru_stime),
	       WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	return ready && trailer && sent == to_send && got == to_recv &&
	               (pid < 0 || (WIFEXITED(status) && WEXITSTATUS(status) == 0))
	           ? 0
	           : 1;
}
