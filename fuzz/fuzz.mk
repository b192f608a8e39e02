# fuzz/fuzz.mk: every libFuzzer target; `make fuzz` runs it (FUZZ_SECONDS=N).
#
# Each fuzz/fuzz_<name>.c defines LLVMFuzzerTestOneInput. It is built with
# clang, libFuzzer, ASan and UBSan, against one archive of the libraries'
# sources (util, aws, lambda and its folders, proxy; the mains left out), into
# $(FUZZ_BUILD)/fuzz_<name>, and run for FUZZ_SECONDS. A new target needs
# nothing but its .c file; optional companions:
#   fuzz/seeds/fuzz_<name>/          seed files kept in the repository
#   fuzz/seeds/fuzz_<name>.vectors   globs under $(VECTORS) (the test vectors,
#                                    tests/vectors), one a line, taken as
#                                    seeds at run time ('#' starts a comment)
#   fuzz/fuzz_<name>.dict            a libFuzzer dictionary
# What the fuzzer finds grows $(FUZZ_BUILD)/corpus-fuzz_<name>, kept between
# runs. A finding (crash, leak, undefined behaviour, timeout, out of memory)
# fails the run; the input is left in $(FUZZ_BUILD)/artifacts-fuzz_<name>/
# and the log's tail printed. Replay one: $(FUZZ_BUILD)/fuzz_<name> <file>.

FUZZ_SECONDS ?= 60
VECTORS      ?= $(CURDIR)/tests/vectors
FUZZ_BUILD   ?= build/fuzz
FUZZ_CC      ?= clang
AR           ?= ar

PKGS       := libcurl jansson openssl libssh2 expat libmicrohttpd
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN       := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
              -Wformat=2 -Wno-format-nonliteral -Wvla
SAN        := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE $(WARN) -O1 -g $(SAN) -fsanitize=fuzzer-no-link \
              $(PKG_CFLAGS) -I. -DEBSSH_VERSION='"$(shell sed -n 1p VERSION)"'
FUZZ_LIBS  := $(PKG_LIBS) -lpthread -lz

LIB_SRC := $(wildcard util/*.c aws/*.c) \
           $(filter-out lambda/front/runtime_main.c lambda/front/serve_main.c, \
             $(wildcard lambda/*.c lambda/front/*.c lambda/router/*.c lambda/ops/*.c)) \
           $(filter-out proxy/main.c, $(wildcard proxy/*.c))
LIB     := $(FUZZ_BUILD)/libebssh-fuzz.a
TARGETS := $(patsubst fuzz/%.c,%,$(wildcard fuzz/fuzz_*.c))
BINS    := $(addprefix $(FUZZ_BUILD)/,$(TARGETS))

fobj = $(patsubst %.c,$(FUZZ_BUILD)/obj/%.o,$(1))

.SECONDARY:
.PHONY: all run
all: $(BINS)

$(FUZZ_BUILD)/obj/%.o: %.c VERSION
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@

$(LIB): $(call fobj,$(LIB_SRC))
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: $(FUZZ_BUILD)/obj/fuzz/fuzz_%.o $(LIB)
	$(FUZZ_CC) $(SAN) -fsanitize=fuzzer -o $@ $^ $(FUZZ_LIBS)

# One target after the other; every target runs even when an earlier one
# found something, and the run fails if any did.
run: $(BINS)
	@fail=0; \
	for t in $(TARGETS); do \
		corpus=$(FUZZ_BUILD)/corpus-$$t; seeds=$(FUZZ_BUILD)/seeds-$$t; \
		art=$(FUZZ_BUILD)/artifacts-$$t; log=$(FUZZ_BUILD)/$$t.log; \
		rm -rf $$seeds; mkdir -p $$corpus $$seeds $$art; \
		if [ -d fuzz/seeds/$$t ]; then cp -f fuzz/seeds/$$t/* $$seeds/ 2>/dev/null; fi; \
		if [ -f fuzz/seeds/$$t.vectors ]; then \
			sed -e 's/#.*//' -e 's/[[:space:]]*$$//' fuzz/seeds/$$t.vectors | \
			while read -r g; do \
				[ -n "$$g" ] || continue; \
				for f in $(VECTORS)/$$g; do [ -f "$$f" ] && cp -f "$$f" $$seeds/; done; \
			done; \
		fi; \
		dict=; if [ -f fuzz/$$t.dict ]; then dict=-dict=fuzz/$$t.dict; fi; \
		echo "fuzz: $$t for $(FUZZ_SECONDS) s ($$(ls $$seeds | wc -l) seeds, $$(ls $$corpus | wc -l) in corpus)"; \
		if $(FUZZ_BUILD)/$$t $$dict -max_total_time=$(FUZZ_SECONDS) -timeout=10 \
			-rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix=$$art/ \
			$$corpus $$seeds >$$log 2>&1; then \
			grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss_mb)' $$log | \
				sed "s/^/fuzz: $$t: /"; \
		else \
			fail=1; echo "fuzz: $$t FOUND SOMETHING (log: $$log, inputs: $$art/)"; \
			tail -n 60 $$log; \
		fi; \
	done; \
	exit $$fail

-include $(shell find $(FUZZ_BUILD)/obj -name '*.d' 2>/dev/null)
