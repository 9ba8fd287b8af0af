#!/usr/bin/env bash
# opusd benchmark: `make bench` runs it on the release build.
#   bench/bench.sh build/rel/opusd
# Starts one daemon on a free 127.0.0.1 port with a temp data dir and the
# repository's ./jobdefs, measures, prints one markdown table, stops the daemon.
# Exit status: 0 when the measures ran (targets met or not); non-zero when the
# daemon does not start, dies, or exits badly on SIGTERM.
# Needs: wrk, /usr/bin/python3 (stdlib only); for step 8, node, tests/web's
# playwright-core (npm ci --prefix tests/web, done here when missing) and
# /usr/bin/chromium; for the SLURM rows (bench/slurm.sh), scripts/slurm.sh's cluster
# (its packages are installed when missing); for the PostgreSQL rows (bench/pg.sh,
# P1-P5: rows 1-3 on PostgreSQL, one instance against three on one database), the
# PostgreSQL server packages (scripts/pg.sh). Runs in about 8-9 minutes.
set -uo pipefail

bin=${1:-build/rel/opusd}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
PY=/usr/bin/python3
helper() { "$PY" "$here/helper.py" "$@"; }

command -v wrk >/dev/null || { echo "bench: wrk not found (scripts/deps.sh bench)" >&2; exit 2; }
[ -x "$bin" ] || { echo "bench: $bin is not executable" >&2; exit 2; }
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")

# 1,000 waiting clients + the daemon's side of them need file descriptors.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

TARGET_JOBS=100000
WAITERS=1000
BURST=1000
CHAIN=1000
tmp=$(mktemp -d "${TMPDIR:-/tmp}/opusd-bench.XXXXXX")
pid=""
bgpids=()

stop_daemon() { # SIGTERM, wait at most 20 s, then SIGKILL; sets $daemon_rc
	daemon_rc=0
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null
	for _ in $(seq 200); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo "bench: daemon did not stop within 20 s of SIGTERM; killing it" >&2
		kill -KILL "$pid" 2>/dev/null
		daemon_rc=137
		wait "$pid" 2>/dev/null
	else
		wait "$pid"
		daemon_rc=$?
	fi
	pid=""
}
cleanup() {
	for p in "${bgpids[@]}"; do kill "$p" 2>/dev/null; done
	stop_daemon
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() {
	echo "bench: $*" >&2
	if [ -s "$tmp/opusd.log" ]; then
		echo "--- last lines of the daemon log ---" >&2
		tail -n 30 "$tmp/opusd.log" >&2
	fi
	exit 1
}
check_alive() { # $1: what was running
	kill -0 "$pid" 2>/dev/null && return 0
	wait "$pid"
	local rc=$?
	pid=""
	die "daemon died during $1 (exit status $rc)"
}

# ---- wrk output parsing
wrk_rps() { awk '/^Requests\/sec:/ {print int($2); f=1} END {if (!f) print 0}' "$1"; }
wrk_reqs() { awk '/ requests in / {print $1; f=1} END {if (!f) print 0}' "$1"; }
wrk_bad() { # non-2xx/3xx responses + socket errors
	awk '/Non-2xx or 3xx responses:/ {n += $NF}
	     /Socket errors:/ {gsub(",", ""); n += $4 + $6 + $8 + $10}
	     END {print n + 0}' "$1"
}
wrk_pct() { # $1 file, $2 percentile label ("50%"): latency in ms
	awk -v p="$2" '$1 == p && /[0-9](us|ms|s|m)$/ {
		v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v)
		if (u == "us") v /= 1000; else if (u == "s") v *= 1000; else if (u == "m") v *= 60000
		printf "%.2f\n", v; f = 1 }
	     END {if (!f) print "n/a"}' "$1"
}
ge() { awk -v a="$1" -v b="$2" 'BEGIN {exit !(a != "n/a" && a + 0 >= b + 0)}'; }
le() { awk -v a="$1" -v b="$2" 'BEGIN {exit !(a != "n/a" && a + 0 <= b + 0)}'; }
verdict() { if "$@"; then echo yes; else echo "**no**"; fi; }

# ---- start the daemon
port=$(helper freeport) || die "no free port"
base="http://127.0.0.1:$port"
db="$tmp/data/opusd.db"
# DEPTH=ALL is provenance.max_depth: deep enough for the whole chain of 7 (2 steps a job).
cat >"$tmp/opusd.ini" <<EOF
[server]
log_level = warn
[paths]
web_dir = $repo/web
[jobs]
max_running = 0
run_as = $(id -un)
[provenance]
max_depth = $((2 * CHAIN + 10))
EOF
# The repository's descriptions, and `chain` for 7: each job appends a line to the
# result of the one before (none for the first).
mkdir -p "$tmp/jobdefs"
cp "$repo"/jobdefs/*.xml "$tmp/jobdefs/"
cat >"$tmp/jobdefs/chain.xml" <<'EOF'
<?xml version="1.0" encoding="UTF-8"?>
<VOTABLE xmlns="http://www.ivoa.net/xml/VOTable/v1.3" version="1.3">
  <RESOURCE ID="chain" name="chain" type="meta" utype="voprov:ActivityDescription">
    <DESCRIPTION>Benchmark chain step: the input and one line more</DESCRIPTION>
    <PARAM name="executionDuration" value="60" datatype="int" utype="uws:Job.executionDuration"/>
    <PARAM name="script" value="{ if [ -n &quot;$data&quot; ]; then cat $data; fi; echo &quot;step $label&quot;; } &gt; out.txt&#10;" arraysize="*" datatype="char"/>
    <GROUP name="InputParams">
      <PARAM ID="label" name="label" datatype="char" value="0" arraysize="*"/>
    </GROUP>
    <GROUP name="Used">
      <GROUP name="data" utype="voprov:UsedDescription">
        <PARAM name="multiplicity" value="*" arraysize="*" datatype="char"/>
      </GROUP>
    </GROUP>
    <GROUP name="Generated">
      <GROUP name="out" utype="voprov:WasGeneratedBy">
        <PARAM name="default" value="out.txt" arraysize="*" datatype="char"/>
        <PARAM name="content_type" value="text/plain" arraysize="*" datatype="char"/>
      </GROUP>
    </GROUP>
  </RESOURCE>
</VOTABLE>
EOF
echo "bench: $bin on $base, data in $tmp, $(nproc) cores" >&2
# An admin for the browser step (8): every page, the admin ones too, as one user.
admin_token=$("$bin" user add benchadmin --admin --config "$tmp/opusd.ini" --data-dir "$tmp/data" 2>"$tmp/useradd.err") ||
	die "opusd user add: $(cat "$tmp/useradd.err")"
"$bin" --listen "127.0.0.1:$port" --data-dir "$tmp/data" --jdl-dir "$tmp/jobdefs" \
	--config "$tmp/opusd.ini" >"$tmp/opusd.log" 2>&1 &
pid=$!
helper wait-up "$port" "$pid" 10 || die "daemon failed to start"
notes=()
load0=$(cut -d' ' -f1-3 /proc/loadavg) # other work on the machine skews every figure

# ---- 1. GET one job
job=$(helper create "$port" run) || die "cannot create a job"
for _ in $(seq 100); do
	[ "$(helper count "$db" COMPLETED)" -ge 1 ] && break
	sleep 0.05
done
echo "bench: 1/8 GET $job" >&2
wrk -t2 -c32 -d10s "$base$job" >"$tmp/w1" 2>&1
check_alive "GET job"
get_rps=$(wrk_rps "$tmp/w1")
bad=$(wrk_bad "$tmp/w1")
[ "$bad" -eq 0 ] || notes+=("GET job: $bad non-2xx/3xx responses or socket errors")

# ---- 2. POST create
echo "bench: 2/8 POST create" >&2
before=$(helper count "$db")
wrk -t2 -c32 -d10s -s "$here/post.lua" "$base/rest/copy" >"$tmp/w2" 2>&1
check_alive "POST create"
post_rps=$(wrk_rps "$tmp/w2")
sent=$(wrk_reqs "$tmp/w2")
bad=$(wrk_bad "$tmp/w2")
after=$(helper count "$db")
[ "$bad" -eq 0 ] || notes+=("POST create: $bad non-2xx/3xx responses or socket errors")
[ $((after - before)) -ge "$sent" ] ||
	notes+=("POST create: wrk got $sent responses but the store holds only $((after - before)) new jobs")

# ---- 3. list LAST=100 with 100,000 jobs stored (top-up bounded to ~150 s)
echo "bench: 3/8 top up the store to $TARGET_JOBS jobs" >&2
rate=$((post_rps > 100 ? post_rps : 100))
deadline=$((SECONDS + 150))
topbad=0
for _ in $(seq 20); do
	n=$(helper count "$db")
	[ "$n" -ge "$TARGET_JOBS" ] && break
	left=$((deadline - SECONDS))
	[ "$left" -gt 0 ] || break
	d=$(((TARGET_JOBS - n) * 11 / 10 / rate + 1))
	[ "$d" -le "$left" ] || d=$left
	[ "$d" -le 60 ] || d=60
	wrk -t2 -c32 -d"${d}s" -s "$here/post.lua" "$base/rest/copy" >"$tmp/w3t" 2>&1
	check_alive "store top-up"
	topbad=$((topbad + $(wrk_bad "$tmp/w3t")))
done
stored=$(helper count "$db")
[ "$topbad" -eq 0 ] || notes+=("top-up POSTs: $topbad non-2xx/3xx responses or socket errors")
[ "$stored" -ge "$TARGET_JOBS" ] || notes+=("store holds only $stored jobs (top-up time cap)")
echo "bench: 3/8 GET /rest/copy?LAST=100 with $stored jobs" >&2
wrk --latency -t2 -c4 -d10s "$base/rest/copy?LAST=100" >"$tmp/w3" 2>&1
check_alive "list LAST=100"
list_p50=$(wrk_pct "$tmp/w3" 50%)
list_rps=$(wrk_rps "$tmp/w3")
bad=$(wrk_bad "$tmp/w3")
[ "$bad" -eq 0 ] || notes+=("list: $bad non-2xx/3xx responses or socket errors")
# the page half-way down the store, by position (what the web client's Older asks)
deep3=$(helper position "$db" copy $((stored / 2))) || deep3=""
deep_p50=n/a
if [ -n "$deep3" ]; then
	echo "bench: 3/8 GET /rest/copy?LAST=100&BEFORE=(the middle of the store)" >&2
	wrk --latency -t2 -c4 -d5s "$base/rest/copy?LAST=100&BEFORE=${deep3/,/%2C}" >"$tmp/w3d" 2>&1
	check_alive "list LAST=100 BEFORE"
	deep_p50=$(wrk_pct "$tmp/w3d" 50%)
	bad=$(wrk_bad "$tmp/w3d")
	[ "$bad" -eq 0 ] || notes+=("deep list: $bad non-2xx/3xx responses or socket errors")
fi

# ---- 4. GET latency while 1,000 clients block in WAIT
echo "bench: 4/8 GET latency with $WAITERS clients in WAIT" >&2
pjob=$(helper create "$port") || die "cannot create a job"
helper waiters "$port" "$pjob" "$WAITERS" 90 >"$tmp/waiters" 2>"$tmp/waiters.err" &
wpid=$!
bgpids+=("$wpid")
for _ in $(seq 300); do # 30 s
	grep -q '^ready' "$tmp/waiters" 2>/dev/null && break
	kill -0 "$wpid" 2>/dev/null || break
	sleep 0.1
done
ready=$(awk '/^ready/ {print $2}' "$tmp/waiters")
waiting=0
for _ in $(seq 100); do # 10 s for the daemon to have them all suspended
	waiting=$(helper waiting "$port" 2>/dev/null || echo 0)
	[ "$waiting" -ge "$WAITERS" ] 2>/dev/null && break
	sleep 0.1
done
check_alive "opening $WAITERS waiting connections"
wrk --latency -t2 -c32 -d10s "$base$job" >"$tmp/w4" 2>&1
check_alive "GET with waiters"
wait_p99=$(wrk_pct "$tmp/w4" 99%)
wait_rps=$(wrk_rps "$tmp/w4")
bad=$(wrk_bad "$tmp/w4")
[ "$bad" -eq 0 ] || notes+=("GET with waiters: $bad non-2xx/3xx responses or socket errors")
abort_st=$(helper phase "$port" "$pjob" ABORT)
[ "$abort_st" = 303 ] || notes+=("abort of the waited job answered HTTP $abort_st")
for _ in $(seq 300); do # 30 s
	kill -0 "$wpid" 2>/dev/null || break
	sleep 0.1
done
kill "$wpid" 2>/dev/null
wait "$wpid" 2>/dev/null
check_alive "waking $WAITERS waiters"
read -r answered other none < <(awk '/^answered/ {print $2, $4, $6}' "$tmp/waiters")
answered=${answered:-0}
[ "${ready:-0}" -eq "$WAITERS" ] || notes+=("waiters: only ${ready:-0} of $WAITERS requests could be sent")
[ "$waiting" -ge "$WAITERS" ] 2>/dev/null ||
	notes+=("/availability counted $waiting waiting clients, expected $WAITERS")
[ "${other:-0}${none:-0}" = 00 ] ||
	notes+=("waiters: ${other:-?} answered with a non-200 status, ${none:-?} got no answer")

# ---- 5. 1,000 trivial jobs end to end
echo "bench: 5/8 $BURST jobs end to end" >&2
bash_ms=$(helper bashcost 100 "$tmp/bashcost.out")
clk=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15, $16 + $17}' "/proc/$pid/stat"; } # self, reaped children
read -r self0 kids0 < <(cpu_ticks)
read -r burst_rate created completed berrors bsecs bposted bfailed < <(helper burst "$port" "$db" "$BURST" 32 120)
check_alive "$BURST jobs end to end"
read -r self1 kids1 < <(cpu_ticks)
per_job=$(awk -v s=$((self1 - self0)) -v k=$((kids1 - kids0)) -v c="$clk" -v n="$BURST" \
	'BEGIN {printf "daemon %.1f ms + job processes %.1f ms", s * 1000 / c / n, k * 1000 / c / n}')
burst_rate=${burst_rate:-0}
[ "${created:-0}" -eq "$BURST" ] || notes+=("burst: ${created:-0} of $BURST creates answered 303 (${berrors:-?} errors)")
[ "${completed:-0}" -ge "${created:-0}" ] || notes+=("burst: only ${completed:-0} jobs COMPLETED within 120 s")
[ "${bfailed:-0}" -eq 0 ] || notes+=("burst: ${bfailed} jobs in ERROR")

# ---- 6. memory
echo "bench: 6/8 memory" >&2
hwm_kb=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status")
rss_kb=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status")
hwm_mb=$(awk -v k="$hwm_kb" 'BEGIN {printf "%.1f", k / 1024}')
rss_mb=$(awk -v k="$rss_kb" 'BEGIN {printf "%.1f", k / 1024}')

# ---- 7. provenance of a 1,000-job chain (each job used the previous one's result)
echo "bench: 7/8 a chain of $CHAIN jobs, then ProvSAP DEPTH=ALL over it" >&2
read -r last chain_secs chained < <(helper chain "$port" "$CHAIN" 60)
check_alive "the chain of $CHAIN jobs"
[ "${chained:-0}" -eq "$CHAIN" ] || notes+=("chain: only ${chained:-0} of $CHAIN jobs completed")
json_p50=n/a svg_p50=n/a json_max=n/a svg_max=n/a json_bytes=0 svg_bytes=0 json_acts=0
if [ "${chained:-0}" -gt 0 ]; then
	helper provtime "$port" "$last" PROV-JSON 1 >/dev/null 2>&1 # warm the caches
	read -r json_p50 json_max json_bytes json_acts < <(helper provtime "$port" "$last" PROV-JSON 21) ||
		notes+=("ProvSAP PROV-JSON failed")
	check_alive "ProvSAP PROV-JSON"
	read -r svg_p50 svg_max svg_bytes _ < <(helper provtime "$port" "$last" PROV-SVG 5) &&
		helper svgcheck "$port" "$last" ||
		notes+=("ProvSAP PROV-SVG failed: $(helper provtime "$port" "$last" PROV-SVG 1 2>&1 | head -c 200)")
	check_alive "ProvSAP PROV-SVG"
fi
[ "${json_acts:-0}" -ge "${chained:-1}" ] 2>/dev/null ||
	notes+=("ProvSAP DEPTH=ALL held ${json_acts:-0} activities, the chain ${chained:-0}")
json_p50=${json_p50:-n/a} json_max=${json_max:-n/a} json_bytes=${json_bytes:-0} json_acts=${json_acts:-0}
svg_p50=${svg_p50:-n/a} svg_max=${svg_max:-n/a} svg_bytes=${svg_bytes:-0}
hwm2_mb=$(awk '/^VmHWM:/ {printf "%.1f", $2 / 1024}' "/proc/$pid/status")

# ---- 8. the web client in headless chromium: each page interactive, with every job stored
echo "bench: 8/8 web pages in chromium, $(helper count "$db") jobs stored" >&2
web_rows=""
if ! command -v node >/dev/null || ! [ -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
	notes+=("web: node or ${CHROMIUM:-/usr/bin/chromium} missing (scripts/deps.sh test): step 8 not run")
elif ! [ -d "$repo/tests/web/node_modules/playwright-core" ] &&
	! npm ci --prefix "$repo/tests/web" --no-audit --no-fund --loglevel=error >&2; then
	notes+=("web: npm ci --prefix tests/web failed: step 8 not run")
else
	deep=${deep3:-$(helper position "$db" copy $(($(helper count "$db") / 2)))}
	printf '{"jobdef": "copy", "job": "%s", "deep": "%s", "stored": %s}\n' \
		"${job##*/}" "$deep" "$(helper count "$db")" >"$tmp/webspec.json"
	node "$here/web.mjs" "$base" benchadmin "$admin_token" "$tmp/webspec.json" 9 >"$tmp/web.rows" ||
		notes+=("web: a page failed (see its row)")
	web_rows=$(cat "$tmp/web.rows")
	check_alive "the web pages"
fi

stop_daemon
# ---- S. SLURM: a cluster and a daemon of its own (bench/slurm.sh), rows for the table
echo "bench: S SLURM (bench/slurm.sh)" >&2
slurm_rows=$("$here/slurm.sh" "$bin")
# ---- P. PostgreSQL: a server and instances of its own (bench/pg.sh), beside rows 1-3
echo "bench: P PostgreSQL (bench/pg.sh)" >&2
pg_rows=$("$here/pg.sh" "$bin" "$get_rps" "$post_rps" "$list_p50")
warnings=$(grep -E ' (warn|error) ' "$tmp/opusd.log" | grep -vc EXTERNAL_LOGGER)
[ "$warnings" -eq 0 ] || notes+=("daemon log: $warnings warn/error lines, e.g. $(grep -E ' (warn|error) ' "$tmp/opusd.log" | grep -v EXTERNAL_LOGGER | head -n 1)")

# ---- report
echo
echo "opusd benchmark — $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ), wrk $(wrk -v 2>&1 | awk 'NR==1 {print $2}'), load average at the start $load0, at the end $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| # | measure | value | target | met |"
echo "|---|---|---|---|---|"
echo "| 1 | GET job (wrk -t2 -c32 10 s) | $get_rps req/s | ≥ 20,000 req/s | $(verdict ge "$get_rps" 20000) |"
echo "| 2 | POST create (wrk -t2 -c32 10 s, $sent jobs) | $post_rps creates/s | ≥ 3,000/s | $(verdict ge "$post_rps" 3000) |"
echo "| 3 | GET list LAST=100, $stored jobs stored (-c4) | p50 $list_p50 ms ($list_rps req/s) | p50 ≤ 5 ms | $(verdict le "$list_p50" 5) |"
echo "| 3b | the same, BEFORE the position of the job half-way down (a deep page) | p50 $deep_p50 ms | p50 ≤ 5 ms | $(verdict le "$deep_p50" 5) |"
echo "| 4 | GET job with $waiting clients in WAIT (-c32) | p99 $wait_p99 ms ($wait_rps req/s) | p99 ≤ 20 ms | $(verdict le "$wait_p99" 20) |"
echo "| 4b | waiters answered after ABORT | $answered / $WAITERS | $WAITERS | $(verdict ge "$answered" "$WAITERS") |"
echo "| 5 | $BURST jobs PHASE=RUN, first POST → last COMPLETED; each end records its provenance (results hashed, entities and activity written: the before/after cost of recording is this figure against the one before issue 12 in README) | $burst_rate jobs/s (${completed:-0} in ${bsecs:-?} s; POSTs took ${bposted:-?} s) | ≥ 200 jobs/s | $(verdict ge "$burst_rate" 200) |"
echo "| 5b | CPU per job in 5 (context: one serial bash -c printf here takes $bash_ms ms wall) | $per_job | — | — |"
echo "| 6 | daemon memory after 1-5 | VmHWM $hwm_mb MB, VmRSS $rss_mb MB | ≤ 50 MB | $(verdict le "$hwm_mb" 50) |"
echo "| 7 | ProvSAP DEPTH=ALL, PROV-JSON, chain of ${chained:-0} jobs ($json_acts activities, $json_bytes bytes; chain built in ${chain_secs:-?} s) | p50 $json_p50 ms (max $json_max ms, 21 runs) | p50 ≤ 50 ms | $(verdict le "$json_p50" 50) |"
echo "| 7b | the same in PROV-SVG (past 1,000 elements the summarised drawing opusd lays out itself, jobs and files: docs/provenance.md; $svg_bytes bytes) | p50 $svg_p50 ms (max $svg_max ms, 5 runs) | a few s at most | $(verdict le "$svg_p50" 3000) |"
echo "| 7c | daemon memory after 7 | VmHWM $hwm2_mb MB | — | — |"
[ -z "$web_rows" ] || echo "$web_rows" | sed 's/^| web |/| 8 | web:/'
[ -z "$slurm_rows" ] || echo "$slurm_rows"
[ -z "$pg_rows" ] || echo "$pg_rows"
if [ ${#notes[@]} -gt 0 ]; then
	echo
	for n in "${notes[@]}"; do echo "- $n"; done
fi
echo

if [ "$daemon_rc" -ne 0 ]; then
	echo "bench: daemon exited with status $daemon_rc on SIGTERM" >&2
	tail -n 30 "$tmp/opusd.log" >&2
	exit 1
fi
exit 0
