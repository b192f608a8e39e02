/* connect: non-blocking connect with a timeout; see connect.h. */
#include "connect.h"

#include "../util/monotime.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int net_error(int err)
{
	return err == ETIMEDOUT ? ERR_TIMEOUT : ERR_NETWORK;
}

/* Waits for the pending connect on fd; 0 or a negative err code. */
static int wait_connected(int fd, long timeout_ms, int *sys_err)
{
	long long deadline = monotime_ms() + timeout_ms, left;
	struct pollfd p = {.fd = fd, .events = POLLOUT};
	socklen_t len = sizeof(*sys_err);
	int n;

	for (;;) {
		left = deadline - monotime_ms();
		if (left <= 0)
			return ERR_TIMEOUT;
		n = poll(&p, 1, left > 0x7fffffff ? 0x7fffffff : (int)left);
		if (n > 0)
			break;
		if (n == 0)
			return ERR_TIMEOUT;
		if (errno != EINTR) {
			*sys_err = errno;
			return ERR_IO;
		}
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, sys_err, &len) != 0) {
		*sys_err = errno;
		return ERR_IO;
	}
	return *sys_err ? net_error(*sys_err) : 0;
}

/* One connect to ai within timeout_ms: the socket, or a negative code with
 * the cause in e (prefixed with where). */
static int connect_one(const struct addrinfo *ai, long timeout_ms, const char *where, struct err *e)
{
	int fd, rc, sys_err = 0, one = 1;

	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
	if (fd < 0)
		return err_set(e, ERR_IO, "%s: socket: %s", where, strerror(errno));
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
		rc = 0;
	} else if (errno == EINPROGRESS || errno == EINTR) {
		rc = wait_connected(fd, timeout_ms, &sys_err);
	} else {
		sys_err = errno;
		rc = net_error(sys_err);
	}
	if (rc == ERR_TIMEOUT && !sys_err)
		rc = err_set(e, ERR_TIMEOUT, "%s: no answer within %ld ms", where, timeout_ms);
	else if (rc)
		rc = err_set(e, rc, "%s: %s", where, strerror(sys_err));
	if (rc) {
		close(fd);
		return rc;
	}
	/* Both are best effort: the connection works without them. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	(void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	return fd;
}

/* getaddrinfo of host and port for a TCP stream, AI_NUMERICSERV and flags. */
static int resolve_tcp(const char *host, unsigned port, int flags, struct addrinfo **ai)
{
	struct addrinfo hints;
	char service[8];

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	hints.ai_flags = AI_NUMERICSERV | flags;
	snprintf(service, sizeof(service), "%u", port);
	return getaddrinfo(host, service, &hints, ai);
}

int connect_tcp(const char *ip, unsigned port, long timeout_ms, struct err *e)
{
	struct addrinfo *ai = NULL;
	char where[80];
	int rc;

	if (!ip || port < 1 || port > 65535 || timeout_ms <= 0)
		return err_set(e, ERR_INVALID, "connect: bad address, port or timeout");
	if (resolve_tcp(ip, port, AI_NUMERICHOST, &ai) != 0 || !ai)
		return err_set(e, ERR_INVALID, "%.60s is not an IP address", ip);
	snprintf(where, sizeof(where), ai->ai_family == AF_INET6 ? "[%s] port %u" : "%s port %u",
	         ip, port);
	rc = connect_one(ai, timeout_ms, where, e);
	freeaddrinfo(ai);
	return rc;
}

int connect_tcp_name(const char *host, unsigned port, long timeout_ms, struct err *e)
{
	struct addrinfo *ai = NULL, *p;
	char where[320];
	long long deadline = monotime_ms() + timeout_ms, left;
	int rc, gai;

	if (!host || !*host || port < 1 || port > 65535 || timeout_ms <= 0)
		return err_set(e, ERR_INVALID, "connect: bad host, port or timeout");
	snprintf(where, sizeof(where), strchr(host, ':') ? "[%.255s] port %u" : "%.255s port %u",
	         host, port);
	gai = resolve_tcp(host, port, AI_ADDRCONFIG, &ai);
	if (gai != 0 || !ai)
		return err_set(e, ERR_NETWORK, "%s: %s", where,
		               gai ? gai_strerror(gai) : "no address");
	rc = ERR_NETWORK;
	for (p = ai; p; p = p->ai_next) {
		left = deadline - monotime_ms();
		if (left <= 0) {
			rc = err_set(e, ERR_TIMEOUT, "%s: no answer within %ld ms", where,
			             timeout_ms);
			break;
		}
		rc = connect_one(p, (long)left, where, e);
		if (rc >= 0)
			break;
	}
	freeaddrinfo(ai);
	return rc;
}
