# rcptd - SMTP callout verifier. See README.md; the layout is
#   core/    pure logic (no sockets, clock, loop or globals)
#   daemon/  the process: main, config, event loop, library glue
#   api/     HTTP and JSON
#   tests/   unit tests (Check), fuzz targets, the lab, benchmarks
#
# Objects go to $(BUILD) (default build/); `make asan` uses build/asan.

BUILD    ?= build
PREFIX   ?= /usr/local
DESTDIR  ?=
CC       ?= cc
FUZZ_CC  ?= clang
FUZZ_SECONDS ?= 30

PKGS      = libmicrohttpd libcares hiredis libuv jansson libidn2
CORE_PKGS = libidn2
TEST_PKGS = check

OPT   ?= -O2 -g
WARN   = -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wstrict-prototypes \
         -Wmissing-prototypes -Wformat=2 -Wvla -fno-common
SAN    = -fsanitize=address,undefined -fno-sanitize-recover=all \
         -fno-omit-frame-pointer
EXTRA_CFLAGS  ?=
EXTRA_LDFLAGS ?=
# `make V=1` shows the compiler command lines.
V ?= 0
Q = $(if $(filter 1,$(V)),,@)
SAY = $(if $(filter 1,$(V)),@true,@echo)

# pkg-config is asked only when a target needs the libraries, so that
# `make deps` works on a machine that has none of them yet.
pc_cflags = $(shell pkg-config --cflags $(1) 2>/dev/null)
pc_libs   = $(shell pkg-config --libs $(1) 2>/dev/null)

CFLAGS   = -std=gnu11 $(OPT) $(WARN) $(EXTRA_CFLAGS)
CPPFLAGS = -I. -I$(BUILD)/gen -D_GNU_SOURCE -MMD -MP \
           -DRCPTD_VERSION='"$(VERSION)"'
LDFLAGS  = $(EXTRA_LDFLAGS)

VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)

CORE_SRC   = $(sort $(wildcard core/*.c))
API_SRC    = $(sort $(wildcard api/*.c))
DAEMON_SRC = $(sort $(filter-out daemon/main.c,$(wildcard daemon/*.c)))
LISTS      = data/disposable_domains.txt data/free_providers.txt \
             data/role_accounts.txt

CORE_OBJ   = $(CORE_SRC:%.c=$(BUILD)/%.o) $(BUILD)/gen/lists_data.o
APP_OBJ    = $(API_SRC:%.c=$(BUILD)/%.o) $(DAEMON_SRC:%.c=$(BUILD)/%.o)

UNIT_CORE_SRC = $(sort $(wildcard tests/unit/core/test_*.c))
UNIT_APP_SRC  = $(sort $(wildcard tests/unit/app/test_*.c)) \
                tests/unit/app/fixture_stack.c \
                tests/unit/app/fixture_redis.c

FORCE:

.PHONY: FORCE all deps run test unit lint lab-test asan fuzz fuzz-regress bench \
        deploy-test install clean

all: $(BUILD)/rcptd

# ---- the daemon ---------------------------------------------------------

$(BUILD)/rcptd: $(BUILD)/daemon/main.o $(APP_OBJ) $(CORE_OBJ)
	$(SAY) "  CC      $@"
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDFLAGS) $(call pc_libs,$(PKGS)) -lm

$(BUILD)/core/%.o: core/%.c | $(BUILD)/gen/lists_data.c
	@mkdir -p $(@D)
	$(SAY) "  CC      $@"
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(call pc_cflags,$(CORE_PKGS)) -c -o $@ $<

# Test files define their suite functions without a header of their own.
$(BUILD)/tests/%.o: tests/%.c | $(BUILD)/gen/lists_data.c
	@mkdir -p $(@D)
	$(SAY) "  CC      $@"
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -Wno-missing-prototypes \
	  $(call pc_cflags,$(PKGS) $(TEST_PKGS)) \
	  -DTEST_DATA_DIR='"$(CURDIR)/tests/data"' -c -o $@ $<

$(BUILD)/%.o: %.c | $(BUILD)/gen/lists_data.c
	@mkdir -p $(@D)
	$(SAY) "  CC      $@"
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(call pc_cflags,$(PKGS) $(TEST_PKGS)) \
	  -DTEST_DATA_DIR='"$(CURDIR)/tests/data"' -c -o $@ $<

# The domain lists are compiled in (the embedded defaults); files named by
# --disposable-list and friends replace them at run time.
$(BUILD)/gen/lists_data.c: tools/embed-lists.sh $(LISTS)
	@mkdir -p $(@D)
	$(SAY) "  GEN     $@"
	$(Q)sh tools/embed-lists.sh $(LISTS) > $@.tmp && mv $@.tmp $@

$(BUILD)/gen/lists_data.o: $(BUILD)/gen/lists_data.c
	$(SAY) "  CC      $@"
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

# ---- unit tests: one Check runner per layer -----------------------------
# Each tests/unit/<layer>/test_NAME.c defines `Suite *NAME_suite(void)`;
# the runner's list of suites is generated from the file names. The core
# runner links core/ alone: that is the layering promise.

$(BUILD)/gen/suites_%.h: FORCE
	@mkdir -p $(@D)
	@for f in $(sort $(wildcard tests/unit/$*/test_*.c)); do \
	  n=$${f##*/test_}; echo "SUITE($${n%.c})"; done > $@.tmp
	@cmp -s $@.tmp $@ 2>/dev/null && rm -f $@.tmp || mv $@.tmp $@

$(BUILD)/tests/unit_core: tests/unit/runner.c $(UNIT_CORE_SRC:%.c=$(BUILD)/%.o) \
                          $(CORE_OBJ) $(BUILD)/gen/suites_core.h
	$(SAY) "  CC      $@"
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(call pc_cflags,check) \
	  -DSUITES='"suites_core.h"' -DRUNNER='"core"' -o $@ tests/unit/runner.c \
	  $(UNIT_CORE_SRC:%.c=$(BUILD)/%.o) $(CORE_OBJ) $(LDFLAGS) \
	  $(call pc_libs,$(CORE_PKGS) $(TEST_PKGS))

$(BUILD)/tests/unit_app: tests/unit/runner.c $(UNIT_APP_SRC:%.c=$(BUILD)/%.o) \
                         $(APP_OBJ) $(CORE_OBJ) $(BUILD)/gen/suites_app.h
	$(SAY) "  CC      $@"
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(call pc_cflags,$(PKGS) check) \
	  -DSUITES='"suites_app.h"' -DRUNNER='"app"' -o $@ tests/unit/runner.c \
	  $(UNIT_APP_SRC:%.c=$(BUILD)/%.o) $(APP_OBJ) $(CORE_OBJ) $(LDFLAGS) \
	  $(call pc_libs,$(PKGS) $(TEST_PKGS)) -lm

# ---- fuzz targets ---------------------------------------------------------
# Every tests/fuzz/fuzz_NAME.c is built twice: with a plain main() driver
# that replays tests/fuzz/corpus/NAME/* (run by `make test`), and with
# libFuzzer for `make fuzz`.

FUZZ_SRC     = $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_NAMES   = $(FUZZ_SRC:tests/fuzz/fuzz_%.c=%)
FUZZ_REGRESS = $(FUZZ_NAMES:%=$(BUILD)/tests/regress_%)

$(BUILD)/tests/regress_%: tests/fuzz/fuzz_%.c tests/fuzz/driver.c $(APP_OBJ) $(CORE_OBJ)
	@mkdir -p $(@D)
	$(SAY) "  CC      $@"
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -Wno-missing-prototypes $(call pc_cflags,$(PKGS)) -o $@ $< \
	  tests/fuzz/driver.c $(APP_OBJ) $(CORE_OBJ) $(LDFLAGS) \
	  $(call pc_libs,$(PKGS)) -lm

fuzz-regress: $(FUZZ_REGRESS)
	@for n in $(FUZZ_NAMES); do \
	  $(BUILD)/tests/regress_$$n tests/fuzz/corpus/$$n || exit 1; done

fuzz: deps
	$(MAKE) BUILD=build/fuzz CC=$(FUZZ_CC) OPT="-O1 -g" \
	  EXTRA_CFLAGS="$(SAN) -fsanitize=fuzzer-no-link" \
	  EXTRA_LDFLAGS="$(SAN)" fuzz-build
	@for n in $(FUZZ_NAMES); do \
	  mkdir -p build/fuzz/corpus/$$n && \
	  echo "fuzz: $$n for $(FUZZ_SECONDS) s" && \
	  build/fuzz/fuzz_$$n -max_total_time=$(FUZZ_SECONDS) -max_len=4096 \
	    -print_final_stats=1 build/fuzz/corpus/$$n tests/fuzz/corpus/$$n \
	    2>build/fuzz/$$n.log || { tail -n 40 build/fuzz/$$n.log; exit 1; }; \
	  grep -E 'stat::number_of_executed_units' build/fuzz/$$n.log; \
	done

fuzz-build: $(FUZZ_NAMES:%=$(BUILD)/fuzz_%)

$(BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(APP_OBJ) $(CORE_OBJ)
	$(SAY) "  CC      $@"
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -Wno-missing-prototypes $(call pc_cflags,$(PKGS)) -fsanitize=fuzzer \
	  -o $@ $^ $(LDFLAGS) $(call pc_libs,$(PKGS)) -lm

# ---- the targets people type ----------------------------------------------

deps:
	@sh tools/deps.sh

run: deps
	@$(MAKE) --no-print-directory $(BUILD)/rcptd
	$(BUILD)/rcptd serve

lint:
	@sh tools/lint.sh

unit: $(BUILD)/tests/unit_core $(BUILD)/tests/unit_app
	$(BUILD)/tests/unit_core
	$(BUILD)/tests/unit_app

# The integration lab needs root (network namespaces); tests/lab/run-tests says
# so in one line and skips when it is not.
lab-test: $(BUILD)/rcptd
	@RCPTD=$(CURDIR)/$(BUILD)/rcptd sh tests/lab/run-tests

# The unit runners go last so that the output closes with Check's summary.
test: deps
	@$(MAKE) --no-print-directory lint
	@$(MAKE) --no-print-directory all fuzz-regress $(BUILD)/tests/unit_core \
	  $(BUILD)/tests/unit_app
	@$(MAKE) --no-print-directory lab-test
	@$(MAKE) --no-print-directory unit

asan: deps
	$(MAKE) BUILD=build/asan OPT="-O1 -g" EXTRA_CFLAGS="$(SAN)" \
	  EXTRA_LDFLAGS="$(SAN)" all fuzz-regress lab-test unit

bench: $(BUILD)/rcptd
	@sh tools/deps.sh bench
	@RCPTD=$(CURDIR)/$(BUILD)/rcptd sh tests/bench/run

# Docker, compose, Kubernetes, systemd, OpenAPI and man page checks, and
# the image run against the lab (tests/deploy/run; the container half
# needs root, like the lab).
deploy-test: $(BUILD)/rcptd
	@sh tools/deps.sh deploy
	@RCPTD=$(CURDIR)/$(BUILD)/rcptd BUILD=$(BUILD) bash tests/deploy/run

# The binary, the lists, the man page, the systemd unit (its paths follow
# PREFIX and SYSCONFDIR) and the example configuration; an existing
# $(SYSCONFDIR)/rcptd/rcptd.conf is kept.
SYSCONFDIR ?= /etc
install: $(BUILD)/rcptd
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/rcptd \
	  $(DESTDIR)$(PREFIX)/share/man/man1 \
	  $(DESTDIR)$(PREFIX)/lib/systemd/system $(DESTDIR)$(SYSCONFDIR)/rcptd
	install -m 0755 $(BUILD)/rcptd $(DESTDIR)$(PREFIX)/bin/rcptd
	install -m 0644 $(LISTS) $(DESTDIR)$(PREFIX)/share/rcptd/
	install -m 0644 deploy/rcptd.1 $(DESTDIR)$(PREFIX)/share/man/man1/rcptd.1
	sed -e 's|/usr/local/bin/|$(PREFIX)/bin/|' \
	  -e 's|/etc/rcptd/|$(SYSCONFDIR)/rcptd/|g' deploy/systemd/rcptd.service \
	  > $(DESTDIR)$(PREFIX)/lib/systemd/system/rcptd.service
	chmod 0644 $(DESTDIR)$(PREFIX)/lib/systemd/system/rcptd.service
	install -m 0644 deploy/rcptd.conf \
	  $(DESTDIR)$(PREFIX)/share/rcptd/rcptd.conf.example
	test -e $(DESTDIR)$(SYSCONFDIR)/rcptd/rcptd.conf || \
	  install -m 0644 deploy/rcptd.conf $(DESTDIR)$(SYSCONFDIR)/rcptd/rcptd.conf

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
