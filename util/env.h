/*
 * env: numeric settings read from the environment (the tests' tuning knobs,
 * such as EBSSH_AWS_TIMEOUT_MS).
 */
#ifndef EBSSH_UTIL_ENV_H
#define EBSSH_UTIL_ENV_H

/* The non-negative decimal value of variable name, or fallback when it is
 * unset, empty, not a whole number, negative or out of range. */
long env_ms(const char *name, long fallback);

#endif
