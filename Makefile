# opusd build. Three flavours share this file, each in its own directory:
#   build/rel   optimised daemon: make, make run, make bench, make install
#   build/asan  ASan+UBSan build used by make test
#   build/tsan  ThreadSanitizer build used by make test (ASan and TSan cannot
#               be combined in one binary, hence a flavour of its own)
# Every module is a directory under src/ and is picked up by wildcard, so adding a
# file needs no change here. Unit tests are tests/unit/test_*.c, one binary each,
# linked against every object but main.o.
#
# CPPFLAGS, CFLAGS and LDFLAGS are honoured (Debian's dpkg-buildflags), e.g.
#   make CFLAGS="$(dpkg-buildflags --get CFLAGS)" CPPFLAGS="$(dpkg-buildflags --get CPPFLAGS)" \
#        LDFLAGS="$(dpkg-buildflags --get LDFLAGS)" && make install DESTDIR=/tmp/root PREFIX=/usr
# Warnings are errors (WERROR=1) in the asan and tsan flavours, which development
# and make test use; a plain release or package build (rel) only warns, so a newer
# compiler does not break a package build. Override with WERROR=0 or WERROR=1.

PKGS     := $(shell scripts/deps.sh --pc)
CC       ?= cc
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

FLAVOUR  ?= rel
ifeq ($(FLAVOUR),rel)
  SAN    :=
  WERROR ?= 0
else ifeq ($(FLAVOUR),asan)
  SAN    := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
  WERROR ?= 1
else ifeq ($(FLAVOUR),tsan)
  SAN    := -O1 -g -fno-omit-frame-pointer -fsanitize=thread
  WERROR ?= 1
else
  $(error FLAVOUR is rel, asan or tsan)
endif
BUILD    ?= build/$(FLAVOUR)

CFLAGS   ?= -O2 -g
WARN     := -Wall -Wextra $(if $(filter 1,$(WERROR)),-Werror) -Wshadow -Wstrict-prototypes \
            -Wmissing-prototypes -Wformat=2 -Wno-format-nonliteral -Wvla
BASE_CFLAGS := -std=c17 -D_GNU_SOURCE $(WARN) -Isrc $(PKG_CFLAGS) -MMD -MP -pthread
ALL_CFLAGS  := $(CPPFLAGS) $(BASE_CFLAGS) $(CFLAGS) $(SAN)
LDLIBS   := $(PKG_LIBS) -pthread -lm

# Installation (GNU and Debian conventions; DESTDIR for staged installs).
PREFIX   ?= /usr/local
SBINDIR  ?= $(PREFIX)/sbin
DATADIR  ?= $(PREFIX)/share/opusd
MANDIR   ?= $(PREFIX)/share/man
DOCDIR   ?= $(PREFIX)/share/doc/opusd
INSTALL  ?= install

SRCS     := $(wildcard src/*/*.c) src/main.c
OBJS     := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(SRCS))
LIBOBJS  := $(filter-out $(BUILD)/obj/main.o,$(OBJS))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
C_FILES  := $(wildcard src/*/*.c src/*/*.h src/main.c tests/unit/*.c tests/unit/*.h tests/fuzz/*.c)

# Objects depend on the flags they were built with: changing CFLAGS rebuilds.
FLAGS_FILE := $(BUILD)/flags
$(shell mkdir -p $(BUILD) && echo '$(CC) $(ALL_CFLAGS) $(LDFLAGS)' | cmp -s - $(FLAGS_FILE) || \
        echo '$(CC) $(ALL_CFLAGS) $(LDFLAGS)' > $(FLAGS_FILE))

.PHONY: all build run test unit-bins bench lint deps clean format fuzz install example-config

all: build
build: $(BUILD)/opusd

$(BUILD)/opusd: $(OBJS)
	$(CC) $(CFLAGS) $(SAN) $(LDFLAGS) -pthread -o $@ $^ $(LDLIBS)

$(BUILD)/obj/%.o: src/%.c $(FLAGS_FILE)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c tests/unit/check.h $(LIBOBJS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -Itests/unit -o $@ $< $(LIBOBJS) $(LDLIBS)

unit-bins: $(UNIT_BINS)

deps:
	@scripts/deps.sh build

# Starts opusd with its embedded defaults on http://127.0.0.1:8080.
run: deps
	@mkdir -p var
	@$(MAKE) --no-print-directory FLAVOUR=rel build
	@scripts/run.sh build/rel/opusd $(ARGS)

# Installs test dependencies; builds the asan and tsan flavours; runs unit tests,
# fuzzers and integration tests (scripts/test.sh says what runs where).
test:
	@scripts/deps.sh build test
	@$(MAKE) --no-print-directory FLAVOUR=asan build unit-bins
	@$(MAKE) --no-print-directory FLAVOUR=tsan build unit-bins
	@scripts/test.sh build/asan build/tsan

# The fuzzers alone, FUZZ_SECONDS each (make test runs them for 10 s each).
fuzz:
	@scripts/deps.sh build test
	@scripts/fuzz.sh $(or $(FUZZ_SECONDS),60)

bench:
	@scripts/deps.sh build test bench
	@$(MAKE) --no-print-directory FLAVOUR=rel build
	@bench/bench.sh build/rel/opusd

# clang-format (.clang-format), cppcheck, clang-tidy (.clang-tidy): any finding fails.
lint:
	@scripts/deps.sh build lint
	@scripts/lint.sh

format:
	clang-format -i $(C_FILES)

# The daemon, its man page (its paths under PREFIX), an example configuration
# (every key with its default), the example job descriptions and the web
# client (web/, with its vendored libraries; hidden files left out).
WEB_FILES := $(shell find web -type f ! -name '.*' ! -path '*/.*' 2>/dev/null | LC_ALL=C sort)
install: build
	$(INSTALL) -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 \
	  $(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(DATADIR)/jobdefs
	for f in $(WEB_FILES); do \
	  $(INSTALL) -D -m 0644 "$$f" "$(DESTDIR)$(DATADIR)/$$f" || exit 1; done
	$(INSTALL) -m 0755 $(BUILD)/opusd $(DESTDIR)$(SBINDIR)/opusd
	sed -e 's|/usr/local/share/opusd|$(DATADIR)|g' -e 's|/usr/local/share/doc/opusd|$(DOCDIR)|g' \
	  docs/opusd.8 > $(DESTDIR)$(MANDIR)/man8/opusd.8
	chmod 0644 $(DESTDIR)$(MANDIR)/man8/opusd.8
	$(INSTALL) -m 0644 etc/opusd.conf $(DESTDIR)$(DOCDIR)/examples/opusd.conf
	$(INSTALL) -m 0644 jobdefs/*.xml $(DESTDIR)$(DATADIR)/jobdefs/

clean:
	rm -rf build

-include $(OBJS:.o=.d)

# Rewrites etc/opusd.conf from the binary's own table (after adding a key):
# --check-config with the two values it resolves put back to their defaults.
example-config: build
	{ sed -n '/^#/p;/^$$/q' etc/opusd.conf; echo; $(BUILD)/opusd --check-config | \
	  sed -e 's/^base_url = .*/base_url =/' -e 's/^max_running = .*/max_running = 0/'; } > etc/opusd.conf.new
	mv etc/opusd.conf.new etc/opusd.conf
