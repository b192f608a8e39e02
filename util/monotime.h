/*
 * monotime: the monotonic clock, for timeouts, backoff and durations in logs.
 */
#ifndef EBSSH_UTIL_MONOTIME_H
#define EBSSH_UTIL_MONOTIME_H

#include <time.h>

/* Milliseconds on CLOCK_MONOTONIC (an arbitrary origin). */
long long monotime_ms(void);

/* Milliseconds, with fractions, since start (read from CLOCK_MONOTONIC). */
double monotime_elapsed_ms(const struct timespec *start);

#endif
