/*
 * xdg: where ebssh-proxy keeps its files, after the XDG base directory
 * specification: under $XDG_CACHE_HOME or $XDG_CONFIG_HOME when the
 * variable is an absolute path, else under $HOME/.cache or $HOME/.config
 * (HOME from the password database when it is unset or not absolute).
 */
#ifndef EBSSH_PROXY_XDG_H
#define EBSSH_PROXY_XDG_H

#include "../util/err.h"

/*
 * "$<var>/<leaf>" when the environment variable var is an absolute path,
 * else "<home>/<home_dir>/<leaf>" (xdg_path("XDG_CACHE_HOME", ".cache",
 * "ebssh", e) is ~/.cache/ebssh by default). A new string; NULL with err
 * (ERR_INVALID when there is no home directory, ERR_NOMEM) on failure.
 */
char *xdg_path(const char *var, const char *home_dir, const char *leaf, struct err *e);

#endif
