"""Restarts and signals: after kill -9 with one job EXECUTING and one QUEUED
(max_running=1) a restart on the same data dir marks the EXECUTING one ERROR
"server restarted" (its left-over processes killed: the local executor adopts
nothing) and runs the QUEUED one; the record held the executor's handle (the
process group id, as text) until then. SIGTERM with a job EXECUTING exits 0,
wakes WAITs, and after restart that job runs again to COMPLETED (no job lost,
earlier results kept; requeued without a handle); SIGHUP reloads the job
descriptions (a new file becomes a jobdef, a broken file is skipped).
"""
import signal
import threading
import time

import requests

from conftest import process_alive, wait_until


def read_pid(daemon, url, name="pid.txt", timeout=5):
    f = daemon.job_dir(url.rsplit("/", 1)[1]) / name
    wait_until(lambda: f.exists() and f.read_text().strip(), timeout, what=str(f))
    return int(f.read_text().strip())


def exec_handle(daemon, url):
    """jobs.exec_handle of the job, read from the database (the daemon stopped)."""
    rows = daemon.db_query("SELECT exec_handle FROM jobs WHERE id = ?",
                           (url.rsplit("/", 1)[1],))
    assert rows, url
    return rows[0][0]


def test_kill9_restart_recovers(daemon_factory):
    d = daemon_factory({"jobs": {"max_running": "1"}})
    c = d.client()
    running = c.create("sleeper", {"secs": "30"}, run=True)
    c.wait_for_phase(running, "EXECUTING", timeout=5)
    pid = read_pid(d, running)
    child = read_pid(d, running, "child.txt")
    queued = c.create("sleeper", {"secs": "1"}, run=True)
    assert c.phase(queued) == "QUEUED"
    pending = c.create("echo")
    c.close()

    d.kill9()
    # The local executor's handle is the job's process group: its bash's pid.
    assert exec_handle(d, running) == str(pid)
    assert exec_handle(d, queued) == "" and exec_handle(d, pending) == ""
    d.start()
    c = d.client()
    assert c.wait_for_phase(running, ("ERROR", "COMPLETED", "ABORTED"), timeout=5) == "ERROR"
    msg = c.get(running + "/error").text
    assert "server restarted" in msg.lower(), msg
    assert "server restarted" in c.job(running)["errorSummary"]["message"].lower()
    wait_until(lambda: not process_alive(pid) and not process_alive(child), 5,
               what=f"left-over job processes {pid}, {child} killed after restart")
    assert c.wait_for_phase(queued, ("COMPLETED", "ERROR"), timeout=10) == "COMPLETED"
    assert c.get(queued + "/results/output").text == "done\n"
    assert c.phase(pending) == "PENDING"
    c.close()


def test_sigterm_requeues_executing_job(daemon_factory):
    d = daemon_factory()
    c = d.client()
    finished = c.create("echo", {"text": "kept"}, run=True)
    c.wait_for_phase(finished, "COMPLETED")
    url = c.create("sleeper", {"secs": "2"}, run=True)
    c.wait_for_phase(url, "EXECUTING", timeout=5)
    pid = read_pid(d, url)
    waiting = c.create("echo")
    result = {}

    def waiter():
        try:
            result["r"] = requests.get(waiting, params={"WAIT": "30"}, timeout=40)
        except requests.RequestException as e:
            result["r"] = e
        result["t"] = time.monotonic()

    t = threading.Thread(target=waiter, daemon=True)
    t.start()
    time.sleep(0.5)
    c.close()
    t_stop = time.monotonic()
    d.stop()  # asserts exit 0 within 10 s
    t.join(5)
    assert "t" in result, "a WAIT was still blocked after the daemon exited"
    assert result["t"] - t_stop < 10
    wait_until(lambda: not process_alive(pid), 3, what=f"job process {pid} stopped with the daemon")
    assert exec_handle(d, url) == ""  # requeued: nothing left in the executor's hands

    d.start()
    c = d.client()
    assert c.phase(url) in ("QUEUED", "EXECUTING", "COMPLETED")
    assert c.wait_for_phase(url, ("COMPLETED", "ERROR", "ABORTED"), timeout=15) == "COMPLETED"
    assert c.get(url + "/results/output").text == "done\n"
    assert c.get(finished + "/results/output").text == "kept"
    assert c.phase(waiting) == "PENDING"
    c.close()


def test_sighup_reloads_job_descriptions(daemon_factory):
    d = daemon_factory()
    c = d.client()
    before = c.create("echo")
    assert c.get("/rest/fresh").status_code == 404
    src = (d.jdl_dir / "echo.xml").read_text()
    fresh = src.replace('ID="echo" name="echo"', 'ID="fresh" name="fresh"')
    assert fresh != src
    (d.jdl_dir / "fresh.xml").write_text(fresh)
    (d.jdl_dir / "broken.xml").write_text("<VOTABLE><RESOURCE name='broken'>not closed")
    d.signal(signal.SIGHUP)
    wait_until(lambda: c.get("/rest/fresh").status_code == 200, 3, what="fresh jobdef served")
    url = c.create("fresh", {"text": "reloaded"}, run=True)
    assert c.wait_for_phase(url, ("COMPLETED", "ERROR")) == "COMPLETED"
    assert c.get(url + "/results/output").content == b"reloaded"
    assert c.get("/rest/broken").status_code == 404
    # the other descriptions and their jobs are unaffected
    assert c.phase(before) == "PENDING"
    url = c.create("echo", {"text": "still"}, run=True)
    assert c.wait_for_phase(url, ("COMPLETED", "ERROR")) == "COMPLETED"
    assert d.running
    c.close()
