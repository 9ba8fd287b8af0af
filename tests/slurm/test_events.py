"""The signals a SLURM job sends back (POST /handler/job_event) against the
real cluster: with a reconciler that would wait an hour, only the job's own
EXECUTING and COMPLETED events can tell opusd in time; with the events lost
(event_url where nothing listens), the reconciler still ends the job; and
the endpoint is idempotent for a SLURM job (a replayed COMPLETED, a late
EXECUTING after COMPLETED change nothing). Waits are bounded waits for
phases, never fixed sleeps."""
import hashlib
import hmac

from conftest import it

WAIT = 90
HOUR_MS = 3600000


def token(d, job_id):
    key = (d.data_dir / "event.key").read_bytes()
    return hmac.new(key, job_id.encode(), hashlib.sha256).hexdigest()


def post_event(c, d, job_id, phase):
    return c.post("/handler/job_event", data={"job_id": job_id, "phase": phase},
                  headers={"Authorization": f"Bearer {token(d, job_id)}"})


def squeue_state(cluster, slurm_id):
    r = cluster.cmd("squeue", "--noheader", "--states=all", f"--jobs={slurm_id}",
                    "--format=%T")
    return r.stdout.strip()


def slurm_id_of(cluster, job_id):
    r = cluster.cmd("squeue", "--noheader", "--states=all", f"--name=opus-{job_id}",
                    "--format=%i")
    ids = r.stdout.split()
    return ids[0] if ids else None


def test_events_tell_opusd_without_polling(cluster, daemon_factory):
    """A job PENDING behind a job opusd does not know (sbatch by hand, all 8
    CPUs): opusd's one squeue round after the submission sees it PENDING, the
    next is an hour away, so its EXECUTING can only come from its own signal
    once the blocker ends, and its COMPLETED from the round that the
    COMPLETED signal asks for."""
    d = daemon_factory(cluster.daemon_config(poll_interval_ms=HOUR_MS,
                                             sbatch_args="--cpus-per-task=8"))
    c = d.client()
    r = cluster.cmd("sbatch", "--parsable", "--cpus-per-task=8", "--job-name=blocker",
                    "--output=/dev/null", "--chdir=/tmp", "--wrap", "sleep 6")
    assert r.returncode == 0, r.stderr
    blocker = r.stdout.strip().split(";")[0]
    try:
        it.wait_until(lambda: squeue_state(cluster, blocker) == "RUNNING", WAIT, 0.1,
                      "the blocker to run")
        url = c.create("sleeper", {"secs": "2"}, run=True)
        job_id = url.rsplit("/", 1)[1]
        it.wait_until(lambda: slurm_id_of(cluster, job_id), WAIT, 0.1, "the submission")
        assert c.phase(url) == "QUEUED"
        # it was submitted (and looked at) while the blocker still ran
        assert squeue_state(cluster, blocker) == "RUNNING"
        assert c.wait_for_phase(url, ("EXECUTING", "COMPLETED", "ERROR", "ABORTED"),
                                timeout=WAIT) == "EXECUTING"
        assert c.wait_for_phase(url, ("COMPLETED", "ERROR", "ABORTED"),
                                timeout=WAIT) == "COMPLETED"
    finally:
        cluster.cmd("scancel", blocker)
    log = d.log_text()
    assert f"job {job_id}: signal EXECUTING" in log
    assert f"job {job_id}: signal COMPLETED" in log
    job = c.job(url)
    assert job["startTime"] and job["endTime"]
    # replayed and late signals change nothing
    for phase in ("COMPLETED", "EXECUTING", "ERROR"):
        assert post_event(c, d, job_id, phase).status_code == 204
    assert c.job(url) == job


def test_lost_signal_is_recovered_by_the_reconciler(cluster, daemon_factory):
    """event_url where nothing listens: every signal is lost; the squeue
    rounds (a short interval) still take the job to COMPLETED."""
    dead = f"http://127.0.0.1:{it.free_port()}/handler/job_event"
    d = daemon_factory(cluster.daemon_config(poll_interval_ms=300, event_url=dead))
    c = d.client()
    url = c.create("echo", {"text": "lost", "n": "3"}, run=True)
    job_id = url.rsplit("/", 1)[1]
    assert c.wait_for_phase(url, ("COMPLETED", "ERROR", "ABORTED"), timeout=WAIT) == "COMPLETED"
    assert c.get(url + "/results/output").text == "lost"
    assert f"job {job_id}: signal" not in d.log_text()
    script = (d.job_dir(job_id) / ".opusd" / "slurm.sh")
    assert script.exists()
