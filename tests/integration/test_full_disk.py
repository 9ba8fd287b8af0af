"""A full disk, for real: the daemon's data_dir is a small tmpfs (the tests run
as root; skipped, with the reason, where mounting is not permitted).

- DELETE works on a full disk (the store's reserve is released for it).
- A job that ends while the disk is full is not lost: its end is retried with
  back-off until the store takes it, /availability says the store is failing
  meanwhile, and the job then ends COMPLETED with its real outcome.
"""
import errno
import os
import subprocess
import threading

import pytest

from conftest import wait_until

GATED = """<?xml version="1.0" encoding="UTF-8"?>
<VOTABLE xmlns="http://www.ivoa.net/xml/VOTable/v1.3" version="1.3">
  <RESOURCE ID="gated" name="gated" type="meta" utype="voprov:ActivityDescription">
    <DESCRIPTION>ends when a line is written into its gate</DESCRIPTION>
    <PARAM name="executionDuration" value="120" datatype="int" utype="uws:Job.executionDuration"/>
    <PARAM name="script" value="mkfifo gate.tmp &amp;&amp; mv gate.tmp gate &amp;&amp; read x &lt; gate" arraysize="*" datatype="char"/>
    <GROUP name="InputParams"/>
    <GROUP name="Used"/>
    <GROUP name="Generated"/>
  </RESOURCE>
</VOTABLE>
"""


def mount_tmpfs(path, size):
    path.mkdir(parents=True, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({r.stderr.strip()}): full-disk tests need root")


def fill(path):
    """Writes `path` until the file system has no block left."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for chunk in (1 << 20, 4096, 1):
            buf = b"\0" * chunk
            try:
                while True:
                    os.write(fd, buf)
            except OSError as e:
                assert e.errno == errno.ENOSPC, e
    finally:
        os.close(fd)


def available(c):
    r = c.get("/availability")
    assert r.status_code == 200
    return "<vosi:available>true</vosi:available>" in r.text


@pytest.fixture
def full_disk_daemon(daemon_factory):
    # SQLite, whatever OPUSD_TEST_STORE says: the store's file is on the full
    # disk here, and its reserve is the subject (PostgreSQL's disk is its own)
    d = daemon_factory(config={"store": {"backend": "sqlite"}}, start=False)
    mount_tmpfs(d.data_dir, "24m")
    (d.jdl_dir / "gated.xml").write_text(GATED)
    try:
        d.start()
        yield d
        d.stop()
    finally:
        d.close()
        subprocess.run(["umount", "-l", str(d.data_dir)], check=False)


def open_gate(d, job_id):
    gate = d.job_dir(job_id) / "gate"
    wait_until(gate.exists, 10, what="the job's gate")
    # the job blocks in `read x < gate`, so this open does not block for long
    t = threading.Thread(target=lambda: gate.write_text("go\n"), daemon=True)
    t.start()
    return t


def test_delete_and_job_end_on_a_full_disk(full_disk_daemon):
    d = full_disk_daemon
    c = d.client()
    a = c.create("gated", run=True)
    a_id = a.rsplit("/", 1)[1]
    assert c.wait_for_phase(a, "EXECUTING") == "EXECUTING"
    wait_until((d.job_dir(a_id) / "gate").exists, 10, what="the job's gate")
    b = c.create("echo", {"text": "x"})

    fill(d.data_dir / "filler1")
    r = c.delete(b)
    assert r.status_code == 303, r.text
    assert c.get(b).status_code == 404
    assert "releasing the 4 MB reserve" in d.log_text()

    fill(d.data_dir / "filler2")  # now nothing is left, not even the reserve
    t = open_gate(d, a_id)
    wait_until(lambda: not available(c), 10, what="/availability to say the store fails")
    assert "could not record its end" in d.log_text()
    assert "store is failing" in c.get("/availability").text
    assert c.phase(a) == "EXECUTING"  # not final before its end is recorded

    (d.data_dir / "filler1").unlink()
    (d.data_dir / "filler2").unlink()
    assert c.wait_for_phase(a, ("COMPLETED", "ERROR"), timeout=20) == "COMPLETED"
    t.join(5)
    assert available(c)
    job = c.job(a)
    assert job["endTime"]
    c.close()
