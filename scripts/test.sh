#!/usr/bin/env bash
# `make test`: the unit test binaries of the ASan+UBSan build and of the
# ThreadSanitizer build, the fuzzers (scripts/fuzz.sh, a bounded time each),
# the integration suite against the ASan daemon on SQLite and again against
# the TSan daemon on PostgreSQL, then the SLURM suite (tests/slurm, a real
# cluster on loopback), then the build tests (tests/install: make install, man page, example
# configuration, hardening), then the browser tests (tests/web, node --test,
# headless chromium) against the ASan daemon. Ends with one summary line:
#   "N passed, N failed, N skipped"
#   scripts/test.sh build/asan [build/tsan]
# Every unit binary runs under `timeout` (UNIT_TIMEOUT, 300 s), every pytest
# test under pytest-timeout (TEST_TIMEOUT, 120 s) and each pytest run under
# `timeout` (SUITE_TIMEOUT, 1200 s): a deadlock fails in minutes, not never.
set -uo pipefail
asan=$1 tsan=${2:-}
cd "$(dirname "$0")/.."
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# A TSan report stops the process (exit 66): the test that raced fails.
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:exitcode=66:second_deadlock_stack=1}
unit_timeout=${UNIT_TIMEOUT:-300} test_timeout=${TEST_TIMEOUT:-120} suite_timeout=${SUITE_TIMEOUT:-1200}
passed=0 failed=0 skipped=0

units() { # build dir
	local t out rc line p f up=0 uf=0
	for t in "$1"/tests/test_*; do
		[ -x "$t" ] || continue
		out=$(timeout -k 10 "$unit_timeout" "$t" 2>&1); rc=$?
		line=$(printf '%s\n' "$out" | grep -E '^unit .*: [0-9]+ passed, [0-9]+ failed$' | tail -1)
		p=$(sed -E 's/.*: ([0-9]+) passed.*/\1/' <<<"$line"); f=$(sed -E 's/.* ([0-9]+) failed$/\1/' <<<"$line")
		[ -n "$line" ] || { p=0; f=1; }
		[ $rc -ne 0 ] && [ "${f:-0}" -eq 0 ] && f=1   # crashed, timed out or sanitizer report
		up=$((up + p)); uf=$((uf + f))
		if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
			printf '%s\n' "$out" | tail -40; echo "FAILED: $t (timed out after ${unit_timeout}s)"
		elif [ $rc -ne 0 ]; then
			printf '%s\n' "$out" | tail -40; echo "FAILED: $t"
		else
			echo "$line ($1)"
		fi
	done
	echo "unit tests ($1): $up passed, $uf failed"
	passed=$((passed + up)); failed=$((failed + uf))
}

suite() { # label, pytest arguments...
	local label=$1 junit prc ip if_ is tflag=()
	shift
	junit=$(mktemp)
	/usr/bin/python3 -c 'import pytest_timeout' 2>/dev/null && tflag=(--timeout="$test_timeout")
	echo "== $label"
	timeout -k 30 "$suite_timeout" /usr/bin/python3 -m pytest -q -p no:cacheprovider \
		"${tflag[@]}" --junitxml="$junit" "$@"
	prc=$?
	[ $prc -eq 124 ] && echo "FAILED: $label (timed out after ${suite_timeout}s)"
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
	passed=$((passed + ip)); failed=$((failed + if_)); skipped=$((skipped + is))
}

units "$asan"
[ -n "$tsan" ] && units "$tsan"

# Fuzzers: each target runs FUZZ_SECONDS (default 10) and counts as one test.
fuzz_out=$(scripts/fuzz.sh "${FUZZ_SECONDS:-10}" 2>&1)
printf '%s\n' "$fuzz_out" | grep -v '^fuzz .*: passed' | tail -60
printf '%s\n' "$fuzz_out" | grep '^fuzz .*: passed'
fp=$(grep -c '^fuzz .*: passed' <<<"$fuzz_out"); ff=$(grep -c '^fuzz .*: failed' <<<"$fuzz_out")
[ "$fp" -eq 0 ] && [ "$ff" -eq 0 ] && ff=1   # the fuzz script itself broke
passed=$((passed + fp)); failed=$((failed + ff))

# The integration suite once per build and once per store: the ASan daemon on
# SQLite, the TSan daemon on PostgreSQL (OPUSD_TEST_STORE, one real server for
# the pass, scripts/pg.sh). Without a TSan build, the ASan daemon does both.
OPUSD_TEST_STORE=sqlite OPUSD_BIN=$PWD/$asan/opusd suite "integration ($asan, SQLite)" tests/integration
if [ -n "$tsan" ]; then
	OPUSD_TEST_STORE=postgresql OPUSD_BIN=$PWD/$tsan/opusd \
		suite "integration ($tsan, PostgreSQL)" tests/integration
else
	OPUSD_TEST_STORE=postgresql OPUSD_BIN=$PWD/$asan/opusd \
		suite "integration ($asan, PostgreSQL)" tests/integration
fi
# The SLURM suite (tests/slurm): a real single-node cluster that the suite
# starts and stops itself (scripts/slurm.sh), against the ASan daemon.
OPUSD_BIN=$PWD/$asan/opusd suite "slurm ($asan)" tests/slurm
suite "build (make install)" tests/install

# The browser tests (tests/web): node's runner, Debian's chromium driven by
# playwright-core (tests/web/package-lock.json), against the ASan daemon. A
# missing node, npm package or browser fails here; nothing is skipped.
web() { # build dir
	local tap rc wp=0 wf=0 ws=0
	echo "== web ($1)"
	if ! command -v node >/dev/null || ! [ -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
		echo "FAILED: web: node or ${CHROMIUM:-/usr/bin/chromium} missing (scripts/deps.sh test)"
		failed=$((failed + 1)); return
	fi
	if ! [ -d tests/web/node_modules/playwright-core ] &&
		! npm ci --prefix tests/web --no-audit --no-fund --loglevel=error; then
		echo "FAILED: web: npm ci --prefix tests/web"
		failed=$((failed + 1)); return
	fi
	tap=$(mktemp)
	OPUSD_BIN=$PWD/$1/opusd timeout -k 30 "$suite_timeout" node --test \
		--test-timeout=$((test_timeout * 1000)) --test-reporter=spec \
		--test-reporter=tap --test-reporter-destination=stdout \
		--test-reporter-destination="$tap" tests/web/
	rc=$?
	[ $rc -eq 124 ] && echo "FAILED: web (timed out after ${suite_timeout}s)"
	read -r wp wf ws < <(awk '/^# pass [0-9]+$/ { p = $3 } /^# (fail|cancelled) [0-9]+$/ { f += $3 }
		/^# (skipped|todo) [0-9]+$/ { s += $3 } END { print p + 0, f + 0, s + 0 }' "$tap")
	rm -f "$tap"
	wp=${wp:-0} wf=${wf:-0} ws=${ws:-0}
	[ $rc -ne 0 ] && [ "$wf" -eq 0 ] && wf=1
	[ "$wp" -eq 0 ] && [ "$wf" -eq 0 ] && wf=1 # no test ran: the runner itself broke
	echo "web tests ($1): $wp passed, $wf failed, $ws skipped"
	passed=$((passed + wp)); failed=$((failed + wf)); skipped=$((skipped + ws))
}
web "$asan"

echo "$passed passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ]
