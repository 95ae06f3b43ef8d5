# wirelab: the one entry point.  `make help` lists the targets.
#
# Layout of the build (see README.md):
#   build/bin/        release programs (-O2 -g), what users and `make bench` run
#   build/asan/bin/   the same programs and the Criterion unit tests built with
#                     AddressSanitizer + UndefinedBehaviorSanitizer, what `make test` runs
#
# Every module, lab and test directory describes itself in a `module.mk`
# fragment that this file includes; a fragment appends to these lists:
#   WL_SRCS      mechanism sources (io/, parsers/, replication/) -> libwire.a
#   PROGS        program names; NAME_SRCS, NAME_LIBS (extra link flags)
#   UNIT_TESTS   Criterion test names; NAME_SRCS, NAME_LIBS
#   PKGS         pkg-config names whose --cflags every file gets
#   DEPS_APT     Debian packages `make deps` installs
#   GEN_HDRS     generated headers that must exist before compiling (e.g. protoc-c output)
# A fragment may add its own rules (generated code, corpora) below its lists.

BUILD   ?= build
FULL    ?= 0
CC      ?= gcc
V       ?= 0
Q       := $(if $(filter 1,$(V)),,@)

# Debian packages every part needs; fragments add theirs.
DEPS_APT := build-essential pkg-config clang llvm libclang-rt-14-dev libcriterion-dev \
            curl strace gnuplot-nox python3 procps util-linux iproute2 npm clang-format

WL_SRCS    :=
PROGS      :=
UNIT_TESTS :=
PKGS       :=
GEN_HDRS   :=

include $(sort $(wildcard */module.mk */*/module.mk))

# pkg-config is asked lazily (recursive `=`), after `deps` has run.
PKG_CFLAGS = $(if $(strip $(PKGS)),$(shell pkg-config --cflags $(sort $(PKGS))))
WARN      := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
             -Wno-unused-parameter
BASE_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) -I. -I$(BUILD)/gen $(PKG_CFLAGS) -MMD -MP

REL_CFLAGS  = $(BASE_CFLAGS) -O2 -g
ASAN_CFLAGS = $(BASE_CFLAGS) -O1 -g -fno-omit-frame-pointer \
              -fsanitize=address,undefined -fno-sanitize-recover=undefined
ASAN_LDFLAGS := -fsanitize=address,undefined
BASE_LDLIBS  := -lpthread -lm

REL_DIR  := $(BUILD)/rel
ASAN_DIR := $(BUILD)/asan

# Object paths: build/{rel,asan}/obj/<source path>.o
rel_obj  = $(patsubst %.c,$(REL_DIR)/obj/%.o,$(1))
asan_obj = $(patsubst %.c,$(ASAN_DIR)/obj/%.o,$(1))

REL_LIB  := $(REL_DIR)/libwire.a
ASAN_LIB := $(ASAN_DIR)/libwire.a

REL_PROGS  := $(addprefix $(BUILD)/bin/,$(PROGS))
ASAN_PROGS := $(addprefix $(ASAN_DIR)/bin/,$(PROGS))
ASAN_TESTS := $(addprefix $(ASAN_DIR)/tests/,$(UNIT_TESTS))

.PHONY: all asan test test-unit test-integration mutants bench fuzz deps help clean format \
        format-check corpora notes bench-compare
.DEFAULT_GOAL := all

all: $(REL_PROGS)            ## build every program (release, -O2) into build/bin/
asan: $(ASAN_PROGS) $(ASAN_TESTS)  ## build programs and unit tests with ASan+UBSan

$(REL_DIR)/obj/%.o: %.c | $(GEN_HDRS)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(REL_CFLAGS) -c $< -o $@

$(ASAN_DIR)/obj/%.o: %.c | $(GEN_HDRS)
	@mkdir -p $(dir $@)
	@echo "  CC asan $<"
	$(Q)$(CC) $(ASAN_CFLAGS) -c $< -o $@

# Generated sources (protoc-c output and the like) live under build/gen.
$(REL_DIR)/obj/$(BUILD)/gen/%.o: $(BUILD)/gen/%.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(REL_CFLAGS) -c $< -o $@
$(ASAN_DIR)/obj/$(BUILD)/gen/%.o: $(BUILD)/gen/%.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(ASAN_CFLAGS) -c $< -o $@

$(REL_LIB): $(call rel_obj,$(WL_SRCS))
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && ar rcs $@ $^
$(ASAN_LIB): $(call asan_obj,$(WL_SRCS))
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && ar rcs $@ $^

# One link rule per program and unit test, for each flavour.
define PROG_RULES
$(BUILD)/bin/$(1): $$(call rel_obj,$$($(1)_SRCS)) $(REL_LIB)
	@mkdir -p $$(dir $$@)
	@echo "  LD      $$@"
	$(Q)$(CC) -o $$@ $$(call rel_obj,$$($(1)_SRCS)) $(REL_LIB) $$($(1)_LIBS) $(BASE_LDLIBS)
$(ASAN_DIR)/bin/$(1): $$(call asan_obj,$$($(1)_SRCS)) $(ASAN_LIB)
	@mkdir -p $$(dir $$@)
	@echo "  LD asan $$@"
	$(Q)$(CC) $(ASAN_LDFLAGS) -o $$@ $$(call asan_obj,$$($(1)_SRCS)) $(ASAN_LIB) $$($(1)_LIBS) $(BASE_LDLIBS)
endef
define TEST_RULES
$(ASAN_DIR)/tests/$(1): $$(call asan_obj,$$($(1)_SRCS)) $(ASAN_LIB)
	@mkdir -p $$(dir $$@)
	@echo "  LD test $$@"
	$(Q)$(CC) $(ASAN_LDFLAGS) -o $$@ $$(call asan_obj,$$($(1)_SRCS)) $(ASAN_LIB) $$($(1)_LIBS) -lcriterion $(BASE_LDLIBS)
endef
$(foreach p,$(PROGS),$(eval $(call PROG_RULES,$(p))))
$(foreach t,$(UNIT_TESTS),$(eval $(call TEST_RULES,$(t))))

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# ---- the two commands of the quick start ----------------------------------

test:                        ## install deps, build, run unit + integration tests
	$(Q)$(MAKE) --no-print-directory deps
	$(Q)$(MAKE) --no-print-directory corpora
	$(Q)$(MAKE) --no-print-directory -j$$(nproc) all asan
	$(Q)BUILD=$(BUILD) tests/run.sh

test-unit:                   ## only the Criterion unit tests (ASan+UBSan)
	$(Q)$(MAKE) --no-print-directory -j$$(nproc) asan
	$(Q)BUILD=$(BUILD) tests/run.sh --unit

test-integration:            ## only the integration tests (real binaries, real clients)
	$(Q)$(MAKE) --no-print-directory -j$$(nproc) all asan
	$(Q)BUILD=$(BUILD) tests/run.sh --integration

mutants:                     ## apply each deliberate bug (tests/mutants/*.mut) alone; its tests must fail
	$(Q)$(MAKE) --no-print-directory -j$$(nproc) all asan
	$(Q)BUILD=$(BUILD) tests/mutants/run.sh

bench:                       ## install deps, build release, run every bench section (FULL=1: long)
	$(Q)$(MAKE) --no-print-directory deps
	$(Q)$(MAKE) --no-print-directory corpora
	$(Q)$(MAKE) --no-print-directory -j$$(nproc) all
	$(Q)BUILD=$(BUILD) FULL=$(FULL) bench/run.sh

bench-%:                     ## run one bench section, e.g. make bench-io-models
	$(Q)$(MAKE) --no-print-directory deps
	$(Q)$(MAKE) --no-print-directory corpora
	$(Q)$(MAKE) --no-print-directory -j$$(nproc) all
	$(Q)BUILD=$(BUILD) FULL=$(FULL) bench/run.sh $*

bench-compare:               ## print B's bench rows beside A's with ratios: make bench-compare A=dir B=dir
	$(Q)test -n "$(A)" -a -n "$(B)" || { echo "usage: make bench-compare A=DIR B=DIR (runs under bench/results/)" >&2; exit 2; }
	$(Q)/usr/bin/python3 tools/bench_results.py compare "$(A)" "$(B)"

notes:                       ## copy the reference run's tables and numbers into NOTES and docs
	$(Q)/usr/bin/python3 tools/notes.py

corpora:                     ## fetch conformance suites and bench corpora (npm packages) into build/
fuzz:                        ## build and run every libFuzzer target (clang), FUZZ_SECONDS each (default 60)

deps:                        ## apt-get install every missing Debian package (needs root)
	$(Q)tools/deps.sh $(sort $(DEPS_APT))

format:                      ## clang-format every C file in place
	$(Q)git ls-files '*.c' '*.h' | xargs clang-format -i

format-check:                ## fail when a C file differs from .clang-format (make test runs it)
	$(Q)git ls-files '*.c' '*.h' | xargs clang-format --dry-run -Werror

clean:                       ## remove build/ (bench/results stays)
	rm -rf $(BUILD)

help:                        ## list the targets
	@echo "wirelab targets:"
	@grep -hE '^[a-zA-Z%_-]+:.*## ' $(MAKEFILE_LIST) | \
	  sed -E 's/^([^:]+):.*## (.*)/\1|\2/' | awk -F'|' '{printf "  %-17s %s\n", $$1, $$2}'
	@echo "Variables: FULL=1 (long bench), BUILD=dir (default build), V=1 (show commands)"
