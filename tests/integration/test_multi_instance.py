"""Several opusd instances on one PostgreSQL database (issue 16 §2), against a
real server that scripts/pg.sh starts for this module: three instances, one
database, one data_dir, each with its own local executor and a 3 s lease.
  - 300 jobs created (PHASE=RUN) round-robin through the three all complete,
    and the file their script appends its id to holds each id exactly once;
  - a WAIT on B wakes when a job changes phase on A: median under 100 ms;
  - ABORT on one instance of a job running on another: ABORTED, process gone;
  - kill -9 of an instance with running jobs: the others end them ERROR
    "server lost" (lease + margin), its queued jobs run elsewhere;
  - the leader (destruction reaper) killed: another archives an expired job.
"""
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest
import requests
from urllib.parse import urlparse

from conftest import REPO, free_port, iso_utc, process_alive, wait_until

PG = REPO / "scripts" / "pg.sh"
# a free port, not a fixed one: a fixed port may be some socket's ephemeral port
PG_PORT = os.environ.get("OPUSD_MULTI_PG_PORT") or str(free_port())
LEASE = 3

APPENDER = """<VOTABLE xmlns="http://www.ivoa.net/xml/VOTable/v1.3" version="1.3">
  <RESOURCE ID="appender" name="appender" type="meta" utype="voprov:ActivityDescription">
    <DESCRIPTION>Appends its job id to a shared file, then sleeps a little</DESCRIPTION>
    <PARAM name="executionDuration" value="60" datatype="int" utype="uws:Job.executionDuration"/>
    <PARAM name="quote" value="1" datatype="int" utype="uws:Job.quote"/>
    <PARAM name="script" value="echo &quot;$OPUS_JOB_ID&quot; &gt;&gt; {runs}&#10;sleep 0.05&#10;" arraysize="*" datatype="char"/>
    <GROUP name="InputParams"/>
    <GROUP name="Used"/>
    <GROUP name="Generated"/>
  </RESOURCE>
</VOTABLE>
"""


@pytest.fixture(scope="module")
def pg():
    d = Path(tempfile.mkdtemp(prefix="pg-multi-", dir="/tmp"))
    os.chmod(d, 0o755)
    out = subprocess.run([str(PG), "up", str(d / "cluster"), PG_PORT], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    url = out.stdout.strip().splitlines()[-1]
    m = re.match(r"postgresql://([^:]+):([^@]+)@(.*)$", url)
    assert m, url
    pw = d / "pw"
    pw.write_text(m.group(2) + "\n")
    pw.chmod(0o600)
    yield f"postgresql://{m.group(1)}@{m.group(3)}", pw, d
    subprocess.run([str(PG), "down", str(d / "cluster")], timeout=60)
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def trio(module_factory, pg):
    """Three instances on one database and one data_dir; the file the
    appender's jobs write their ids to."""
    url, pw, d = pg
    shared = d / "data"
    runs = d / "runs.txt"
    config = {"store": {"backend": "postgresql", "url": url, "password_file": str(pw)},
              "paths": {"data_dir": str(shared)},
              "server": {"lease": str(LEASE)},
              # one machine: a cgroup per job would be reaped by the next instance to start
              "jobs": {"max_running": "4", "cgroup": "off"}}
    daemons = []
    for _ in range(3):
        dm = module_factory(config=config, start=False)
        (dm.jdl_dir / "appender.xml").write_text(APPENDER.replace("{runs}", str(runs)))
        dm.data_dir = shared  # where kill_leftover_jobs looks
        dm.start()
        daemons.append(dm)
    return daemons, runs


def path(url):
    """A job URL as a path: the same job on any instance."""
    return urlparse(url).path


def jid(url):
    return url.rsplit("/", 1)[1]


def runner_of(daemons, job_id):
    """The instance whose log says it started the job (None: none yet)."""
    for dm in daemons:
        if re.search(rf"job {job_id} \(\w+\) started", dm.log_text()):
            return dm
    return None


def waiting(dm):
    r = requests.get(dm.base + "/availability", timeout=5)
    return int(re.search(r"(\d+) clients waiting", r.text).group(1))


def test_300_jobs_run_exactly_once(trio):
    daemons, runs = trio
    clients = [dm.client() for dm in daemons]
    urls = [path(clients[i % 3].create("appender", run=True)) for i in range(300)]
    ids = {jid(u) for u in urls}
    assert len(ids) == 300

    def done():
        got = clients[0].list_ids("appender", {"PHASE": ["COMPLETED", "ERROR", "ABORTED"]})
        return len(set(got) & ids) == 300
    wait_until(done, 90, interval=0.5, what="300 jobs ended")
    assert set(clients[1].list_ids("appender", {"PHASE": "COMPLETED"})) >= ids
    lines = runs.read_text().split()
    assert len(lines) == 300, f"{len(lines)} executions recorded for 300 jobs"
    assert set(lines) == ids, "an execution that is no job's, or a job never run"
    per = [sum(1 for i in ids if re.search(rf"job {i} \(appender\) started", dm.log_text()))
           for dm in daemons]
    assert sum(per) == 300 and min(per) > 0, f"starts per instance {per}"


def test_wait_on_b_wakes_when_a_changes_the_job(trio):
    daemons, _ = trio
    a, b = daemons[0].client(), daemons[1]
    delays = []
    for _ in range(7):
        url = path(a.create("echo", {"text": "w"}))
        result = {}

        def wait_on_b():
            r = requests.get(b.base + url, params={"WAIT": "20"},
                             timeout=30)
            result["at"] = time.monotonic()
            result["status"] = r.status_code
        before = waiting(b)
        t = threading.Thread(target=wait_on_b, daemon=True)
        t.start()
        wait_until(lambda: waiting(b) > before, 10, interval=0.01, what="B's WAIT registered")
        t0 = time.monotonic()
        a.set_phase(url, "RUN")
        t.join(25)
        assert result.get("status") == 200, result
        delays.append(result["at"] - t0)
    med = statistics.median(delays)
    assert med < 0.1, f"cross-instance WAIT woke after {[round(x * 1000) for x in delays]} ms"


def test_abort_on_another_instance_kills_the_run(trio):
    daemons, _ = trio
    c0 = daemons[0].client()
    url = path(c0.create("sleeper", {"secs": "60"}, run=True))
    assert c0.wait_for_phase(url, "EXECUTING", timeout=20) == "EXECUTING"
    wait_until(lambda: runner_of(daemons, jid(url)), 10, what="a runner")
    runner = runner_of(daemons, jid(url))
    other = next(dm for dm in daemons if dm is not runner)
    pidf = runner.data_dir / "jobs" / jid(url) / "child.txt"
    wait_until(pidf.exists, 10, what="the job's child pid")
    pid = int(pidf.read_text())
    assert process_alive(pid)
    other.client().set_phase(url, "ABORT")
    for dm in daemons:
        assert dm.client().phase(url) == "ABORTED"
    wait_until(lambda: not process_alive(pid), 10, what="the aborted job's process gone")
    # the runner recorded its end: WAIT on it returns at once, ABORTED
    assert runner.client().job(url, WAIT="5")["phase"] == "ABORTED"


def test_delete_on_another_instance_kills_the_run(trio):
    daemons, _ = trio
    c1 = daemons[1].client()
    url = path(c1.create("sleeper", {"secs": "60"}, run=True))
    assert c1.wait_for_phase(url, "EXECUTING", timeout=20) == "EXECUTING"
    wait_until(lambda: runner_of(daemons, jid(url)), 10, what="a runner")
    runner = runner_of(daemons, jid(url))
    other = next(dm for dm in daemons if dm is not runner)
    pidf = runner.data_dir / "jobs" / jid(url) / "child.txt"
    wait_until(pidf.exists, 10, what="the job's child pid")
    pid = int(pidf.read_text())
    r = other.client().delete(url)
    assert r.status_code == 303, r.text
    for dm in daemons:
        assert dm.client().get(url).status_code == 404
    wait_until(lambda: not process_alive(pid), 10, what="the deleted job's process gone")
    wait_until(lambda: not (runner.data_dir / "jobs" / jid(url)).exists(), 10,
               what="the deleted job's directory gone")


def test_kill9_the_others_settle_its_jobs(trio):
    daemons, runs = trio
    victim = daemons[2]
    cv = victim.client()
    mine = []
    for _ in range(12):
        url = path(cv.create("sleeper", {"secs": "60"}, run=True))
        cv.wait_for_phase(url, "EXECUTING", timeout=20)
        wait_until(lambda: runner_of(daemons, jid(url)), 10, what="a runner")
        if runner_of(daemons, jid(url)) is victim:
            mine.append(url)
        else:
            cv.set_phase(url, "ABORT")
        if len(mine) == 2:
            break
    assert len(mine) == 2, "no job ran on the victim"
    queued = [path(cv.create("appender", run=True)) for _ in range(3)]
    victim.kill9()
    t0 = time.monotonic()
    c = daemons[0].client()
    for url in mine:
        assert c.wait_for_phase(url, ("ERROR", "COMPLETED", "ABORTED"),
                                timeout=LEASE + 20) == "ERROR"
        assert "server lost" in c.get(url + "/error").text
    assert time.monotonic() - t0 < LEASE + 20
    # each queued one ran at most once: on a survivor (COMPLETED), or its
    # start on the victim had begun (then it is lost like the others)
    for url in queued:
        phase = c.wait_for_phase(url, ("COMPLETED", "ERROR"), timeout=30)
        runs_of = runs.read_text().split().count(jid(url))
        if phase == "ERROR":
            assert "server lost" in c.get(url + "/error").text and runs_of <= 1
        else:
            assert runs_of == 1
    victim.kill_leftover_jobs()
    victim.start()  # the same name again: it rejoins, its lost jobs stay ERROR
    for url in mine:
        assert victim.client().phase(url) == "ERROR"


def test_reaper_moves_to_a_survivor(trio):
    daemons, _ = trio

    def leader():
        for dm in daemons:
            log = dm.log_text()
            last = log.rsplit("==== start", 1)[-1]
            if dm.running and "this instance is now the leader" in last:
                return dm
        return None
    wait_until(leader, 10, what="a leader")
    lead = leader()
    others = [dm for dm in daemons if dm is not lead]
    c = others[0].client()
    url = path(c.create("echo", {"text": "r", "DESTRUCTION": iso_utc(time.time() + 4)},
                        run=True))
    lead.kill9()
    phase = None
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        phase = c.phase(url)
        if phase == "ARCHIVED":
            break
        time.sleep(0.2)
    assert phase == "ARCHIVED"
    assert any(f"job {jid(url)} archived" in dm.log_text() for dm in others)
    assert any("this instance is now the leader" in dm.log_text() for dm in others)
    lead.start()
