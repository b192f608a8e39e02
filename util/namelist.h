/*
 * namelist: allow-lists written as one setting, "a,b,c" — comma-separated
 * names, and where the caller allows them, patterns in which '*' stands for
 * any run of characters ("ebssh-*"). No blanks, no empty item: a list is
 * what an IAM resource ARN can be built from item by item.
 *
 * namelist_check validates a list once (at start); namelist_match and
 * namelist_next then read it as it is, without copies.
 */
#ifndef EBSSH_UTIL_NAMELIST_H
#define EBSSH_UTIL_NAMELIST_H

#include <stddef.h>

#include "err.h"

#define NAMELIST_MAX_ITEMS 32

/*
 * 0 when list holds 1 to NAMELIST_MAX_ITEMS items separated by single
 * commas, each 1 to max_len bytes of letters, digits and the characters of
 * extra, plus '*' when patterns is set. ERR_INVALID otherwise, the message
 * naming `what` (a variable) and the rule, never the list.
 */
int namelist_check(const char *list, const char *what, const char *extra, size_t max_len,
                   int patterns, struct err *e);

/* 1 when name equals an item of list or matches one of its patterns; 0
 * otherwise, and for a NULL list or name. */
int namelist_match(const char *list, const char *name);

/* 1 when the n bytes of pattern match all of name ('*': any run, even empty). */
int namelist_glob(const char *pattern, size_t n, const char *name);

/*
 * Iterates: *item and *len set to the next item at *cursor (a position in
 * the list, first the list itself), *cursor moved past it. 0 at the end.
 */
int namelist_next(const char **cursor, const char **item, size_t *len);

/* 1 when the n bytes of item hold a '*'. */
int namelist_is_pattern(const char *item, size_t n);

#endif
