"""A time limit that SLURM enforces itself (issue 15: "a time limit → ERROR").

opusd ends a job at its execution duration on its own (test_slurm.py's
test_execution_duration_on_slurm); here opusd sets none (default and max
execution duration 0: unlimited, so no --time line and no timer of sched's)
and the job runs on the cluster's partition "short" (scripts/slurm.sh:
DefaultTime=1, MaxTime=1, OverTimeLimit=0). SLURM's --time is in whole
minutes, so one minute is the shortest limit there is, and slurmctld checks
limits about every 30 s (PERIODIC_TIMEOUT, not configurable): the job ends
TIMEOUT between 60 and ~90 s after it starts, then its batch shell gets
SIGTERM (its trap posts ERROR, which makes opusd reconcile at once) and
SIGKILL after KillWait (5 s). The wait is for the phase, bounded by
60 + 30 + 5 s plus a margin for a loaded machine; the job must not end
before its minute (SLURM ended it, not something else)."""
import time

from conftest import it

LIMIT_S = 60  # the partition's DefaultTime
CHECK_S = 30  # slurmctld's period of limit checks
MARGIN_S = 60


def test_slurm_time_limit_is_error(cluster, daemon_factory):
    d = daemon_factory({**cluster.daemon_config(partition="short"),
                        "jobs": {"backend": "slurm", "default_execution_duration": 0,
                                 "max_execution_duration": 0}}, start=False)
    # the sleeper without a duration of its own
    src = (d.jdl_dir / "sleeper.xml").read_text()
    endless = src.replace('ID="sleeper" name="sleeper"', 'ID="endless" name="endless"')
    endless = "".join(line for line in endless.splitlines(True)
                      if 'name="executionDuration"' not in line)
    assert 'name="endless"' in endless and "executionDuration" not in endless
    (d.jdl_dir / "endless.xml").write_text(endless)
    d.start()
    c = d.client()
    url = c.create("endless", {"secs": "600"}, run=True)
    job_id = url.rsplit("/", 1)[1]
    assert c.wait_for_phase(url, ("EXECUTING", "COMPLETED", "ERROR", "ABORTED"),
                            timeout=90) == "EXECUTING"
    started = time.monotonic()
    text = (d.job_dir(job_id) / ".opusd" / "slurm.sh").read_text()
    assert "--time" not in text and "#SBATCH --partition=short\n" in text, text
    phase = c.wait_for_phase(url, ("COMPLETED", "ERROR", "ABORTED"),
                             timeout=LIMIT_S + CHECK_S + 5 + MARGIN_S)
    took = time.monotonic() - started
    job = c.job(url)
    assert phase == "ERROR", job
    assert job["errorSummary"]["message"] == "execution duration exceeded", job["errorSummary"]
    # SLURM's minute, not sooner; EXECUTING was seen within a poll of the start.
    assert took >= LIMIT_S - 3, took
    sid = it.wait_until(lambda: _slurm_id(cluster, job_id), 30, 0.1, "the SLURM job's id")
    r = cluster.cmd("scontrol", "show", "job", "-o", sid)
    assert "JobState=TIMEOUT" in r.stdout, r.stdout + r.stderr
    print(f"SLURM time limit: ERROR {took:.1f} s after EXECUTING")


def _slurm_id(cluster, job_id):
    r = cluster.cmd("squeue", "--noheader", "--states=all", f"--name=opus-{job_id}",
                    "--format=%i")
    ids = r.stdout.split()
    return ids[0] if ids else None
