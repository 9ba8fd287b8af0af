"""Several opusd instances on one PostgreSQL database with the SLURM backend
(issue 16 §2: "SLURM jobs are reconciled by whichever instance is alive").
Instance A submits a running and a pending job and is killed (-9); instance B
notices the lost heartbeat (a 3 s lease), adopts both from the cluster (they
stay EXECUTING and QUEUED, never "server lost"), controls them (an ABORT
through B cancels the running one in SLURM), and the pending one then runs to
COMPLETED; each was submitted to SLURM once. The PostgreSQL server is the
integration harness's session server (scripts/pg.sh), started here once."""
import re
import uuid
from urllib.parse import urlparse

from conftest import it
from test_slurm import WAIT, slurm_id

LEASE = 3


def instance_config(cluster, pg, db, shared, name):
    cfg = cluster.daemon_config(sbatch_args="--cpus-per-task=8")  # one job at a time
    cfg["store"] = {"backend": "postgresql", "url": pg.url(db),
                    "password_file": str(pg.password_file)}
    cfg["paths"] = {"data_dir": str(shared)}
    cfg["server"] = {"instance": name, "lease": str(LEASE)}
    return cfg


def submitted_by(dm, job_id):
    return re.search(rf"job {job_id} \(\w+\) submitted", dm.log_text()) is not None


def adopted_on(dm, job_id):
    return re.search(rf"job {job_id}: slurm job \S+ adopted", dm.log_text()) is not None


def test_dead_instance_slurm_jobs_adopted_by_a_survivor(cluster, daemon_factory):
    pg = it.session_pg()
    db = "slurm_multi_" + uuid.uuid4().hex[:12]
    pg.create_database(db)
    shared = daemon_factory.base_dir / "shared"
    a = daemon_factory(instance_config(cluster, pg, db, shared, "a"), name="a")
    b = daemon_factory(instance_config(cluster, pg, db, shared, "b"), name="b")
    for dm in (a, b):
        dm.data_dir = shared
    ca = a.client()
    # paths, not A's URLs: the same job on either instance
    blocker = urlparse(ca.create("sleeper", {"secs": "300"}, run=True)).path
    assert ca.wait_for_phase(blocker, ("EXECUTING",), timeout=WAIT) == "EXECUTING"
    waiting = urlparse(ca.create("sleeper", {"secs": "1"}, run=True)).path
    bid, wid = (u.rsplit("/", 1)[1] for u in (blocker, waiting))
    it.wait_until(lambda: slurm_id(cluster, wid), WAIT, 0.1, "the pending job in SLURM")
    assert ca.phase(waiting) == "QUEUED"
    assert submitted_by(a, bid) and submitted_by(a, wid), a.log_tail()
    assert not submitted_by(b, bid) and not submitted_by(b, wid)
    blocker_sid = slurm_id(cluster, bid)

    a.kill9()
    it.wait_until(lambda: adopted_on(b, bid) and adopted_on(b, wid), LEASE + WAIT, 0.1,
                  "B to adopt A's SLURM jobs")
    assert "instance a is gone" in b.log_text()
    cb = b.client()
    # adopted, not lost: the same phases, no error, the SLURM jobs untouched
    assert cb.phase(blocker) == "EXECUTING" and cb.phase(waiting) == "QUEUED"
    assert {blocker_sid, slurm_id(cluster, wid)} <= cluster.squeue_ids()

    cb.set_phase(blocker, "ABORT")
    assert cb.wait_for_phase(blocker, ("ABORTED", "ERROR", "COMPLETED"), timeout=WAIT) == "ABORTED"
    it.wait_until(lambda: blocker_sid not in cluster.squeue_ids(), WAIT, 0.1,
                  "the running job cancelled in SLURM")
    assert cb.wait_for_phase(waiting, ("COMPLETED", "ERROR", "ABORTED"),
                             timeout=WAIT) == "COMPLETED"
    href = [r["href"] for r in cb.job(waiting)["results"] if r["id"] == "output"]
    assert href, cb.job(waiting)["results"]
    out = cb.get(href[0])
    assert out.status_code == 200 and out.text == "done\n", out.text
    for job_id in (bid, wid):
        r = cluster.cmd("squeue", "--noheader", "--states=all", f"--name=opus-{job_id}",
                        "--format=%i")
        assert len(r.stdout.split()) == 1, r.stdout  # submitted once, never again by B
