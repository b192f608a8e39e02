/*
 * connwatch: ebssh-api's deadlines on the way a request arrives.
 *
 * libmicrohttpd's connection timeout is an idle timeout: a client sending
 * one byte every few seconds keeps a connection (and its memory) forever.
 * connwatch gives each connection a deadline per phase instead:
 *   HEADERS  the complete request headers, within header_s of the
 *            connection's start, or of the end of its previous request on
 *            a kept-alive connection (waiting idle for the next request is
 *            no different from sending its headers slowly);
 *   BODY     the complete body, within body_s of the headers;
 *   BUSY     the request is being answered: no deadline (the idle timeout
 *            still covers a client that does not read the answer).
 * A janitor thread shutdown(2)s the socket of a connection past its
 * deadline, once; the owner (libmicrohttpd) then sees the connection end
 * and closes it as it closes any other, so the descriptor stays its own.
 * Each such close writes one JSON line to stderr:
 *   {"time", "event": "slow-client-closed", "remote", "phase": "headers"|"body",
 *    "limit_s", "requests" (answered on it before), "connection_s"}
 * never with a header value.
 *
 * Thread-safe: every call may come from any thread. The owner must call
 * connwatch_remove before it closes the descriptor (libmicrohttpd's
 * MHD_CONNECTION_NOTIFY_CLOSED comes before its close), so that the janitor
 * never shuts down a descriptor number that was reused.
 */
#ifndef EBSSH_LAMBDA_CONNWATCH_H
#define EBSSH_LAMBDA_CONNWATCH_H

#include "../../util/err.h"

struct connwatch;
struct connwatch_conn;

/* Starts the janitor. NULL with *e set when out of memory or no thread could start. */
struct connwatch *connwatch_new(unsigned header_s, unsigned body_s, struct err *e);

/* Stops the janitor and frees every connection still watched (their sockets
 * are left alone). NULL is fine. */
void connwatch_free(struct connwatch *w);

/* Watches fd from now on, in phase HEADERS; remote (an address, copied) is
 * for the log line. NULL when out of memory. */
struct connwatch_conn *connwatch_add(struct connwatch *w, int fd, const char *remote);

/* Phase changes: the headers arrived (BODY), the body arrived (BUSY), the
 * answer went out and the connection waits for its next request (HEADERS).
 * c may be NULL (an unwatched connection): nothing happens. */
void connwatch_headers_done(struct connwatch *w, struct connwatch_conn *c);
void connwatch_body_done(struct connwatch *w, struct connwatch_conn *c);
void connwatch_request_done(struct connwatch *w, struct connwatch_conn *c);

/* Stops watching c and frees it; c may be NULL. */
void connwatch_remove(struct connwatch *w, struct connwatch_conn *c);

/* How many connections the janitor has closed so far. */
unsigned long connwatch_closed(struct connwatch *w);

#endif
