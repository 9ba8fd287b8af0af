#!/usr/bin/env bash
# The PostgreSQL section of `make bench`: opusd on the PostgreSQL store beside
# the SQLite figures of bench.sh's rows 1-3, and one instance against three on
# one database.
#   bench/pg.sh build/rel/opusd [SQLITE_GET SQLITE_POST SQLITE_LIST_P50]
# prints rows of bench.sh's table on stdout (bench.sh passes its rows 1-3;
# without them the ratios say n/a). Starts a PostgreSQL server of its own with
# scripts/pg.sh (test settings: fsync off; a free port, or PG_BENCH_PORT)
# under a temp dir that user postgres can reach, and opusd instances with
# [store] backend = postgresql on its database; stops them all at the end.
# When the server cannot start it prints one row saying so and exits 0.
# Measures (the same wrk runs as rows 1-3):
#   P1  GET job, one instance (wrk -t2 -c32 10 s), against row 1;
#   P2  POST create, one instance (-t2 -c32 10 s), against row 2; target:
#       PostgreSQL >= 50 % of the SQLite figure;
#   P3  GET list LAST=100 with the store topped up to 100,000 jobs (at most
#       90 s of creates), p50 against row 3;
#   P4  POST create on three instances at once (one wrk -t1 -c11 each), the
#       sum against P2;
#   P5  GET job on three instances at once (one wrk -t1 -c11 each, the job
#       P1 read), the sum against P1; target: three >= 1.5x one.
# The instances only create and read jobs (none runs): claims across instances
# are not the subject here.
set -uo pipefail

bin=${1:-build/rel/opusd}
sq_get=${2:-} sq_post=${3:-} sq_list=${4:-}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
PY=/usr/bin/python3
TARGET_JOBS=${PG_BENCH_JOBS:-100000}
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
tmp=$(mktemp -d "${TMPDIR:-/tmp}/opusd-pgbench.XXXXXX")
chmod 755 "$tmp"
pids=()

row_skip() { echo "| P | PostgreSQL section | not run: $* | — | — |"; }
cleanup() {
	local p
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	"$repo/scripts/pg.sh" down "$tmp/cluster" >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT

wrk_rps() { awk '/^Requests\/sec:/ {print int($2); f=1} END {if (!f) print 0}' "$1"; }
wrk_bad() {
	awk '/Non-2xx or 3xx responses:/ {n += $NF}
	     /Socket errors:/ {gsub(",", ""); n += $4 + $6 + $8 + $10}
	     END {print n + 0}' "$1"
}
wrk_p50() {
	awk '$1 == "50%" && /[0-9](us|ms|s|m)$/ {
		v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v)
		if (u == "us") v /= 1000; else if (u == "s") v *= 1000; else if (u == "m") v *= 60000
		printf "%.2f\n", v; f = 1 }
	     END {if (!f) print "n/a"}' "$1"
}
# ratio A B: A / B in per cent, or n/a
pct() { awk -v a="$1" -v b="$2" 'BEGIN {if (a == "" || b == "" || b + 0 == 0) print "n/a"; else printf "%.0f %%\n", 100 * a / b}'; }
times() { awk -v a="$1" -v b="$2" 'BEGIN {if (b + 0 == 0) print "n/a"; else printf "%.2f×\n", a / b}'; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN {exit !(a != "" && a != "n/a" && a + 0 >= b + 0)}'; }
verdict() { if "$@"; then echo yes; else echo "**no**"; fi; }
notes=()

port=${PG_BENCH_PORT:-$("$PY" "$here/helper.py" freeport)} || {
	row_skip "no free port"
	exit 0
}
echo "bench: PostgreSQL: a server on port $port" >&2
url=$("$repo/scripts/pg.sh" up "$tmp/cluster" "$port" 2>"$tmp/up.log" | tail -n 1)
if [ -z "$url" ]; then
	row_skip "scripts/pg.sh up failed ($(tail -n 1 "$tmp/up.log"))"
	exit 0
fi
# the URL without its password, which goes to a password file
pass=${url#postgresql://*:}
pass=${pass%%@*}
printf '%s\n' "$pass" >"$tmp/pw"
chmod 600 "$tmp/pw"
db_url=${url/:$pass@/@}
sql() { PGPASSWORD=$pass psql -X -qAt -h 127.0.0.1 -p "$port" -U opusd -d opusd -c "$1"; }
count() { sql "SELECT count(*) FROM jobs" 2>/dev/null || echo 0; }

cat >"$tmp/opusd.ini" <<EOF
[server]
log_level = warn
[jobs]
max_running = 0
run_as = $(id -un)
[store]
backend = postgresql
url = $db_url
password_file = $tmp/pw
EOF
mkdir -p "$tmp/jobdefs"
cp "$repo"/jobdefs/*.xml "$tmp/jobdefs/"
bases=()
start() { # instance number k: its own data dir, port and log
	local k=$1 p
	p=$("$PY" "$here/helper.py" freeport) || return 1
	"$bin" --listen "127.0.0.1:$p" --data-dir "$tmp/data$k" --jdl-dir "$tmp/jobdefs" \
		--config "$tmp/opusd.ini" >"$tmp/opusd$k.log" 2>&1 &
	pids+=($!)
	bases+=("http://127.0.0.1:$p")
	"$PY" "$here/helper.py" wait-up "$p" "$!" 10
}
alive() { # all instances still running, else a note
	local p
	for p in "${pids[@]}"; do
		kill -0 "$p" 2>/dev/null || { notes+=("an instance died during $1"); return 1; }
	done
}
if ! start 0; then
	row_skip "opusd on PostgreSQL did not start ($(tail -n 1 "$tmp/opusd0.log"))"
	exit 0
fi

# ---- P1. GET one job, one instance
job=$("$PY" "$here/helper.py" create "${bases[0]##*:}") || {
	row_skip "cannot create a job on PostgreSQL"
	exit 0
}
echo "bench: PostgreSQL P1 GET $job" >&2
wrk -t2 -c32 -d10s "${bases[0]}$job" >"$tmp/p1" 2>&1
get1=$(wrk_rps "$tmp/p1")
bad=$(wrk_bad "$tmp/p1")
[ "$bad" -eq 0 ] || notes+=("PostgreSQL GET job: $bad non-2xx/3xx responses or socket errors")

# ---- P2. POST create, one instance
echo "bench: PostgreSQL P2 POST create" >&2
before=$(count)
wrk -t2 -c32 -d10s -s "$here/post.lua" "${bases[0]}/rest/copy" >"$tmp/p2" 2>&1
post1=$(wrk_rps "$tmp/p2")
bad=$(wrk_bad "$tmp/p2")
sent=$(awk '/ requests in / {print $1}' "$tmp/p2")
after=$(count)
[ "$bad" -eq 0 ] || notes+=("PostgreSQL POST create: $bad non-2xx/3xx responses or socket errors")
[ $((after - before)) -ge "${sent:-0}" ] ||
	notes+=("PostgreSQL POST create: wrk got ${sent:-0} responses, the store holds $((after - before)) new jobs")
alive "P1-P2"

# ---- P3. list LAST=100 with the store topped up
echo "bench: PostgreSQL P3 top up to $TARGET_JOBS jobs (90 s at most)" >&2
deadline=$((SECONDS + 90))
rate=$((post1 > 100 ? post1 : 100))
for _ in $(seq 10); do
	n=$(count)
	[ "$n" -ge "$TARGET_JOBS" ] && break
	left=$((deadline - SECONDS))
	[ "$left" -gt 0 ] || break
	d=$(((TARGET_JOBS - n) * 11 / 10 / rate + 1))
	[ "$d" -le "$left" ] || d=$left
	wrk -t2 -c32 -d"${d}s" -s "$here/post.lua" "${bases[0]}/rest/copy" >"$tmp/p3t" 2>&1
done
stored=$(count)
[ "$stored" -ge "$TARGET_JOBS" ] || notes+=("PostgreSQL store holds only $stored jobs (top-up time cap)")
sql "ANALYZE" >/dev/null 2>&1
wrk --latency -t2 -c4 -d10s "${bases[0]}/rest/copy?LAST=100" >"$tmp/p3" 2>&1
list_p50=$(wrk_p50 "$tmp/p3")
list_rps=$(wrk_rps "$tmp/p3")
bad=$(wrk_bad "$tmp/p3")
[ "$bad" -eq 0 ] || notes+=("PostgreSQL list: $bad non-2xx/3xx responses or socket errors")
alive "P3"

# ---- P4, P5. three instances on the one database
echo "bench: PostgreSQL P4-P5 three instances" >&2
three=yes
start 1 && start 2 || { three=""; notes+=("the 2nd or 3rd instance did not start: $(tail -n 1 "$tmp/opusd2.log")"); }
post3="" get3=""
if [ -n "$three" ]; then
	wrks=()
	for k in 0 1 2; do
		wrk -t1 -c11 -d10s -s "$here/post.lua" "${bases[$k]}/rest/copy" >"$tmp/p4.$k" 2>&1 &
		wrks+=($!)
	done
	wait "${wrks[@]}"
	post3=0 bad=0
	for k in 0 1 2; do
		post3=$((post3 + $(wrk_rps "$tmp/p4.$k")))
		bad=$((bad + $(wrk_bad "$tmp/p4.$k")))
	done
	[ "$bad" -eq 0 ] || notes+=("PostgreSQL three instances, POST: $bad non-2xx/3xx responses or socket errors")
	wrks=()
	for k in 0 1 2; do
		wrk -t1 -c11 -d10s "${bases[$k]}$job" >"$tmp/p5.$k" 2>&1 &
		wrks+=($!)
	done
	wait "${wrks[@]}"
	get3=0 bad=0
	for k in 0 1 2; do
		get3=$((get3 + $(wrk_rps "$tmp/p5.$k")))
		bad=$((bad + $(wrk_bad "$tmp/p5.$k")))
	done
	[ "$bad" -eq 0 ] || notes+=("PostgreSQL three instances, GET: $bad non-2xx/3xx responses or socket errors (a job made on instance 1 read on 2 and 3)")
	alive "P4-P5"
fi
for k in 0 1 2; do
	w=$(grep -cE ' (warn|error) ' "$tmp/opusd$k.log" 2>/dev/null) || w=0
	[ "$w" -eq 0 ] || notes+=("instance $k log: $w warn/error lines, e.g. $(grep -E ' (warn|error) ' "$tmp/opusd$k.log" | head -n 1)")
done

echo "| P1 | PostgreSQL: GET job, one instance (wrk -t2 -c32 10 s) | $get1 req/s ($(pct "$get1" "$sq_get") of row 1's ${sq_get:-n/a}) | — | — |"
echo "| P2 | PostgreSQL: POST create, one instance (-t2 -c32 10 s) | $post1 creates/s ($(pct "$post1" "$sq_post") of row 2's ${sq_post:-n/a}) | ≥ 50 % of SQLite | $(verdict ge "$(pct "$post1" "$sq_post" | cut -d' ' -f1)" 50) |"
echo "| P3 | PostgreSQL: GET list LAST=100, $stored jobs stored (-c4) | p50 $list_p50 ms ($list_rps req/s; row 3: p50 ${sq_list:-n/a} ms) | p50 ≤ 5 ms | $(verdict awk -v a="$list_p50" 'BEGIN {exit !(a != "n/a" && a + 0 <= 5)}') |"
if [ -n "$three" ]; then
	echo "| P4 | PostgreSQL: POST create, three instances on one database (3 × wrk -t1 -c11 10 s) | $post3 creates/s ($(times "$post3" "$post1") one instance's) | — | — |"
	echo "| P5 | PostgreSQL: GET job, three instances on one database (3 × wrk -t1 -c11 10 s) | $get3 req/s ($(times "$get3" "$get1") one instance's) | ≥ 1.5× one instance | $(verdict awk -v a="$get3" -v b="$get1" 'BEGIN {exit !(b > 0 && a >= 1.5 * b)}') |"
fi
for n in "${notes[@]}"; do echo "| P | note | $n | — | — |"; done
exit 0
