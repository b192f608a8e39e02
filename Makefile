# ebssh — one entry point. See README.md.
#
#   make            build/ebssh-proxy build/ebssh-api build/bootstrap
#   make deps       Debian packages for build, tests and demo (scripts/deps.sh)
#   make check      every test, twice: normal build and ASan+UBSan build
#   make demo       the whole flow on loopback, no AWS account (scripts/demo.sh)
#   make fuzz       every libFuzzer target for FUZZ_SECONDS each
#   make package    build/lambda.zip for AWS Lambda (provided.al2023), reproducible,
#                   and its release name build/ebssh-lambda-<version>-<arch>.zip
#   make package ARCH=arm64
#                   the same for Graviton: build/lambda-arm64.zip (cross-built in
#                   build/arm64) and build/ebssh-lambda-<version>-arm64.zip
#   make man        build/ebssh-proxy.1, the man page with VERSION in its header
#   make bench      every benchmark of bench/ (bench/README.md), results in build/bench/
#   make valgrind   every C unit test under valgrind memcheck
#   make lint       clang-format, clang-tidy, cppcheck
#   make install    PREFIX=/usr/local DESTDIR=
#   make clean

PREFIX    ?= /usr/local
BINDIR    ?= $(PREFIX)/bin
MANDIR    ?= $(PREFIX)/share/man
DESTDIR   ?=

# The target architecture, in Lambda's names: x86_64 (this machine's) or arm64,
# cross-built with Debian's aarch64-linux-gnu-gcc against the arm64 -dev
# packages (multiarch; `make deps` installs both). For arm64 only bootstrap and
# the package are made (`make package ARCH=arm64`), in build/arm64 by default;
# tests/integration/package_arm64.py runs it under qemu-user.
ARCH      ?= x86_64
PKG_CONFIG ?= pkg-config
ifeq ($(ARCH),arm64)
CC        := aarch64-linux-gnu-gcc
STRIP     := aarch64-linux-gnu-strip
CURL_HOST := aarch64-linux-gnu
BUILD     ?= build/arm64
PKG_CONFIG_LIBDIR := /usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig
PKG_CONFIG := PKG_CONFIG_LIBDIR=$(PKG_CONFIG_LIBDIR) pkg-config
# No ldd for a foreign ELF (package.sh drops unused libraries with it on
# x86_64): the linker leaves out the libraries no symbol binds to.
LDFLAGS   += -Wl,--as-needed
LAMBDA_ZIP := build/lambda-arm64.zip
else ifeq ($(ARCH),x86_64)
BUILD     ?= build
LAMBDA_ZIP := $(BUILD)/lambda.zip
else
$(error ARCH must be x86_64 or arm64, not '$(ARCH)')
endif
VECTORS   ?= $(CURDIR)/tests/vectors
FUZZ_SECONDS ?= 60

# The release: the VERSION file's one line is the one source of every
# version the build says (util/version.h). A git checkout builds exactly
# VERSION, whatever its tags and state: the binaries and the zip never
# depend on git (git only gives package.sh its default SOURCE_DATE_EPOCH).
EBSSH_VERSION := $(shell sed -n 1p VERSION 2>/dev/null)
ifeq ($(shell printf '%s' '$(EBSSH_VERSION)' | grep -Ex '[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.]+)?'),)
$(error VERSION must hold one version like 0.2.0 or 0.2.0-rc.1, not '$(EBSSH_VERSION)')
endif

CC        ?= cc
V         ?= 0
Q         := $(if $(filter 1,$(V)),,@)
# (PKG_CONFIG and ARCH: the ARCH block above.)
# scripts/curl-lean.sh's HOST_TRIPLET: empty for a native build, the cross
# compiler's triplet (aarch64-linux-gnu) otherwise.
CURL_HOST ?=

# libcurl. The lean build: when `make deps` has fetched Debian's source
# package of curl into .deps/src, scripts/curl-lean.sh builds it once per
# architecture into build/curl-$(ARCH)/ (HTTP and HTTPS through OpenSSL, zlib,
# nothing else; shared by build/ and build/asan; built again when the source's
# Debian version changes), and every program links it statically, with
# Debian's static jansson, expat and zlib and an OpenSSL (below): bootstrap
# then needs only the C library. ebssh-proxy links libssh2.a too (it needs only OpenSSL and
# zlib); libmicrohttpd stays shared (ebssh-api, the tests): its .a needs
# GnuTLS and its closure (nettle, gmp, p11-kit, libidn2, ...), which Debian
# ships as shared libraries. Otherwise, or with CURL=system, everything links
# the system's shared libraries as before (the bench's comparison build:
# make BUILD=build/dyn CURL=system). --version says which libcurl it is.
CURL_SRC  := $(patsubst %/configure,%,$(firstword $(wildcard .deps/src/curl-*/configure)))
ifeq ($(CURL),system)
CURL_MODE := system
else ifeq ($(CURL_SRC),)
CURL_MODE := system
ifneq ($(filter-out clean deps format lint,$(or $(MAKECMDGOALS),all)),)
$(info libcurl: system (run make deps for the lean build))
endif
else
CURL_MODE := lean
endif
# OpenSSL. The lean build too: when `make deps` has fetched Debian's source
# package of OpenSSL into .deps/src, scripts/openssl-lean.sh builds it once per
# architecture into build/openssl-$(ARCH)/ (TLS 1.2/1.3 and the algorithms the
# code uses; about 75 s on two cores; built again when the source's Debian
# version changes), libcurl is built against it and bootstrap and ebssh-api
# link it statically (with -Wl,--gc-sections: its objects are built with
# -ffunction-sections). ebssh-proxy and the tests link libssh2, which Debian
# builds against its whole OpenSSL (DSA, DES, Blowfish...): they link Debian's
# static libssl.a and libcrypto.a, as every program does without the source
# (or with OPENSSL=system). --version says which OpenSSL bootstrap links.
OSSL_SRC  := $(patsubst %/Configure,%,$(firstword $(wildcard .deps/src/openssl-*/Configure)))
ifeq ($(CURL_MODE)$(OPENSSL),lean)
ifeq ($(OSSL_SRC),)
OSSL_MODE := system
ifneq ($(filter-out clean deps format lint,$(or $(MAKECMDGOALS),all)),)
$(info OpenSSL: Debian's static archives (run make deps for the lean build))
endif
else
OSSL_MODE := lean
endif
else
OSSL_MODE := system
endif
OSSL_DIR  := build/openssl-$(ARCH)
OSSL_TXT  := $(OSSL_DIR)/ebssh-openssl.txt
OSSL_LIBS := $(OSSL_DIR)/lib/libssl.a $(OSSL_DIR)/lib/libcrypto.a
CURL_DIR  := build/curl-$(ARCH)
CURL_LIB  := $(CURL_DIR)/lib/libcurl.a
CURL_TXT  := $(CURL_DIR)/ebssh-curl.txt
CURL_GEN_H := $(BUILD)/gen/ebssh_curl_build.h
PKGS      := jansson openssl libssh2 expat libmicrohttpd
ifeq ($(ARCH),arm64)
# bootstrap's libraries alone (libssh2 and libmicrohttpd serve the proxy and
# ebssh-api, which are not made for arm64).
PKGS      := jansson openssl expat
ifeq ($(CURL_MODE),system)
ifneq ($(shell $(PKG_CONFIG) --exists libcurl && echo yes),yes)
$(error ARCH=arm64 links the lean libcurl: run make deps (it fetches curl's source))
endif
endif
endif
ifeq ($(CURL_MODE),lean)
PKG_CFLAGS := -I$(CURL_DIR)/include $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
MHD_LIBS  := $(shell $(PKG_CONFIG) --libs libmicrohttpd 2>/dev/null)
# static_libs(extra .a names, OpenSSL): curl, then what it and the code need,
# static; OpenSSL: Debian's (-lssl -lcrypto) or the lean one's archives.
static_libs = $(CURL_LIB) -Wl,-Bstatic $(1) -ljansson -lexpat $(2) -lz -Wl,-Bdynamic \
              -lpthread -ldl
# Debian's static archives themselves: the programs depend on them, so that
# an upgraded -dev package (a security update) relinks them.
SYS_STATIC := $(foreach l,jansson expat ssl crypto z ssh2,$(shell $(CC) -print-file-name=lib$(l).a))
ifeq ($(OSSL_MODE),lean)
LEAN_SSL  := $(OSSL_LIBS) -Wl,--gc-sections
else
LEAN_SSL  := -lssl -lcrypto
endif
BOOTSTRAP_LIBS := $(call static_libs,,$(LEAN_SSL))
PROXY_LIBS := $(call static_libs,-lssh2,-lssl -lcrypto)
API_LIBS  := $(call static_libs,,$(LEAN_SSL)) $(MHD_LIBS)
TEST_LIBS := $(call static_libs,-lssh2,-lssl -lcrypto) $(MHD_LIBS)
CURL_DEB_VERSION := $(shell dpkg-parsechangelog -l $(CURL_SRC)/debian/changelog -S Version 2>/dev/null)
# FORCE when build/curl-$(ARCH) holds another Debian version of the source.
CURL_LIB_DEP := $(CURL_TXT)
CURL_STALE := $(if $(shell grep -sF '(Debian $(CURL_DEB_VERSION))' $(CURL_TXT)),,FORCE)
ifeq ($(OSSL_MODE),lean)
# Its Debian version: debian/changelog's, or the upstream tarball's
# EBSSH-DEBIAN-VERSION (scripts/deps.sh); the lean OpenSSL is built first,
# curl against it (a new OpenSSL rebuilds curl too).
OSSL_DEB_VERSION := $(or $(shell dpkg-parsechangelog -l $(OSSL_SRC)/debian/changelog -S Version 2>/dev/null),\
                      $(shell cat $(OSSL_SRC)/EBSSH-DEBIAN-VERSION 2>/dev/null))
OSSL_STALE := $(if $(shell grep -sF 'Debian $(OSSL_DEB_VERSION)' $(OSSL_TXT)),,FORCE)
CURL_OSSL := OPENSSL_PREFIX=$(OSSL_DIR)
LEAN_DEP  := $(OSSL_TXT)
endif
else
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags libcurl $(PKGS) 2>/dev/null)
PKG_LIBS  := $(shell $(PKG_CONFIG) --libs libcurl $(PKGS) 2>/dev/null) -lpthread -lz
BOOTSTRAP_LIBS := $(PKG_LIBS)
PROXY_LIBS := $(PKG_LIBS)
API_LIBS  := $(PKG_LIBS)
TEST_LIBS := $(PKG_LIBS)
endif

ifeq ($(SAN),1)
SAN_CFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
endif

WARN      := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
             -Wformat=2 -Wno-format-nonliteral -Wvla
CFLAGS    ?= -O2 -g
# -ffile-prefix-map: no checkout path in the objects, so that the same source
# builds the same bootstrap (and zip) in any directory.
VERSION_CFLAGS := -DEBSSH_VERSION='"$(EBSSH_VERSION)"'
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(SAN_CFLAGS) $(PKG_CFLAGS) -I. \
              -I$(BUILD)/gen $(VERSION_CFLAGS) -ffile-prefix-map=$(CURDIR)=.
ALL_LDFLAGS := $(LDFLAGS) $(SAN_CFLAGS)


# Sources: every .c of a folder belongs to its library, but for the mains.
UTIL_SRC   := $(wildcard util/*.c)
AWS_SRC    := $(wildcard aws/*.c)
GCP_SRC    := $(wildcard gcp/*.c)
LAMBDA_MAINS := lambda/front/runtime_main.c lambda/front/serve_main.c
LAMBDA_SRC := $(filter-out $(LAMBDA_MAINS), \
                $(wildcard lambda/*.c lambda/front/*.c lambda/router/*.c lambda/ops/*.c))
PROXY_SRC  := $(filter-out proxy/main.c, $(wildcard proxy/*.c))
UNIT_SRC   := $(wildcard tests/unit/test_*.c)
TOOL_SRC   := $(wildcard tests/tools/*.c)
FUZZ_SRC   := $(wildcard fuzz/fuzz_*.c)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

LIB_AWS    := $(BUILD)/libebssh-aws.a
LIB_GCP    := $(BUILD)/libebssh-gcp.a
LIB_LAMBDA := $(BUILD)/libebssh-lambda.a
LIB_PROXY  := $(BUILD)/libebssh-proxy.a
PROGRAMS   := $(BUILD)/ebssh-proxy $(BUILD)/ebssh-api $(BUILD)/bootstrap
ifeq ($(ARCH),arm64)
PROGRAMS   := $(BUILD)/bootstrap
endif
UNIT_BINS  := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
TOOL_BINS  := $(patsubst tests/tools/%.c,$(BUILD)/tests/%,$(TOOL_SRC))

.SECONDARY:
.PHONY: all FORCE deps check check-one valgrind fuzz install clean format lint tests package demo bench man
MAN_PAGE   := $(BUILD)/ebssh-proxy.1
all: $(PROGRAMS) $(MAN_PAGE)

# Every object depends on VERSION (every compile gets -DEBSSH_VERSION).
$(BUILD)/obj/%.o: %.c VERSION | $(CURL_GEN_H) $(if $(filter lean,$(CURL_MODE)),$(CURL_TXT) $(LEAN_DEP))
	@mkdir -p $(dir $@)
	@echo '  CC      $<'
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

# The lean libcurl (scripts/curl-lean.sh; about a minute on two cores),
# against the lean OpenSSL when there is one.
$(CURL_TXT): scripts/curl-lean.sh $(CURL_STALE) $(LEAN_DEP)
	@echo '  CURL    $(CURL_DIR) ($(notdir $(CURL_SRC)), Debian $(CURL_DEB_VERSION))'
	$(Q)$(CURL_OSSL) ./scripts/curl-lean.sh $(CURL_SRC) $(CURL_DIR) $(CURL_HOST)
$(CURL_LIB): $(CURL_TXT)

# The lean OpenSSL (scripts/openssl-lean.sh; about 75 s on two cores).
$(OSSL_TXT): scripts/openssl-lean.sh $(OSSL_STALE)
	@echo '  OPENSSL $(OSSL_DIR) ($(notdir $(OSSL_SRC)), Debian $(OSSL_DEB_VERSION))'
	$(Q)./scripts/openssl-lean.sh $(OSSL_SRC) $(OSSL_DIR) $(CURL_HOST)
$(OSSL_LIBS): $(OSSL_TXT)

# EBSSH_CURL_BUILD, the lean libcurl's version and configure line
# (ebssh-curl.txt) as one string for --version (aws/http.c); no macro for
# the system's libcurl. EBSSH_OPENSSL_BUILD the same for the lean OpenSSL
# (ebssh-openssl.txt), which bootstrap and ebssh-api print (not ebssh-proxy:
# it links Debian's). Rewritten only when its text changes.
c_string = "$$(sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/$$/\\n/' $(1) | tr -d '\n')"
$(CURL_GEN_H): FORCE $(if $(filter lean,$(CURL_MODE)),$(CURL_TXT) $(LEAN_DEP))
	@mkdir -p $(dir $@)
	$(Q){ echo '/* Generated by the Makefile: the libcurl and OpenSSL this build links. */'; \
	  $(if $(filter lean,$(CURL_MODE)),printf '#define EBSSH_CURL_BUILD "%s"\n' $(call c_string,$(CURL_TXT));) \
	  $(if $(filter lean,$(OSSL_MODE)),printf '#define EBSSH_OPENSSL_BUILD "%s"\n' $(call c_string,$(OSSL_TXT));) } >$@.tmp
	$(Q)if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi

$(LIB_AWS): $(call obj,$(UTIL_SRC) $(AWS_SRC))
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^
$(LIB_GCP): $(call obj,$(GCP_SRC))
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^
$(LIB_LAMBDA): $(call obj,$(LAMBDA_SRC))
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^
$(LIB_PROXY): $(call obj,$(PROXY_SRC))
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(BUILD)/ebssh-proxy: $(call obj,proxy/main.c) $(LIB_PROXY) $(LIB_AWS) $(SYS_STATIC) $(CURL_LIB_DEP)
	@echo '  LD      $@'
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $(filter-out $(SYS_STATIC) $(CURL_LIB_DEP),$^) $(PROXY_LIBS)
$(BUILD)/ebssh-api: $(call obj,lambda/front/serve_main.c) $(LIB_LAMBDA) $(LIB_GCP) $(LIB_AWS) $(SYS_STATIC) $(CURL_LIB_DEP) $(LEAN_DEP)
	@echo '  LD      $@'
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $(filter-out $(SYS_STATIC) $(CURL_LIB_DEP) $(LEAN_DEP),$^) $(API_LIBS)
# bootstrap: -z pack-relative-relocs (DT_RELR: the bundled glibc 2.36 reads
# it), a smaller binary and zip.
$(BUILD)/bootstrap: $(call obj,lambda/front/runtime_main.c) $(LIB_LAMBDA) $(LIB_GCP) $(LIB_AWS) $(SYS_STATIC) $(CURL_LIB_DEP) $(LEAN_DEP)
	@echo '  LD      $@'
	$(Q)$(CC) $(ALL_LDFLAGS) -Wl,-z,pack-relative-relocs -o $@ \
	  $(filter-out $(SYS_STATIC) $(CURL_LIB_DEP) $(LEAN_DEP),$^) $(BOOTSTRAP_LIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(LIB_LAMBDA) $(LIB_PROXY) $(LIB_GCP) $(LIB_AWS) $(SYS_STATIC) $(CURL_LIB_DEP)
	@mkdir -p $(dir $@)
	@echo '  LD      $@'
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $(filter-out $(SYS_STATIC) $(CURL_LIB_DEP),$^) $(TEST_LIBS)
$(BUILD)/tests/%: $(BUILD)/obj/tests/tools/%.o $(LIB_LAMBDA) $(LIB_PROXY) $(LIB_GCP) $(LIB_AWS) $(SYS_STATIC) $(CURL_LIB_DEP)
	@mkdir -p $(dir $@)
	@echo '  LD      $@'
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $(filter-out $(SYS_STATIC) $(CURL_LIB_DEP),$^) $(TEST_LIBS)

tests: $(PROGRAMS) $(UNIT_BINS) $(TOOL_BINS) $(MAN_PAGE)

# The man page's source docs/ebssh-proxy.1 says "ebssh @VERSION@" in its .TH
# line; the built (and installed) page says VERSION's.
man: $(MAN_PAGE)
$(MAN_PAGE): docs/ebssh-proxy.1 VERSION
	@mkdir -p $(dir $@)
	@echo '  GEN     $@'
	$(Q)sed '/^\.TH /s/@VERSION@/$(EBSSH_VERSION)/' docs/ebssh-proxy.1 >$@.tmp && mv $@.tmp $@

deps:
	@./scripts/deps.sh

# The whole flow on this machine with no AWS account: AWS double, three sshd,
# ebssh-api, then curl, ssh and scp through ebssh-proxy (scripts/demo.sh).
demo:
	@BUILD='$(BUILD)' ./scripts/demo.sh

# build/lambda.zip: bootstrap at the root with its libraries (scripts/package.sh),
# the same bytes from the same source (SOURCE_DATE_EPOCH: see the script), and
# the same file as build/ebssh-lambda-<version>-<arch>.zip.
package: $(BUILD)/bootstrap
	@EBSSH_VERSION='$(EBSSH_VERSION)' STRIP='$(STRIP)' ./scripts/package.sh $(BUILD)/bootstrap $(LAMBDA_ZIP)

# Every bench script, on the normal build (bench/README.md; docs/benchmarks.md
# holds one run's results). Minutes; the package's chroot runs need root.
bench: $(PROGRAMS) package
	@mkdir -p $(BUILD)/bench
	@echo '  BENCH   bench/lambda_cold_start.py'
	@EBSSH_BUILD=$(abspath $(BUILD)) EBSSH_VECTORS=$(VECTORS) /usr/bin/python3 bench/lambda_cold_start.py \
	  --json $(BUILD)/bench/lambda.json >$(BUILD)/bench/lambda.md && cat $(BUILD)/bench/lambda.md
	@echo '  BENCH   bench/api_wrk.sh'
	@EBSSH_BUILD=$(abspath $(BUILD)) ./bench/api_wrk.sh >$(BUILD)/bench/api.md && cat $(BUILD)/bench/api.md
	@echo '  BENCH   bench/api_abuse.sh'
	@EBSSH_BUILD=$(abspath $(BUILD)) ./bench/api_abuse.sh >$(BUILD)/bench/api_abuse.md && \
	  cat $(BUILD)/bench/api_abuse.md
	@echo '  BENCH   bench/proxy_relay.py'
	@EBSSH_BUILD=$(abspath $(BUILD)) /usr/bin/python3 bench/proxy_relay.py >$(BUILD)/bench/proxy_relay.md && cat $(BUILD)/bench/proxy_relay.md
	@echo '  BENCH   bench/proxy_connect.py'
	@EBSSH_BUILD=$(abspath $(BUILD)) /usr/bin/python3 bench/proxy_connect.py >$(BUILD)/bench/proxy_connect.md && cat $(BUILD)/bench/proxy_connect.md
	@echo '  BENCH   bench/lean.py'
	@EBSSH_BUILD=$(abspath $(BUILD)) /usr/bin/python3 bench/lean.py --lean $(BUILD) --dyn $(BUILD)/dyn \
	  --json $(BUILD)/bench/lean.json >$(BUILD)/bench/lean.md && cat $(BUILD)/bench/lean.md
	@echo '  BENCH   bench/lookup_scale.py'
	@EBSSH_BUILD=$(abspath $(BUILD)) /usr/bin/python3 bench/lookup_scale.py --json $(BUILD)/bench/lookup_scale.json \
	  --plot $(BUILD)/bench/lookup_scale.png >$(BUILD)/bench/lookup_scale.md && cat $(BUILD)/bench/lookup_scale.md
	@echo '  BENCH   bench/s3_gcs_copy.py'
	@EBSSH_BUILD=$(abspath $(BUILD)) "$$(./scripts/tools-python.sh)" bench/s3_gcs_copy.py --json $(BUILD)/bench/s3_gcs_copy.json \
	  >$(BUILD)/bench/s3_gcs_copy.md && cat $(BUILD)/bench/s3_gcs_copy.md

# One build directory's tests; tests/run prints the tally of that run.
check-one: tests
	@EBSSH_BUILD=$(abspath $(BUILD)) EBSSH_VECTORS=$(VECTORS) ./tests/run

# Normal build, then ASan+UBSan build; one final "N passed, N failed" line.
check:
	@$(MAKE) --no-print-directory BUILD=build tests
	@$(MAKE) --no-print-directory BUILD=build/asan SAN=1 tests
	@EBSSH_VECTORS=$(VECTORS) ./tests/run-all $(abspath build) $(abspath build/asan)

# Every C unit test under valgrind's memcheck (leaks and invalid accesses fail it).
valgrind:
	@$(MAKE) --no-print-directory BUILD=build tests
	@EBSSH_BUILD=$(abspath build) EBSSH_VECTORS=$(VECTORS) TEST_WRAPPER="valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=99" TEST_FILTER=unit/ ./tests/run

fuzz:
	@$(MAKE) --no-print-directory -f fuzz/fuzz.mk FUZZ_SECONDS=$(FUZZ_SECONDS) run

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	install -m 0755 $(BUILD)/ebssh-proxy $(BUILD)/ebssh-api $(DESTDIR)$(BINDIR)/
	install -m 0644 $(MAN_PAGE) $(DESTDIR)$(MANDIR)/man1/

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

# Static analysis of the project's own C: cppcheck, then clang-tidy (.clang-tidy).
LINT_SRC = $(UTIL_SRC) $(AWS_SRC) $(GCP_SRC) $(LAMBDA_SRC) $(PROXY_SRC) proxy/main.c $(LAMBDA_MAINS)
lint:
	clang-format --dry-run --Werror $(LINT_SRC) $(wildcard util/*.h aws/*.h gcp/*.h lambda/*.h lambda/*/*.h proxy/*.h)
	clang-tidy --quiet --warnings-as-errors='*' $(LINT_SRC) -- -std=c11 -D_GNU_SOURCE -I. $(PKG_CFLAGS) $(VERSION_CFLAGS)
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability $(VERSION_CFLAGS) \
	  --suppress=missingIncludeSystem --inline-suppr -I. util aws gcp lambda proxy

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
