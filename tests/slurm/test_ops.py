"""Operations on SLURM: a cluster that does not answer (slurmctld stopped)
is shown by /availability and /admin/status, and jobs wait QUEUED with the
reason visible instead of failing; once the controller is back they run,
submitted once. A job sbatch refuses (invalid partition) is still ERROR.
Waits are for answers and phases, never fixed sleeps; no timing assertion:
requests made while sbatch hangs must answer at all (the client's timeout
of a few seconds is a liveness check, not a speed test)."""
import re
import xml.etree.ElementTree as ET

from conftest import it
from test_slurm import sleeper_on

WAIT = 90
ADMIN = "root"
VOSI = "{http://www.ivoa.net/xml/VOSIAvailability/v1.0}"
ALIVE_S = 10  # a request made while sbatch hangs answers within this


def availability(c):
    r = c.get("/availability", timeout=ALIVE_S)
    assert r.status_code == 200, r.text
    root = ET.fromstring(r.content)
    ok = root.find(VOSI + "available").text
    assert ok in ("true", "false"), r.text
    return ok == "true", [n.text for n in root.findall(VOSI + "note")]


def status(c):
    r = c.get("/admin/status", timeout=ALIVE_S)
    assert r.status_code == 200, r.text
    s = r.json()
    assert s["executor"] == "slurm", s
    return s["executor_status"]


def job_json(c, url):
    r = c.get(url, headers={"Accept": "application/json"}, timeout=ALIVE_S)
    assert r.status_code == 200, r.text
    return r.json()


def test_unreachable_cluster_keeps_jobs_queued(cluster, daemon_factory):
    d = daemon_factory(cluster.daemon_config(command_timeout_ms=5000), users=[(ADMIN, True)])
    c = d.client(auth=(ADMIN, d.tokens[ADMIN]))
    assert availability(c)[0]
    st = status(c)
    assert st["reachable"] is True and st["reason"] is None and st["jobs_waiting"] == 0, st
    url = None
    try:
        cluster.stop_controller()
        # exec's poll notices (squeue fails); /availability never runs a command itself.
        it.wait_until(lambda: not availability(c)[0], WAIT, 0.1, "/availability false")
        ok, notes = availability(c)
        assert any(n.startswith("SLURM cluster not reachable: ") for n in notes), notes
        st = status(c)
        assert st["reachable"] is False and st["reason"], st

        url = c.create("echo", {"text": "after the outage"}, run=True)
        job_id = url.rsplit("/", 1)[1]
        # sbatch fails (or hangs to its timeout): the job goes back to the queue.
        it.wait_until(lambda: "queueReason" in job_json(c, url), WAIT, 0.1,
                      "the job's queueReason")
        j = job_json(c, url)
        assert j["phase"] == "QUEUED", j
        assert j["queueReason"].startswith("waiting for the cluster: "), j
        assert j["errorSummary"] is None, j
        assert c.phase(url) == "QUEUED"
        c.job(url)  # the UWS XML stays schema-valid (the client validates it)
        st = status(c)
        assert st["jobs_waiting"] >= 1 and st["waiting_reason"], st
        # Requests keep answering while submissions fail or hang.
        r = c.get("/rest/echo", timeout=ALIVE_S)
        assert r.status_code == 200 and job_id in r.text
        assert any("queued job(s) wait for it" in n for n in availability(c)[1])
    finally:
        cluster.start_controller()
    assert c.wait_for_phase(url, ("COMPLETED", "ERROR", "ABORTED"), timeout=2 * WAIT) \
        == "COMPLETED", job_json(c, url)
    r = cluster.cmd("squeue", "--noheader", "--states=all", f"--name=opus-{job_id}",
                    "--format=%i")
    assert len(r.stdout.split()) == 1, r.stdout  # submitted once
    assert "queueReason" not in job_json(c, url)
    it.wait_until(lambda: availability(c)[0], WAIT, 0.1, "/availability true again")
    st = status(c)
    assert st["reachable"] is True and st["jobs_waiting"] == 0, st


def test_held_cluster_does_not_hold_local_jobs(cluster, daemon_factory):
    """backend = slurm beside local, one slot (max_running 1): while the
    cluster does not answer, the SLURM job waits QUEUED with its queueReason
    and the jobs of a description on the local backend pass it in the queue;
    one of them, QUEUED behind a running one, has no queueReason. Once the
    cluster is back the SLURM job completes, submitted once."""
    cfg = cluster.daemon_config(command_timeout_ms=5000)
    cfg["jobs"] = {**cfg["jobs"], "backends": "local", "max_running": 1}
    d = daemon_factory(cfg, users=[(ADMIN, True)], start=False)
    (d.jdl_dir / "quick.xml").write_text(sleeper_on("local", "quick"))
    d.start()
    c = d.client(auth=(ADMIN, d.tokens[ADMIN]))
    try:
        cluster.stop_controller()
        it.wait_until(lambda: not availability(c)[0], WAIT, 0.1, "/availability false")
        url = c.create("echo", {"text": "held"}, run=True)
        it.wait_until(lambda: "queueReason" in job_json(c, url), WAIT, 0.1,
                      "the SLURM job's queueReason")
        # the slot is free again: a local job takes it, another waits behind it
        long = c.create("quick", {"secs": "300"}, run=True)
        assert c.wait_for_phase(long, ("EXECUTING", "COMPLETED", "ERROR"), timeout=WAIT) \
            == "EXECUTING"
        behind = c.create("quick", {"secs": "0"}, run=True)
        j = job_json(c, behind)
        assert j["phase"] == "QUEUED" and "queueReason" not in j, j
        j = job_json(c, url)
        assert j["phase"] == "QUEUED" and j["queueReason"].startswith("waiting for the cluster"), j
        st = status(c)
        assert st["jobs_waiting"] == 1, st  # the SLURM job, not the local one
        c.set_phase(long, "ABORT")
        assert c.wait_for_phase(long, ("ABORTED", "ERROR", "COMPLETED"), timeout=WAIT) \
            == "ABORTED"
        assert c.wait_for_phase(behind, ("COMPLETED", "ERROR", "ABORTED"), timeout=WAIT) \
            == "COMPLETED", job_json(c, behind)
        assert job_json(c, url)["phase"] == "QUEUED"
    finally:
        cluster.start_controller()
    assert c.wait_for_phase(url, ("COMPLETED", "ERROR", "ABORTED"), timeout=2 * WAIT) \
        == "COMPLETED", job_json(c, url)
    job_id = url.rsplit("/", 1)[1]
    r = cluster.cmd("squeue", "--noheader", "--states=all", f"--name=opus-{job_id}",
                    "--format=%i")
    assert len(r.stdout.split()) == 1, r.stdout  # submitted once
    for u in (long, behind):
        r = cluster.cmd("squeue", "--noheader", "--states=all",
                        f"--name=opus-{u.rsplit('/', 1)[1]}", "--format=%i")
        assert r.stdout.strip() == "", r.stdout  # never on SLURM


FETCHER = """<?xml version="1.0" encoding="UTF-8"?>
<VOTABLE xmlns="http://www.ivoa.net/xml/VOTable/v1.3" version="1.3">
  <RESOURCE ID="fetchfile" name="fetchfile" type="meta" utype="voprov:ActivityDescription">
    <DESCRIPTION>Copies its input, fetched before the job starts</DESCRIPTION>
    <PARAM name="executionDuration" value="60" datatype="int" utype="uws:Job.executionDuration"/>
    <PARAM name="script" value="cat &quot;$src&quot; &gt; out.txt" arraysize="*" datatype="char"/>
    <GROUP name="InputParams"/>
    <GROUP name="Used">
      <GROUP name="src" utype="voprov:UsedDescription">
        <PARAM name="multiplicity" value="1" arraysize="*" datatype="char"/>
        <PARAM name="url" value="file://$ID" arraysize="*" datatype="char"/>
      </GROUP>
    </GROUP>
    <GROUP name="Generated">
      <GROUP name="out" utype="voprov:WasGeneratedBy">
        <PARAM name="default" value="out.txt" arraysize="*" datatype="char"/>
      </GROUP>
    </GROUP>
  </RESOURCE>
</VOTABLE>
"""


def test_unreachable_cluster_holds_a_staged_job(cluster, daemon_factory, tmp_path):
    """A job whose input is fetched first is EXECUTING when sbatch finds no
    cluster: it is not ERROR, its stager submits it again after each
    back-off, and it completes once the cluster answers (submitted once) —
    as soon as the backend sees it answer, not at the end of a 16 s
    back-off; another one, aborted while it waits, is ABORTED and never
    submitted."""
    root = tmp_path / "inputs"
    root.mkdir()
    (root / "in.txt").write_text("staged input\n")
    cfg = cluster.daemon_config(command_timeout_ms=5000)
    cfg["inputs"] = {"file_roots": str(root)}
    d = daemon_factory(cfg, start=False)
    (d.jdl_dir / "fetchfile.xml").write_text(FETCHER)
    d.start()
    c = d.client()
    held = "its inputs are fetched (EXECUTING), submitted again in"
    try:
        cluster.stop_controller()
        it.wait_until(lambda: not availability(c)[0], WAIT, 0.1, "/availability false")
        url = c.create("fetchfile", {"src": f"{root}/in.txt"}, run=True)
        gone = c.create("fetchfile", {"src": f"{root}/in.txt"}, run=True)
        jid, gid = (u.rsplit("/", 1)[1] for u in (url, gone))

        def holds(job_id, n):
            return sum(1 for ln in d.log_text().splitlines()
                       if f"job {job_id}: " in ln and held in ln) >= n
        # held twice: it was submitted again after the first back-off
        it.wait_until(lambda: holds(jid, 2), WAIT, 0.2, "the staged job held twice")
        j = job_json(c, url)
        assert j["phase"] == "EXECUTING" and j["errorSummary"] is None, j
        it.wait_until(lambda: holds(gid, 1), WAIT, 0.2, "the other staged job held")
        # a long back-off (both jobs fail each round, it doubles twice a round)
        it.wait_until(lambda: max(map(int, re.findall(r"submitted again in (\d+) ms",
                                                      d.log_text())), default=0) >= 16000,
                      WAIT, 0.2, "a back-off of 16 s")
        c.set_phase(gone, "ABORT")
        assert c.wait_for_phase(gone, ("ABORTED", "ERROR", "COMPLETED"), timeout=WAIT) == "ABORTED"
        assert c.phase(url) == "EXECUTING"
    finally:
        cluster.start_controller()
    # the backend's squeue answers again: the held submission goes now, not at
    # the end of its back-off
    it.wait_until(lambda: "the cluster answers again; held starts resume now" in d.log_text(),
                  WAIT, 0.1, "the back-off cut short")
    assert c.wait_for_phase(url, ("COMPLETED", "ERROR", "ABORTED"), timeout=2 * WAIT) \
        == "COMPLETED", job_json(c, url)
    out = [r for r in c.job(url)["results"] if r["id"] == "out"]
    assert out and c.get(out[0]["href"]).text == "staged input\n"
    for job_id, want in ((jid, 1), (gid, 0)):
        r = cluster.cmd("squeue", "--noheader", "--states=all", f"--name=opus-{job_id}",
                        "--format=%i")
        assert len(r.stdout.split()) == want, (job_id, r.stdout)


def test_refused_submission_is_still_error(cluster, daemon_factory):
    """sbatch answered and refused the job: ERROR with sbatch's words, the
    cluster counts as reachable."""
    d = daemon_factory(cluster.daemon_config(partition="nosuchpartition"),
                       users=[(ADMIN, True)])
    c = d.client(auth=(ADMIN, d.tokens[ADMIN]))
    url = c.create("echo", {"text": "x"}, run=True)
    assert c.wait_for_phase(url, ("COMPLETED", "ERROR", "ABORTED"), timeout=WAIT) == "ERROR"
    j = job_json(c, url)
    assert "partition" in j["errorSummary"]["message"], j
    assert availability(c)[0]
    assert status(c)["reachable"] is True
