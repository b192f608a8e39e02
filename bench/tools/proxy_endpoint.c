/*
 * proxy_endpoint: the far end of the relay benchmark (bench/proxy_relay.py),
 * standing in for an instance's sshd. Kept cheap so it is not what is
 * measured: it discards what it receives without copying it (recv with
 * MSG_TRUNC) and sends from one buffer of zeros.
 *
 *   proxy_endpoint ADDRESS BYTES
 *
 * Listens on three ports of ADDRESS, printed on stdout as "up PORT",
 * "down PORT" and "both PORT", one connection at a time. Each connection
 * is greeted with one byte, 'h' (proxy_pump starts its clock on it); then
 *   up    receives BYTES, sends nothing;
 *   down  sends BYTES, expects nothing;
 *   both  sends BYTES and receives BYTES at the same time.
 * Once it has sent and received what the port says, it sends one more
 * byte, 'e' (the trailer: proxy_pump stops its clock on it, as some relays
 * pass EOF on late), and shuts its write side down. It then reads until
 * the client's EOF, prints "MODE received N sent N" (the data bytes) and
 * closes.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define CHUNK ((size_t)1024 * 1024)

static const char *const names[3] = {"up", "down", "both"};

static void die(const char *what)
{
	fprintf(stderr, "proxy_endpoint: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int listen_on(const char *addr, unsigned short *port)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int one = 1, fd;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
		fprintf(stderr, "proxy_endpoint: not an IPv4 address: %s\n", addr);
		exit(2);
	}
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		die("bind");
	if (listen(fd, 8) != 0)
		die("listen");
	if (getsockname(fd, (struct sockaddr *)&sa, &len) != 0)
		die("getsockname");
	*port = ntohs(sa.sin_port);
	return fd;
}

/* One connection: the greeting; `out` bytes sent while `in` bytes are
 * taken; the trailer; then the write side shut down and reads to EOF. */
static void serve(int fd, const char *mode, unsigned long long in, unsigned long long out,
                  const char *zeros)
{
	unsigned long long got = 0, sent = 0; /* sent counts the trailer too */
	int one = 1, eof = 0, may_send;
	struct pollfd p;
	ssize_t n;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (send(fd, "h", 1, MSG_NOSIGNAL) != 1) {
		close(fd);
		return;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	while (!eof) {
		/* The trailer goes out once everything else is done. */
		may_send = sent < out || (sent == out && got >= in);
		p.fd = fd;
		p.events = POLLIN | (may_send ? POLLOUT : 0);
		if (poll(&p, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			die("poll");
		}
		if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
			n = recv(fd, NULL, CHUNK, MSG_TRUNC | MSG_DONTWAIT);
			if (n > 0)
				got += (unsigned long long)n;
			else if (n == 0)
				eof = 1;
			else if (errno != EAGAIN && errno != EINTR)
				break; /* reset: report what arrived */
		}
		if (!eof && may_send && (p.revents & POLLOUT)) {
			size_t want = out - sent < CHUNK ? (size_t)(out - sent) : CHUNK;

			if (sent < out)
				n = send(fd, zeros, want, MSG_DONTWAIT | MSG_NOSIGNAL);
			else
				n = send(fd, "e", 1, MSG_DONTWAIT | MSG_NOSIGNAL);
			if (n > 0 && (sent += (unsigned long long)n) == out + 1)
				shutdown(fd, SHUT_WR);
			else if (n < 0 && errno != EAGAIN && errno != EINTR)
				break;
		}
	}
	printf("%s received %llu sent %llu\n", mode, got, sent > out ? out : sent);
	fflush(stdout);
	close(fd);
}

int main(int argc, char **argv)
{
	struct pollfd l[3];
	unsigned short port;
	unsigned long long bytes;
	char *zeros, *end;
	int i, c;

	if (argc != 3) {
		fprintf(stderr, "usage: proxy_endpoint ADDRESS BYTES\n");
		return 2;
	}
	bytes = strtoull(argv[2], &end, 10);
	if (*end || !*argv[2]) {
		fprintf(stderr, "proxy_endpoint: BYTES must be a number\n");
		return 2;
	}
	zeros = calloc(1, CHUNK);
	if (!zeros)
		die("calloc");
	for (i = 0; i < 3; i++) {
		l[i].fd = listen_on(argv[1], &port);
		l[i].events = POLLIN;
		printf("%s %u\n", names[i], port);
	}
	fflush(stdout);
	for (;;) {
		if (poll(l, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			die("poll");
		}
		for (i = 0; i < 3; i++) {
			if (!(l[i].revents & POLLIN))
				continue;
			c = accept4(l[i].fd, NULL, NULL, SOCK_CLOEXEC);
			if (c < 0)
				continue;
			serve(c, names[i], i == 1 ? 0 : bytes, i == 0 ? 0 : bytes, zeros);
		}
	}
}
