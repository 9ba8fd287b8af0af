#!/usr/bin/env bash
# `make test`: every unit test binary, the fuzzers (scripts/fuzz.sh, a bounded
# time each), then the integration suite against the real daemon (ASan+UBSan
# build). Ends with one summary line:
#   "N passed, N failed"
set -uo pipefail
build=$1
cd "$(dirname "$0")/.."
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
passed=0 failed=0
for t in "$build"/tests/test_*; do
	[ -x "$t" ] || continue
	out=$("$t" 2>&1); rc=$?
	line=$(printf '%s\n' "$out" | grep -E '^unit .*: [0-9]+ passed, [0-9]+ failed$' | tail -1)
	p=$(sed -E 's/.*: ([0-9]+) passed.*/\1/' <<<"$line"); f=$(sed -E 's/.* ([0-9]+) failed$/\1/' <<<"$line")
	[ -n "$line" ] || { p=0; f=1; }
	[ $rc -ne 0 ] && [ "${f:-0}" -eq 0 ] && f=1   # crashed or sanitizer report
	passed=$((passed + p)); failed=$((failed + f))
	if [ $rc -ne 0 ]; then printf '%s\n' "$out" | tail -40; echo "FAILED: $t"; else echo "$line"; fi
done
echo "unit tests: $passed passed, $failed failed"

# Fuzzers: each target runs FUZZ_SECONDS (default 10) and counts as one test.
fuzz_out=$(scripts/fuzz.sh "${FUZZ_SECONDS:-10}" 2>&1)
printf '%s\n' "$fuzz_out" | grep -v '^fuzz .*: passed' | tail -60
printf '%s\n' "$fuzz_out" | grep '^fuzz .*: passed'
fp=$(grep -c '^fuzz .*: passed' <<<"$fuzz_out"); ff=$(grep -c '^fuzz .*: failed' <<<"$fuzz_out")
[ "$fp" -eq 0 ] && [ "$ff" -eq 0 ] && ff=1   # the fuzz script itself broke
passed=$((passed + fp)); failed=$((failed + ff))

export OPUSD_BIN=$PWD/$build/opusd
junit=$(mktemp)
/usr/bin/python3 -m pytest -q -p no:cacheprovider --junitxml="$junit" tests/integration
prc=$?
read -r ip if_ is < <(/usr/bin/python3 - "$junit" <<'PY'
import sys, xml.etree.ElementTree as ET
try:
    r = ET.parse(sys.argv[1]).getroot()
    s = r if r.tag == "testsuite" else r.find("testsuite")
    t, f, e, sk = (int(s.get(k, 0)) for k in ("tests", "failures", "errors", "skipped"))
    print(t - f - e - sk, f + e, sk)
except Exception:
    print(0, 1, 0)
PY
)
rm -f "$junit"
[ $prc -ne 0 ] && [ "$if_" -eq 0 ] && if_=1
passed=$((passed + ip)); failed=$((failed + if_))
echo "$passed passed, $failed failed, $is skipped"
[ $failed -eq 0 ]
