/*
 * connect: a TCP connection to an IP literal, with a timeout.
 *
 * The address must be a numeric IPv4 or IPv6 literal (getaddrinfo with
 * AI_NUMERICHOST: no name is ever resolved here). The socket is opened
 * non-blocking and close-on-exec; connect(2) is waited for with poll(2)
 * up to the timeout, and its outcome read from SO_ERROR, as OpenSSH does.
 * The connected socket has TCP_NODELAY (ssh's own setting for interactive
 * traffic) and SO_KEEPALIVE (ssh's TCPKeepAlive default, which ssh cannot
 * set on a ProxyCommand's socket), and stays non-blocking.
 */
#ifndef EBSSH_PROXY_CONNECT_H
#define EBSSH_PROXY_CONNECT_H

#include "../util/err.h"

/*
 * Connects to ip port within timeout_ms (> 0). Returns the socket (>= 0),
 * or ERR_INVALID (not a literal, port not 1..65535), ERR_TIMEOUT, ERR_NETWORK
 * (refused, unreachable, reset) or ERR_IO, with a message naming the
 * address and the cause ("203.0.113.7 port 22: Connection refused").
 */
int connect_tcp(const char *ip, unsigned port, long timeout_ms, struct err *e);

/*
 * The same to a host name the user gave (the --jump bastion, never an
 * answer of the lookup service): resolved with getaddrinfo, each address
 * tried in turn within the one timeout. Messages name host and port.
 */
int connect_tcp_name(const char *host, unsigned port, long timeout_ms, struct err *e);

#endif
