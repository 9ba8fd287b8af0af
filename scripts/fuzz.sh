#!/usr/bin/env bash
# The fuzzers (tests/fuzz/fuzz_*.c, libFuzzer + ASan + UBSan): builds each
# against the modules it needs with clang and runs it for a bounded time from
# a seed corpus. One line per target: "fuzz NAME: passed" or "... failed".
#   scripts/fuzz.sh [seconds per target, default 10]
# A failure leaves the crashing input in build/fuzz/crash-* and prints how to
# replay it: build/fuzz/NAME build/fuzz/crash-...
set -uo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
out=build/fuzz
mkdir -p "$out"
pkgs=$(scripts/deps.sh --pc)  # the modules of scripts/packages
flags=(-std=c17 -D_GNU_SOURCE -Wall -Wextra -Werror -Isrc -g -O1 -fno-omit-frame-pointer
       -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -pthread)
declare -A modules=(
	[fuzz_jdl_xml]="base jdl" [fuzz_jdl_json]="base jdl"
	[fuzz_jdl_wadl]="base jdl" [fuzz_jdl_opus_json]="base jdl"
	[fuzz_fetch_ref]="base fetch" [fuzz_time]="base" [fuzz_provsap]="base"
	[fuzz_prov_writers]="base" [fuzz_auth]="base auth store uws"
)
declare -A seeds=(
	[fuzz_jdl_xml]="tests/data/opus-jdl jobdefs tests/integration/jobdefs tests/data/bad-jdl"
	[fuzz_jdl_json]="" [fuzz_fetch_ref]="" [fuzz_time]=""
	[fuzz_jdl_wadl]="" [fuzz_jdl_opus_json]="" [fuzz_provsap]="" [fuzz_prov_writers]=""
	[fuzz_auth]=""
)

seed_corpus() { # name dir
	case $1 in
	fuzz_jdl_wadl) cp tests/data/opus-site/wadl/*.wadl "$2"/ ;;
	fuzz_jdl_opus_json) cp tests/data/opus-site/json/*.json "$2"/ ;;
	fuzz_jdl_json)
		for f in jobdefs/*.xml; do
			"$out/jdl2json" "$f" > "$2/$(basename "$f" .xml).json" 2>/dev/null || true
		done ;;
	fuzz_fetch_ref)
		printf 'https://example.org/a?b=c' > "$2/url"
		printf 'file:///srv/data/x%%20y' > "$2/file"
		printf 'M31 a&b\0http://h/data?id=$ID' > "$2/id"
		printf '0123456789abcdef0123456789abcdef/out.txt' > "$2/entity"
		printf '/srv/data/x\0file://$ID' > "$2/fileid" ;;
	fuzz_time)
		for t in 2026 2026-11 2026-11-23T10:00 2026-11-23T10:00:05.123Z 2026-11-23T10:00+01:30; do
			printf '%s' "$t" > "$2/$t"
		done ;;
	fuzz_provsap) # the first byte picks a per-job URL (odd) or /provsap (even)
		printf '0ID=0123456789abcdef0123456789abcdef&DEPTH=ALL&RESPONSEFORMAT=PROV-JSON' > "$2/all"
		printf '0id=e0123456789abcdef0123456789abcdef&id=0123456789abcdef0123456789abcdef' > "$2/ids"
		printf '1depth=3&direction=FORTH&model=W3C&agent=0&configuration=yes&gd=TB' > "$2/job"
		printf '0ID=x&DESCRIPTIONS=2&ATTRIBUTES=false&MEMBERS=1&DESCRIPTION=1' > "$2/bad" ;;
	fuzz_prov_writers) # NUL-separated: file name, source, URL, role
		printf 'out "1" <a> & b.txt\0upload:x y\0http://h/store/?ID=e1&x="y"\0in\\n' > "$2/a"
		printf '\xc3\xa9\xff\x01]]>\0--\0\0%%%%' > "$2/b" ;;
	fuzz_auth) # Authorization, then NUL and X-Opus-On-Behalf-Of
		printf 'Basic YWxpY2U6YWxpY2UtdG9rZW4=' > "$2/alice"
		printf 'Bearer root-token' > "$2/bearer"
		printf 'Basic Og==' > "$2/anonymous"
		printf 'Basic ZnJvbnQ6eA==\0alice' > "$2/app"
		printf 'Bearer x\0bob' > "$2/bearer-app" ;;
	esac
	for d in ${seeds[$1]}; do cp "$d"/*.xml "$2"/ 2>/dev/null || true; done
}

# A tiny helper to turn XML descriptions into their JSON shape for the seeds.
cat > "$out/jdl2json.c" <<'C'
#include "jdl/jdl.h"
#include <stdio.h>
int main(int argc, char **argv)
{
	struct jdl *j = NULL;
	struct sbuf sb = SBUF_INIT;
	if (argc != 2 || jdl_parse_file(argv[1], NULL, &j, NULL) != 0 || jdl_write_json(j, &sb))
		return 1;
	/* the JSON shape of POST /jdl carries the script too */
	printf("%.*s", (int)sb.len - 1, sb.buf);
	printf(",\"script\":\"%s\"}", "echo fuzz");
	return 0;
}
C
cc -std=c17 -D_GNU_SOURCE -Isrc -o "$out/jdl2json" "$out/jdl2json.c" src/base/*.c src/jdl/*.c \
	$(pkg-config --cflags --libs $pkgs) -pthread -lm 2>/dev/null

failed=0
for name in fuzz_jdl_xml fuzz_jdl_json fuzz_jdl_wadl fuzz_jdl_opus_json fuzz_fetch_ref fuzz_time \
	fuzz_provsap fuzz_prov_writers fuzz_auth; do
	srcs=()
	for m in ${modules[$name]}; do srcs+=(src/"$m"/*.c); done
	if ! clang "${flags[@]}" $(pkg-config --cflags $pkgs) -o "$out/$name" "tests/fuzz/$name.c" \
		"${srcs[@]}" $(pkg-config --libs $pkgs) -lm; then
		echo "fuzz $name: failed (does not build)"; failed=1; continue
	fi
	corpus=$out/corpus-$name
	rm -rf "$corpus"; mkdir -p "$corpus"
	seed_corpus "$name" "$corpus"
	if (cd "$out" && ASAN_OPTIONS=detect_leaks=1 ./"$name" -seed=1 -max_len=65536 \
		-max_total_time="$secs" -timeout=10 -rss_limit_mb=1024 "corpus-$name" \
		> "$name.log" 2>&1); then
		echo "fuzz $name: passed ($(grep -o 'Done [0-9]* runs' "$out/$name.log" | head -1))"
	else
		tail -30 "$out/$name.log"
		echo "fuzz $name: failed (replay: $out/$name $(ls "$out"/crash-* "$out"/leak-* 2>/dev/null | head -1))"
		failed=1
	fi
done
exit $failed
