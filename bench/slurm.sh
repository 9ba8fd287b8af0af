#!/usr/bin/env bash
# The SLURM section of `make bench`: opusd on a cluster of its own vs the
# plain SLURM commands on the same cluster.
#   bench/slurm.sh build/rel/opusd     prints rows of bench.sh's table on stdout
# Starts a single-node cluster with scripts/slurm.sh on its own port
# (SLURM_PORT, default 11917) under a temp dir, and one opusd with
# jobs.backend = slurm; stops both at the end. When the SLURM packages are
# missing it installs them (scripts/slurm.sh runs scripts/deps.sh slurm); when
# the cluster still cannot start, it prints one row saying so and exits 0.
# Measures (N trivial jobs, `true` as the script):
#   S1  submission rate: N jobs POSTed with PHASE=RUN (4 clients), first POST until all N
#       are known to slurmctld (squeue by name, every 100 ms), against `sbatch --wrap=true`
#       N times in a loop; target: opusd >= 80 % of the loop's rate;
#   S2  one trivial job's create -> COMPLETED on SLURM through opusd (phase
#       polled every 20 ms), against `sbatch --wait` of the same job by hand;
#       median of R runs each.
set -uo pipefail

bin=${1:-build/rel/opusd}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
PY=/usr/bin/python3
N=${SLURM_BENCH_JOBS:-100}
R=${SLURM_BENCH_RUNS:-5}
export SLURM_PORT=${SLURM_BENCH_PORT:-11917}
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
tmp=$(mktemp -d "${TMPDIR:-/tmp}/opusd-sbench.XXXXXX")
chmod 755 "$tmp"
pid=""

row_skip() { echo "| S | SLURM section | not run: $* | — | — |"; }
cleanup() {
	if [ -n "$pid" ]; then
		kill -TERM "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	"$repo/scripts/slurm.sh" down "$tmp/cluster" >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT

echo "bench: SLURM: a cluster on port $SLURM_PORT" >&2
if ! "$repo/scripts/slurm.sh" up "$tmp/cluster" >"$tmp/up.log" 2>&1; then
	row_skip "scripts/slurm.sh up failed ($(tail -n 1 "$tmp/up.log"))"
	exit 0
fi
export SLURM_CONF=$tmp/cluster/slurm.conf

port=$("$PY" "$here/helper.py" freeport) || {
	row_skip "no free port"
	exit 0
}
mkdir -p "$tmp/jobdefs"
cat >"$tmp/jobdefs/noop.xml" <<'EOF'
<?xml version="1.0" encoding="UTF-8"?>
<VOTABLE xmlns="http://www.ivoa.net/xml/VOTable/v1.3" version="1.3">
  <RESOURCE ID="noop" name="noop" type="meta" utype="voprov:ActivityDescription">
    <DESCRIPTION>Benchmark: a trivial job</DESCRIPTION>
    <PARAM name="executionDuration" value="120" datatype="int" utype="uws:Job.executionDuration"/>
    <PARAM name="script" value="true&#10;" arraysize="*" datatype="char"/>
    <GROUP name="InputParams"/>
  </RESOURCE>
</VOTABLE>
EOF
cat >"$tmp/opusd.ini" <<EOF
[server]
log_level = warn
[jobs]
backend = slurm
max_running = $((N + 10))
run_as = $(id -un)
[slurm]
cluster = bench
slurm_conf = $SLURM_CONF
poll_interval_ms = 200
EOF
"$bin" --listen "127.0.0.1:$port" --data-dir "$tmp/data" --jdl-dir "$tmp/jobdefs" \
	--config "$tmp/opusd.ini" >"$tmp/opusd.log" 2>&1 &
pid=$!
if ! "$PY" "$here/helper.py" wait-up "$port" "$pid" 10; then
	row_skip "opusd with backend = slurm did not start ($(tail -n 1 "$tmp/opusd.log"))"
	exit 0
fi

echo "bench: SLURM: $N submissions through opusd and by sbatch, $R latencies each" >&2
"$PY" - "$port" "$N" "$R" "$tmp" <<'EOF'
import concurrent.futures, http.client, statistics, subprocess, sys, time

port, n, runs, tmp = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)


def post_run(c=conn):
    c.request("POST", "/rest/noop", body="PHASE=RUN",
              headers={"Content-Type": "application/x-www-form-urlencoded"})
    r = c.getresponse()
    r.read()
    assert r.status == 303, r.status
    return r.getheader("Location").split("/rest/", 1)[1]


def phase(path):
    conn.request("GET", f"/rest/{path}/phase")
    r = conn.getresponse()
    return r.read().decode().strip()


def squeue_names(prefix):
    r = subprocess.run(["squeue", "--noheader", "--states=all", "--format=%j"],
                       capture_output=True, text=True, timeout=60)
    return sum(1 for w in r.stdout.split() if w.startswith(prefix))


def wait_all(pred, secs, step=0.02):
    end = time.monotonic() + secs
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(step)
    return False


# S1: through opusd, first POST until slurmctld knows all N (by name).
# 4 clients at once: a single client would mostly measure one durable commit per POST.
def post_some(k):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    return [post_run(c) for _ in range(k)]


t0 = time.monotonic()
with concurrent.futures.ThreadPoolExecutor(4) as pool:
    paths = [p for ps in pool.map(post_some, [n // 4 + (i < n % 4) for i in range(4)])
             for p in ps]
t_posts = time.monotonic() - t0
ok = wait_all(lambda: squeue_names("opus-") >= n, 300, 0.1)  # squeue loads slurmctld too
t_opusd = time.monotonic() - t0
# Let them end before the plain loop (the same cluster, an idle queue).
wait_all(lambda: all(phase(p) in ("COMPLETED", "ERROR") for p in paths), 300)
t0 = time.monotonic()
for _ in range(n):
    subprocess.run(["sbatch", "--parsable", "--job-name=plain", f"--output={tmp}/plain.out",
                    "--wrap=true"], capture_output=True, check=True, timeout=60)
t_plain = time.monotonic() - t0
r_opusd, r_plain = n / t_opusd, n / t_plain
ratio = 100 * r_opusd / r_plain
met = "yes" if ok and ratio >= 80 else "**no**"
print(f"| S1 | SLURM: {n} jobs PHASE=RUN through opusd, first POST → all {n} known to slurmctld,"
      f" vs `sbatch --wrap=true` {n} times in a loop | {r_opusd:.1f} jobs/s vs {r_plain:.1f}"
      f" jobs/s: {ratio:.0f} % (the POSTs, 4 clients, took {t_posts:.2f} s)"
      f"{'' if ok else ' (not all submitted in 300 s)'} | ≥ 80 % | {met} |")

# S2: one trivial job, create -> COMPLETED, through opusd and by hand.
lat_opusd, lat_plain = [], []
for _ in range(runs):
    t0 = time.monotonic()
    p = post_run()
    wait_all(lambda: phase(p) in ("COMPLETED", "ERROR", "ABORTED"), 120)
    lat_opusd.append(time.monotonic() - t0)
    t0 = time.monotonic()
    subprocess.run(["sbatch", "--wait", "--job-name=plain", f"--output={tmp}/plain.out",
                    "--wrap=true"], capture_output=True, check=True, timeout=120)
    lat_plain.append(time.monotonic() - t0)
mo, mp = statistics.median(lat_opusd), statistics.median(lat_plain)
print(f"| S2 | SLURM: a trivial job create → COMPLETED through opusd (phase polled every 20 ms;"
      f" squeue every 200 ms) vs `sbatch --wait` by hand, median of {runs} | {mo * 1000:.0f} ms"
      f" vs {mp * 1000:.0f} ms: {mo / mp:.2f}× | — | — |")
EOF
rc=$?
[ "$rc" -eq 0 ] || row_skip "the measures failed (exit $rc; see the messages above)"
exit 0
