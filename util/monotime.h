/*
 * monotime: the monotonic clock, for timeouts, backoff and durations in
 * logs, and the sleep between retries.
 */
#ifndef EBSSH_UTIL_MONOTIME_H
#define EBSSH_UTIL_MONOTIME_H

#include <time.h>

/* Milliseconds on CLOCK_MONOTONIC (an arbitrary origin). */
long long monotime_ms(void);

/* Milliseconds, with fractions, since start (read from CLOCK_MONOTONIC). */
double monotime_elapsed_ms(const struct timespec *start);

/* Sleeps ms milliseconds (nothing for ms <= 0), the whole time even when
 * signals interrupt it: the one sleep of retries and backoff. */
void monotime_sleep_ms(long ms);

#endif
