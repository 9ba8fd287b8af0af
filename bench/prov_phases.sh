#!/bin/sh
# Builds bench/prov_phases.c against a build's objects (default build/rel):
#   bench/prov_phases.sh [BUILD_DIR [OUT]]
# then: OUT DATA_DIR JDL_DIR ID FORMAT [N] (see prov_phases.c).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/.."
build=${1:-build/rel}
out=${2:-$build/prov_phases}
pkgs=$(scripts/deps.sh --pc)
objs=$(find -L "$build/obj" -name '*.o' ! -path "$build/obj/main.o" | sort)
# shellcheck disable=SC2086
cc -std=c17 -D_GNU_SOURCE -O2 -g -Isrc $(pkg-config --cflags $pkgs) -o "$out" \
	bench/prov_phases.c $objs $(pkg-config --libs $pkgs) -pthread -lm
echo "$out"
