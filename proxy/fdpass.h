/*
 * fdpass: hand the connected socket to ssh instead of relaying
 * (`ProxyUseFdpass yes`, ebssh-proxy --fdpass).
 *
 * ssh then gives the ProxyCommand a socketpair as stdout and waits for one
 * message carrying one byte of data and the socket as SCM_RIGHTS ancillary
 * data; after that the ProxyCommand exits and ssh talks to the instance
 * directly: no relay process, no copies. The socket is sent in blocking
 * mode, as ssh's own connect leaves its sockets.
 */
#ifndef EBSSH_PROXY_FDPASS_H
#define EBSSH_PROXY_FDPASS_H

#include "../util/err.h"

/* Sends fd over the unix socket chan. ERR_INVALID when chan is not a socket
 * (ssh was not told ProxyUseFdpass yes), ERR_IO on failure. fd stays open. */
int fdpass_send(int chan, int fd, struct err *e);

#endif
