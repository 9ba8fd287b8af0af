#!/usr/bin/env bash
# Development helper: builds and runs ONE unit test against only the modules
# named, with the test build's flags (ASan+UBSan, -Werror), without needing
# every other module to compile. `make test` builds everything for real.
#   scripts/unit-dev.sh tests/unit/test_jdl.c base jdl
set -euo pipefail
test_src=$1; shift
srcs=()
for m in "$@"; do srcs+=(src/"$m"/*.c); done
pkgs=$("$(dirname "$0")"/deps.sh --pc)  # the modules of scripts/packages
out=build/dev/$(basename "$test_src" .c)
mkdir -p build/dev
cc -std=c17 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
   -Wmissing-prototypes -Wformat=2 -Wno-format-nonliteral -Wvla -Isrc -Itests/unit \
   -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined \
   -pthread $(pkg-config --cflags $pkgs) -o "$out" "$test_src" "${srcs[@]}" \
   $(pkg-config --libs $pkgs) -pthread -lm
exec "$out"
