"""opusd on SLURM: the backend's own driver, then jobs through the UWS API on a
real single-node cluster (conftest.py starts it). Waits are for phases and
for squeue's answers, never fixed sleeps; the timeouts are generous because
the cluster starts a job within a second but an ASan/TSan daemon on a loaded
two-core machine is slow."""
import os
import re
import subprocess
from pathlib import Path

from conftest import REPO, it

HOSTILE = "it's $(touch /tmp/opusd-slurm-pwned) `id` \"q\"\nline two"
WAIT = 90


def driver_bin():
    return Path(it.opusd_bin()).parent / "tests" / "test_exec_slurm"


def test_backend_driver(cluster):
    """tests/unit/test_exec_slurm.c against the cluster: complete, fail, cancel
    PENDING and RUNNING (TERM, KILL), adopt, lost, workdir_root's copy."""
    b = driver_bin()
    assert b.exists(), f"{b}: build it (make unit-bins)"
    r = subprocess.run([str(b)], capture_output=True, text=True, timeout=600,
                       env={**os.environ, "OPUS_TEST_SLURM_CONF": str(cluster.conf)})
    assert r.returncode == 0, r.stdout + r.stderr[-4000:]
    assert "6 passed, 0 failed" in r.stdout, r.stdout


def check_batch_script(d, url):
    job_id = url.rsplit("/", 1)[1]
    text = (d.job_dir(job_id) / ".opusd" / "slurm.sh").read_text()
    assert f"#SBATCH --job-name=opus-{job_id}\n" in text
    return job_id


def test_job_completes_with_results(cluster, daemon_factory):
    d = daemon_factory(cluster.daemon_config())
    c = d.client()
    url = c.create("echo", {"text": HOSTILE, "n": "7"}, run=True)
    assert c.wait_for_phase(url, ("COMPLETED", "ERROR", "ABORTED"), timeout=WAIT) == "COMPLETED"
    job = c.job(url)
    assert job["startTime"] and job["endTime"]
    out = [r for r in job["results"] if r["id"] == "output"]
    assert out, job["results"]
    r = c.get(out[0]["href"])
    assert r.status_code == 200 and r.text == HOSTILE
    check_batch_script(d, url)
    assert not Path("/tmp/opusd-slurm-pwned").exists()
    assert "n=7" in c.get(url + "/results/stdout").text


def test_failing_script_is_error_with_its_message(cluster, daemon_factory):
    d = daemon_factory(cluster.daemon_config())
    c = d.client()
    url = c.create("failer", {"text": "disk on fire"}, run=True)
    assert c.wait_for_phase(url, ("COMPLETED", "ERROR", "ABORTED"), timeout=WAIT) == "ERROR"
    job = c.job(url)
    assert "boom: disk on fire" in job["errorSummary"]["message"], job["errorSummary"]


def slurm_id(cluster, job_id):
    """The SLURM id of an opusd job, from squeue by its name."""
    r = cluster.cmd("squeue", "--noheader", "--states=all", f"--name=opus-{job_id}",
                    "--format=%i")
    ids = r.stdout.split()
    return ids[0] if ids else None


def test_abort_pending_and_running(cluster, daemon_factory):
    # Every job asks for all 8 CPUs: the second waits PENDING behind the first.
    d = daemon_factory(cluster.daemon_config(sbatch_args="--cpus-per-task=8"))
    c = d.client()
    run_url = c.create("sleeper", {"secs": "300"}, run=True)
    assert c.wait_for_phase(run_url, ("EXECUTING",), timeout=WAIT) == "EXECUTING"
    pend_url = c.create("sleeper", {"secs": "300"}, run=True)
    pend_id = pend_url.rsplit("/", 1)[1]
    sid = it.wait_until(lambda: slurm_id(cluster, pend_id), WAIT, 0.1, "the pending job")
    assert c.phase(pend_url) == "QUEUED"
    c.set_phase(pend_url, "ABORT")
    assert c.wait_for_phase(pend_url, ("ABORTED", "ERROR", "COMPLETED"), timeout=WAIT) == "ABORTED"
    it.wait_until(lambda: sid not in cluster.squeue_ids(), WAIT, 0.1, "the pending job gone")
    run_id = run_url.rsplit("/", 1)[1]
    rsid = slurm_id(cluster, run_id)
    assert rsid in cluster.squeue_ids()
    c.set_phase(run_url, "ABORT")
    assert c.wait_for_phase(run_url, ("ABORTED", "ERROR", "COMPLETED"), timeout=WAIT) == "ABORTED"
    it.wait_until(lambda: rsid not in cluster.squeue_ids(), WAIT, 0.1, "the running job gone")


def test_restart_adopts_running_job(cluster, daemon_factory):
    """kill -9 of opusd while its job runs on SLURM: the next daemon adopts it
    (the job kept running, it is not submitted twice) and it completes."""
    d = daemon_factory(cluster.daemon_config())
    c = d.client()
    url = c.create("sleeper", {"secs": "4"}, run=True)
    job_id = url.rsplit("/", 1)[1]
    assert c.wait_for_phase(url, ("EXECUTING",), timeout=WAIT) == "EXECUTING"
    d.kill9()
    d.start()
    c = d.client()
    assert c.wait_for_phase(url, ("COMPLETED", "ERROR", "ABORTED"), timeout=WAIT) == "COMPLETED"
    r = cluster.cmd("squeue", "--noheader", "--states=all", f"--name=opus-{job_id}",
                    "--format=%i")
    assert len(r.stdout.split()) == 1, r.stdout  # one SLURM job, not two


def test_restart_adopts_pending_job(cluster, daemon_factory):
    """kill -9 of opusd while a job waits PENDING behind another: the next
    daemon adopts both (QUEUED and EXECUTING), the pending one starts once the
    other is aborted, completes, and each was submitted once."""
    d = daemon_factory(cluster.daemon_config(sbatch_args="--cpus-per-task=8"))
    c = d.client()
    blocker = c.create("sleeper", {"secs": "300"}, run=True)
    assert c.wait_for_phase(blocker, ("EXECUTING",), timeout=WAIT) == "EXECUTING"
    waiting = c.create("sleeper", {"secs": "1"}, run=True)
    wid = waiting.rsplit("/", 1)[1]
    it.wait_until(lambda: slurm_id(cluster, wid), WAIT, 0.1, "the pending job")
    assert c.phase(waiting) == "QUEUED"
    d.kill9()
    d.start()
    c = d.client()
    assert c.phase(waiting) == "QUEUED"
    assert c.phase(blocker) == "EXECUTING"
    c.set_phase(blocker, "ABORT")
    assert c.wait_for_phase(blocker, ("ABORTED", "ERROR", "COMPLETED"), timeout=WAIT) == "ABORTED"
    assert c.wait_for_phase(waiting, ("COMPLETED", "ERROR", "ABORTED"), timeout=WAIT) == "COMPLETED"
    for u in (blocker, waiting):
        r = cluster.cmd("squeue", "--noheader", "--states=all",
                        f"--name=opus-{u.rsplit('/', 1)[1]}", "--format=%i")
        assert len(r.stdout.split()) == 1, r.stdout


def test_job_through_ssh_login_node(cluster, sshd, daemon_factory):
    """The SLURM commands through ssh to a login node (sshd on a loopback
    port, its key in a known_hosts file): the same job runs and completes."""
    d = daemon_factory(cluster.daemon_config(
        ssh_host="127.0.0.1", ssh_user="root", ssh_port=sshd.port, ssh_key=str(sshd.key),
        ssh_known_hosts=str(sshd.known_hosts)))
    c = d.client()
    url = c.create("echo", {"text": HOSTILE, "n": "3"}, run=True)
    assert c.wait_for_phase(url, ("COMPLETED", "ERROR", "ABORTED"), timeout=WAIT) == "COMPLETED"
    out = [r for r in c.job(url)["results"] if r["id"] == "output"]
    assert out and c.get(out[0]["href"]).text == HOSTILE
    assert not Path("/tmp/opusd-slurm-pwned").exists()
    # The commands did go through sshd: it logged the client key's logins.
    assert "Accepted publickey for root" in (sshd.base / "sshd.log").read_text()


def test_execution_duration_on_slurm(cluster, daemon_factory):
    """A job past its execution duration: opusd ends it itself (SLURM's own
    --time is a minute later) and the SLURM job goes."""
    d = daemon_factory(cluster.daemon_config())
    c = d.client()
    url = c.create("sleeper", {"secs": "300", "EXECUTIONDURATION": "3"}, run=True)
    job_id = url.rsplit("/", 1)[1]
    assert c.wait_for_phase(url, ("COMPLETED", "ERROR", "ABORTED"), timeout=WAIT) == "ERROR"
    job = c.job(url)
    assert "execution duration" in job["errorSummary"]["message"], job["errorSummary"]
    sid = slurm_id(cluster, job_id)
    it.wait_until(lambda: sid not in cluster.squeue_ids(), WAIT, 0.1, "the SLURM job gone")
    text = (d.job_dir(job_id) / ".opusd" / "slurm.sh").read_text()
    assert "#SBATCH --time=2\n" in text  # 3 s: one minute rounded up, plus one


def test_resources_reach_slurm(cluster, daemon_factory):
    """cpusPerTask from the description and partition from the job itself
    (allowed by slurm.user_resources) are what SLURM runs the job with."""
    d = daemon_factory(cluster.daemon_config(user_resources="partition"), start=False)
    src = (d.jdl_dir / "sleeper.xml").read_text()
    wide = src.replace('ID="sleeper" name="sleeper"', 'ID="wide" name="wide"').replace(
        '<PARAM name="script"',
        '<PARAM name="cpusPerTask" value="2" datatype="int"/>\n    <PARAM name="script"', 1)
    assert 'name="cpusPerTask"' in wide and 'name="wide"' in wide
    (d.jdl_dir / "wide.xml").write_text(wide)
    d.start()
    c = d.client()
    url = c.create("wide", {"secs": "300", "partition": "other"}, run=True)
    job_id = url.rsplit("/", 1)[1]
    assert c.wait_for_phase(url, ("EXECUTING", "ERROR", "COMPLETED"), timeout=WAIT) == "EXECUTING"
    assert c.job(url)["parameters"]["partition"]["value"] == "other"
    sid = slurm_id(cluster, job_id)
    r = cluster.cmd("scontrol", "show", "job", sid)
    assert r.returncode == 0, r.stderr
    fields = r.stdout.split()
    assert "Partition=other" in fields and "CPUs/Task=2" in fields, r.stdout
    text = (d.job_dir(job_id) / ".opusd" / "slurm.sh").read_text()
    assert "#SBATCH --partition=other\n" in text and "#SBATCH --cpus-per-task=2\n" in text
    c.set_phase(url, "ABORT")
    assert c.wait_for_phase(url, ("ABORTED", "ERROR", "COMPLETED"), timeout=WAIT) == "ABORTED"
    it.wait_until(lambda: sid not in cluster.squeue_ids(), WAIT, 0.1, "the SLURM job gone")
    # without the job's own: the cluster's default partition, the description's CPUs
    url = c.create("wide", {"secs": "0"}, run=True)
    assert c.wait_for_phase(url, ("COMPLETED", "ERROR", "ABORTED"), timeout=WAIT) == "COMPLETED"
    text = (d.job_dir(url.rsplit("/", 1)[1]) / ".opusd" / "slurm.sh").read_text()
    assert "--partition" not in text and "#SBATCH --cpus-per-task=2\n" in text


def test_many_jobs_at_once(cluster, daemon_factory):
    """200 jobs posted at once all complete, each once on SLURM."""
    d = daemon_factory({**cluster.daemon_config(), "jobs": {"backend": "slurm",
                                                            "max_running": 200}})
    c = d.client()
    urls = [c.create("echo", {"text": f"job {i}"}, run=True) for i in range(200)]
    for u in urls:
        assert c.wait_for_phase(u, ("COMPLETED", "ERROR", "ABORTED"), timeout=WAIT) == "COMPLETED"
    r = cluster.cmd("squeue", "--noheader", "--states=all", "--format=%j")
    names = r.stdout.split()
    for u in urls:
        assert names.count("opus-" + u.rsplit("/", 1)[1]) == 1


def test_job_the_cluster_forgot_is_lost(cluster, daemon_factory):
    """The controller restarted afresh while a job runs (its state and jobcomp
    log gone, ids from 1 again): ERROR "lost by the cluster"."""
    d = daemon_factory(cluster.daemon_config())
    c = d.client()
    url = c.create("sleeper", {"secs": "300"}, run=True)
    assert c.wait_for_phase(url, ("EXECUTING",), timeout=WAIT) == "EXECUTING"
    cluster.forget_everything()
    assert c.wait_for_phase(url, ("COMPLETED", "ERROR", "ABORTED"), timeout=WAIT) == "ERROR"
    job = c.job(url)
    assert "lost by the cluster" in job["errorSummary"]["message"], job["errorSummary"]


def test_bad_slurm_settings_are_refused(daemon_factory):
    """An unknown backend and a relative workdir_root fail --check-config
    (exit 2, naming the key); a partition that would be script text stops the
    daemon at start, before any job."""
    for sec, kv in (("jobs", {"backend": "condor"}),
                    ("slurm", {"workdir_root": "shared/relative"}),
                    ("slurm", {"ssh_port": "70000"})):
        d = daemon_factory({sec: kv}, start=False)
        r = subprocess.run([str(it.opusd_bin()), "--config", str(d.config_path),
                            "--check-config"], capture_output=True, text=True, timeout=30)
        assert r.returncode == 2, (kv, r.stdout, r.stderr)
        assert next(iter(kv)) in r.stderr, r.stderr
    d = daemon_factory({"jobs": {"backend": "slurm"}, "slurm": {"partition": "debug;id"}},
                       start=False)
    r = subprocess.run([str(it.opusd_bin()), "--config", str(d.config_path)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
    assert "slurm.partition" in r.stderr, r.stderr


def sleeper_on(backend, name):
    """The sleeper description under another name, asking for its own backend."""
    text = (REPO / "tests/integration/jobdefs/sleeper.xml").read_text()
    text = text.replace('ID="sleeper" name="sleeper"', f'ID="{name}" name="{name}"')
    return text.replace('<PARAM name="script"',
                        f'<PARAM name="backend" value="{backend}" arraysize="*" '
                        f'datatype="char"/>\n    <PARAM name="script"', 1)


def test_description_picks_its_backend(cluster, daemon_factory):
    """backend = slurm, backends = local: a description with PARAM backend=local
    runs as a local process (never submitted to SLURM), the others on SLURM;
    kill -9 with one of each running, restart: the SLURM job is adopted and
    completes, the local one (its process group killed) is ERROR "server
    restarted" — each handle went to its own backend."""
    cfg = cluster.daemon_config()
    cfg["jobs"] = {**cfg["jobs"], "backends": "local"}
    d = daemon_factory(cfg, start=False)
    (d.jdl_dir / "quick.xml").write_text(sleeper_on("local", "quick"))
    d.start()
    c = d.client()
    assert c.get("/jdl/quick").status_code == 200
    local = c.create("quick", {"secs": "300"}, run=True)
    remote = c.create("sleeper", {"secs": "4"}, run=True)
    lid, rid = (u.rsplit("/", 1)[1] for u in (local, remote))
    for u in (local, remote):
        assert c.wait_for_phase(u, ("EXECUTING",), timeout=WAIT) == "EXECUTING"
    log = d.log_text()
    assert re.search(rf"job {lid} \(quick\) started, local handle \d+", log), d.log_tail()
    assert re.search(rf"job {rid} \(sleeper\) submitted, slurm handle slurm:", log)
    assert slurm_id(cluster, lid) is None  # never given to SLURM
    assert slurm_id(cluster, rid)
    pid = int(it.wait_until(lambda: (d.job_dir(lid) / "pid.txt").read_text().strip()
                            if (d.job_dir(lid) / "pid.txt").exists() else None,
                            WAIT, 0.1, "the local job's pid"))
    d.kill9()
    d.start()
    c = d.client()
    assert c.wait_for_phase(remote, ("COMPLETED", "ERROR", "ABORTED"), timeout=WAIT) == "COMPLETED"
    assert c.wait_for_phase(local, ("COMPLETED", "ERROR", "ABORTED"), timeout=WAIT) == "ERROR"
    assert "server restarted" in c.get(local + "/error").text
    it.wait_until(lambda: not it.process_alive(pid), WAIT, 0.1, "the local job's process gone")
    r = cluster.cmd("squeue", "--noheader", "--states=all", f"--name=opus-{rid}", "--format=%i")
    assert len(r.stdout.split()) == 1, r.stdout  # adopted, not submitted again
    # a new job of each after the restart: each on its own backend again
    again = c.create("quick", {"secs": "0"}, run=True)
    assert c.wait_for_phase(again, ("COMPLETED", "ERROR", "ABORTED"), timeout=WAIT) == "COMPLETED"
    assert slurm_id(cluster, again.rsplit("/", 1)[1]) is None


def test_description_backend_not_opened_is_error(cluster, daemon_factory):
    """The default local backend only: a description asking for slurm loads,
    its jobs end ERROR saying why; a bad value is refused at load; a server
    with backends = slurm (its [slurm] settings) runs that description on
    SLURM beside local jobs."""
    d = daemon_factory(start=False)
    (d.jdl_dir / "wants.xml").write_text(sleeper_on("slurm", "wants"))
    (d.jdl_dir / "bogus.xml").write_text(sleeper_on("pbs", "bogus"))
    d.start()
    c = d.client()
    assert c.get("/jdl/bogus").status_code == 404
    assert "PARAM \"backend\": value must be local or slurm" in d.log_text()
    url = c.create("wants", {"secs": "0"}, run=True)
    assert c.wait_for_phase(url, ("COMPLETED", "ERROR", "ABORTED"), timeout=WAIT) == "ERROR"
    assert "asks for the slurm backend, which this server does not run" in \
        c.get(url + "/error").text
    d.stop()

    cfg = cluster.daemon_config()
    e = daemon_factory({"jobs": {"backend": "local", "backends": "slurm"},
                        "slurm": cfg["slurm"]}, start=False)
    (e.jdl_dir / "wants.xml").write_text(sleeper_on("slurm", "wants"))
    e.start()
    c = e.client()
    url = c.create("wants", {"secs": "0"}, run=True)
    plain = c.create("sleeper", {"secs": "0"}, run=True)
    for u in (url, plain):
        assert c.wait_for_phase(u, ("COMPLETED", "ERROR", "ABORTED"), timeout=WAIT) == "COMPLETED"
    assert slurm_id(cluster, url.rsplit("/", 1)[1])
    assert slurm_id(cluster, plain.rsplit("/", 1)[1]) is None
    r = e.run_cli("--check-config", "--config", str(e.config_path))
    assert r.returncode == 0, r.stderr
    e.config["jobs"]["backends"] = "slurm, pbs"
    e.write_config()
    bad = e.run_cli("--check-config", "--config", str(e.config_path))
    assert bad.returncode != 0 and "jobs.backends: \"pbs\" is not local or slurm" in bad.stderr, \
        bad.stderr
