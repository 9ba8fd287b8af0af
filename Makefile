# opusd build. Two flavours share this file:
#   build/rel   optimised daemon used by `make run` and `make bench`
#   build/asan  ASan+UBSan build used by `make test`
# Every module is a directory under src/ and is picked up by wildcard, so adding a
# file needs no change here. Unit tests are tests/unit/test_*.c, one binary each,
# linked against every object but main.o.

PKGS     := libmicrohttpd sqlite3 libxml-2.0 jansson libcrypto libcurl
CC       ?= cc
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wformat=2 -Wno-format-nonliteral -Wvla
BASE_CFLAGS := -std=c17 -D_GNU_SOURCE $(WARN) -Isrc $(PKG_CFLAGS) -MMD -MP -pthread
LDLIBS   := $(PKG_LIBS) -pthread -lm

FLAVOUR  ?= rel
ifeq ($(FLAVOUR),asan)
  OPT := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
else
  OPT := -O2 -g
endif
BUILD    ?= build/$(FLAVOUR)

SRCS     := $(wildcard src/*/*.c) src/main.c
OBJS     := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(SRCS))
LIBOBJS  := $(filter-out $(BUILD)/obj/main.o,$(OBJS))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))

.PHONY: all build run test unit-bins bench lint deps deps-test clean format fuzz

all: build
build: $(BUILD)/opusd

$(BUILD)/opusd: $(OBJS)
	$(CC) $(OPT) -o $@ $^ $(LDLIBS)

$(BUILD)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(OPT) -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c tests/unit/check.h $(LIBOBJS)
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(OPT) -Itests/unit -o $@ $< $(LIBOBJS) $(LDLIBS)

unit-bins: $(UNIT_BINS)

deps:
	@scripts/deps.sh run

deps-test:
	@scripts/deps.sh test

# Starts opusd with its embedded defaults on http://127.0.0.1:8080.
run: deps
	@mkdir -p var
	@$(MAKE) --no-print-directory FLAVOUR=rel build
	@scripts/run.sh build/rel/opusd $(ARGS)

# Installs test dependencies, builds with sanitizers, runs unit then integration tests.
test: deps-test
	@$(MAKE) --no-print-directory FLAVOUR=asan build unit-bins
	@scripts/test.sh build/asan

# The fuzzers alone, FUZZ_SECONDS each (make test runs them for 10 s each).
fuzz: deps-test
	@scripts/fuzz.sh $(or $(FUZZ_SECONDS),60)

bench: deps-test
	@$(MAKE) --no-print-directory FLAVOUR=rel build
	@bench/bench.sh build/rel/opusd

lint:
	clang-format --dry-run --Werror $(wildcard src/*/*.c src/*/*.h src/main.c tests/unit/*.c tests/unit/*.h tests/fuzz/*.c)
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability --std=c11 \
	  --suppress=missingIncludeSystem --inline-suppr -Isrc src

format:
	clang-format -i $(wildcard src/*/*.c src/*/*.h src/main.c tests/unit/*.c tests/unit/*.h tests/fuzz/*.c)

clean:
	rm -rf build

-include $(OBJS:.o=.d)
