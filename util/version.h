/*
 * version: the release this build is, EBSSH_VERSION (the VERSION file's line), a string
 * literal. Its one source is the VERSION file at the repository's root: the
 * Makefile (and fuzz/fuzz.mk, and make lint) pass -DEBSSH_VERSION="..." to
 * every compile and rebuild everything when VERSION changes. No source file
 * spells a version (tests/integration/version.py fails when one does):
 * --version of ebssh-proxy and ebssh-api, bootstrap's start line, the AWS
 * User-Agent "ebssh/<version>" (aws/client.c, the audit's mark of the code's
 * requests) and ebssh-proxy's lookup User-Agent all say this one.
 */
#ifndef EBSSH_UTIL_VERSION_H
#define EBSSH_UTIL_VERSION_H

#ifndef EBSSH_VERSION
#error "EBSSH_VERSION is not defined: build with make (it passes the VERSION file's line)"
#endif

#endif
