/*
 * addr: the IP literal check on whatever the lookup service (or the cache)
 * says.
 *
 * An answer is accepted only when it is exactly one IPv4 dotted quad or one
 * IPv6 literal (inet_pton's grammar: no zone id, no brackets, no port, no
 * leading zeros in IPv4), optionally followed by one "\n", and nothing else:
 * no spaces, no second line, no NUL. Addresses that cannot be an instance
 * are refused too: unspecified (0.0.0.0, ::, which Linux would connect to
 * this very machine), multicast and the IPv4 broadcast address. Loopback is
 * allowed (tests and self-hosted setups use it). Pure functions.
 */
#ifndef EBSSH_PROXY_ADDR_H
#define EBSSH_PROXY_ADDR_H

#include <stddef.h>

#include "../util/err.h"

#define ADDR_TEXT_MAX 46 /* INET6_ADDRSTRLEN, with the NUL */

struct addr {
	int family;               /* AF_INET or AF_INET6 */
	unsigned char bytes[16];  /* network order; 4 used for AF_INET */
	char text[ADDR_TEXT_MAX]; /* canonical text (inet_ntop) */
};

/* Parses s[0..n) as exactly one IP literal into out (zeroed on failure). */
int addr_parse_literal(const char *s, size_t n, struct addr *out, struct err *e);

/* Parses a service answer: one literal and at most one trailing "\n". */
int addr_parse_answer(const char *body, size_t len, struct addr *out, struct err *e);

#endif
