"""Jobs cannot escape or wedge the daemon (issue 11, items 13 and 17).

* A FIFO under inputs.file_roots given as an input ends the job in ERROR with
  the reason at once (it used to block a stager thread for good); other jobs
  still run and SIGTERM stops the daemon promptly.
* A job's `setsid sleep &` (a new session and process group) dies with the job
  on ABORT and on DELETE.
* As root, jobs run as jobs.run_as (nobody here), with the limits asked by the
  configuration and the description.
"""
import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest

from conftest import Daemon, wait_until

VOT = """<?xml version="1.0" encoding="UTF-8"?>
<VOTABLE xmlns="http://www.ivoa.net/xml/VOTable/v1.3" version="1.3">
  <RESOURCE ID="{name}" name="{name}" type="meta" utype="voprov:ActivityDescription">
    <PARAM name="executionDuration" value="60" datatype="int"/>
    {extra}
    <PARAM name="script" value="{script}" arraysize="*" datatype="char"/>
    <GROUP name="InputParams">{params}</GROUP>
    <GROUP name="Used">{used}</GROUP>
    <GROUP name="Generated"/>
  </RESOURCE>
</VOTABLE>
"""

USED_FILE = """<GROUP name="src" utype="voprov:UsedDescription">
  <PARAM name="multiplicity" value="1" arraysize="*" datatype="char"/>
  <PARAM name="url" value="file://$ID" arraysize="*" datatype="char"/>
</GROUP>"""

# Its marker (a sleep length no one else uses) goes to marker.txt, then a
# grandchild in a session of its own sleeps with it while the job waits.
SETSID_SCRIPT = ("m=111.$(od -An -N4 -tu4 /dev/urandom | tr -d &quot; &quot;)&#10;"
                 "setsid sleep $m &amp;&#10;echo $m &gt; marker.txt&#10;sleep 100&#10;")


def install(d, name, script, params="", used="", extra=""):
    (d.jdl_dir / f"{name}.xml").write_text(
        VOT.format(name=name, script=script, params=params, used=used, extra=extra))


def marker_alive(marker):
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            cmd = (p / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = (p / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        # the sleep itself, not the setsid that execs it (an exec reads empty)
        if cmd.startswith("sleep ") and marker in cmd and state != "Z":
            return True
    return False


def read_marker(d, url):
    f = d.job_dir(url.rsplit("/", 1)[1]) / "marker.txt"
    return wait_until(lambda: f.exists() and f.read_text().strip(), 10, what="marker.txt")


@pytest.fixture
def setsid_daemon(daemon_factory):
    d = daemon_factory(start=False)
    install(d, "escaper", SETSID_SCRIPT)
    d.start()
    return d


def test_setsid_grandchild_of_a_killed_daemon_dies_at_restart(setsid_daemon):
    """kill -9 of the daemon leaves its jobs running: the next daemon kills
    them (the process group, and the cgroups of a daemon that is gone)."""
    d = setsid_daemon
    c = d.client()
    url = c.create("escaper", run=True)
    marker = read_marker(d, url)
    wait_until(lambda: marker_alive(marker), 10, what="the setsid grandchild")
    d.kill9()
    assert marker_alive(marker)  # nothing killed it yet
    d.start()
    c = d.client()
    assert c.wait_for_phase(url, "ERROR") == "ERROR"  # "server restarted"
    done = c.create("echo", {"text": "x"}, run=True)  # a start looks at the cgroups
    assert c.wait_for_phase(done, ("COMPLETED", "ERROR")) == "COMPLETED"
    wait_until(lambda: not marker_alive(marker), 10, what="the escaped grandchild to die")
    c.close()


@pytest.mark.parametrize("how", ["abort", "delete", "delete-action"])
def test_setsid_grandchild_dies_with_the_job(setsid_daemon, how):
    d = setsid_daemon
    c = d.client()
    url = c.create("escaper", run=True)
    assert c.wait_for_phase(url, "EXECUTING") == "EXECUTING"
    marker = read_marker(d, url)
    wait_until(lambda: marker_alive(marker), 10, what="the setsid grandchild")
    if how == "abort":
        c.set_phase(url, "ABORT")
        assert c.wait_for_phase(url, "ABORTED") == "ABORTED"
    elif how == "delete":
        assert c.delete(url).status_code == 303
    else:
        assert c.post(url, data={"ACTION": "DELETE"}).status_code == 303
    wait_until(lambda: not marker_alive(marker), 10, what="the grandchild to die")
    c.close()


def test_fifo_input_fails_at_once_and_the_daemon_goes_on(daemon_factory, tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    os.mkfifo(root / "pipe")
    (root / "plain.txt").write_text("plain\n")
    d = daemon_factory({"inputs": {"file_roots": str(root), "fetch_threads": 1},
                        "jobs": {"max_running": 1}}, start=False)
    install(d, "catter", "cat &quot;$src&quot; &gt; out.txt", used=USED_FILE)
    d.start()
    c = d.client()
    url = c.create("catter", {"src": f"file://{root}/pipe"}, run=True)
    assert c.wait_for_phase(url, ("ERROR", "COMPLETED"), timeout=15) == "ERROR"
    err = c.get(url + "/error").text
    assert "is a FIFO, not a regular file" in err, err
    # the slot and the one stager are free: the next jobs run
    url2 = c.create("catter", {"src": f"file://{root}/plain.txt"}, run=True)
    assert c.wait_for_phase(url2, ("ERROR", "COMPLETED"), timeout=15) == "COMPLETED", \
        c.get(url2 + "/error").text
    url3 = c.create("echo", {"text": "after"}, run=True)
    assert c.wait_for_phase(url3, ("ERROR", "COMPLETED"), timeout=15) == "COMPLETED"
    c.close()
    t0 = time.monotonic()
    d.stop(timeout=10)
    assert time.monotonic() - t0 < 8


needs_root = pytest.mark.skipif(os.geteuid() != 0,
                                reason="running jobs as another user needs root")


@pytest.fixture
def open_dir():
    """A directory every user may traverse (pytest's tmp dirs are 0700)."""
    p = Path(tempfile.mkdtemp(prefix="opusd-runas-"))
    p.chmod(0o711)
    yield p
    shutil.rmtree(p, ignore_errors=True)


@needs_root
def test_jobs_run_as_the_configured_user_with_limits(open_dir):
    d = Daemon(open_dir / "d", {"jobs": {"run_as": "nobody", "max_open_files": 200,
                                         "max_cpu_time": 50, "max_processes": 100}})
    d.root.chmod(0o711)
    d.data_dir.mkdir(mode=0o711)  # README: the job user must reach its directory
    d.data_dir.chmod(0o711)
    install(d, "whoami", "id -u &gt; out.txt&#10;ulimit -n &gt;&gt; out.txt&#10;"
            "ulimit -t &gt;&gt; out.txt&#10;echo $text &gt; mine.txt&#10;",
            params='<PARAM name="text" datatype="char" arraysize="*" value="x"/>',
            extra='<PARAM name="maxOpenFiles" value="100" datatype="int"/>'
                  '<PARAM name="maxCpuTime" value="500" datatype="int"/>')
    try:
        d.start()
        c = d.client()
        url = c.create("whoami", {"text": "hello"}, run=True)
        assert c.wait_for_phase(url, ("ERROR", "COMPLETED")) == "COMPLETED", \
            c.get(url + "/error").text
        jd = d.job_dir(url.rsplit("/", 1)[1])
        # the description asks fewer files than the configuration allows; more
        # CPU time than it allows, and gets the configuration's
        assert (jd / "out.txt").read_text().split() == ["65534", "100", "50"]
        assert (jd / "mine.txt").stat().st_uid == 65534
        c.close()
    finally:
        d.close()


@needs_root
def test_job_user_must_reach_the_data_dir(open_dir, tmp_path):
    # pytest's tmp_path is 0700: nobody cannot reach a data_dir below it
    d = Daemon(tmp_path / "d", {"jobs": {"run_as": "nobody"}}, register=False)
    with pytest.raises(AssertionError, match=r"is not searchable by it \(chmod o\+x "):
        d.start(timeout=10)
    d.stop() if d.running else None
    # the data_dir itself (opusd's, made 0750) is opened up for it: the job runs
    d = Daemon(open_dir / "d", {"jobs": {"run_as": "nobody"}})
    d.root.chmod(0o711)
    install(d, "whoami", "id -u &gt; out.txt&#10;")
    try:
        d.start()
        c = d.client()
        url = c.create("whoami", run=True)
        assert c.wait_for_phase(url, ("ERROR", "COMPLETED")) == "COMPLETED", \
            c.get(url + "/error").text
        assert "made searchable (o+x)" in d.log_text()
        c.close()
    finally:
        d.close()


def test_root_without_run_as_refuses_to_start(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("only as root")
    d = Daemon(tmp_path / "d", register=False)
    del d.config["jobs"]["run_as"]
    d.write_config()
    with pytest.raises(AssertionError, match="jobs.run_as"):
        d.start(timeout=10)
    d.stop() if d.running else None
