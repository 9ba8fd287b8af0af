"""Blocking WAIT on GET /rest/{jobdef}/{id}?WAIT=n (UWS 1.1 section 2.2.1.1):
blocks while PENDING/QUEUED/EXECUTING, returns the job document at the first
phase change (within 100 ms; checked with 0.25 s slack) or after n seconds,
WAIT=-1 means up to the configured cap, the cap bounds every WAIT, the PHASE
guard returns at once when the job is not in that phase, finished jobs return
at once, and 50 concurrent waiters all wake at one change.
"""
import threading
import time

import pytest
import requests

from conftest import job_to_dict, validate_uws

WAKE_LIMIT = 0.25  # spec: 100 ms; slack for a loaded test machine


class Waiter(threading.Thread):
    """GET url with params in a thread; records the return time and the job."""

    def __init__(self, url, params, timeout=70):
        super().__init__(daemon=True)
        self.url, self.params, self.timeout = url, params, timeout
        self.started_at = self.returned_at = None
        self.status = self.job = self.error = None

    def run(self):
        self.started_at = time.monotonic()
        try:
            r = requests.get(self.url, params=self.params, timeout=self.timeout,
                             allow_redirects=False)
            self.returned_at = time.monotonic()
            self.status = r.status_code
            if r.status_code == 200:
                self.job = job_to_dict(validate_uws(r.content))
        except Exception as e:  # reported by the test
            self.returned_at = time.monotonic()
            self.error = e


def timed_get(client, url, params):
    t0 = time.monotonic()
    r = client.get(url, params=params)
    dt = time.monotonic() - t0
    assert r.status_code == 200, f"{r.status_code} {r.text[:300]!r}"
    return dt, job_to_dict(validate_uws(r.content))


def test_wait_blocks_on_pending_for_n_seconds(client):
    url = client.create("echo")
    dt, job = timed_get(client, url, {"WAIT": "2"})
    assert 1.8 <= dt < 3.5, f"WAIT=2 on a PENDING job returned after {dt:.3f}s"
    assert job["phase"] == "PENDING"


@pytest.mark.parametrize("action,expect", [("RUN", ("QUEUED", "EXECUTING", "COMPLETED")),
                                           ("ABORT", ("ABORTED",))])
def test_wait_wakes_at_phase_change(client, action, expect):
    url = client.create("echo")
    w = Waiter(url, {"WAIT": "10"})
    w.start()
    time.sleep(0.5)
    assert w.returned_at is None, "WAIT returned before any phase change"
    t_change = time.monotonic()
    client.set_phase(url, action)
    w.join(12)
    assert w.error is None, w.error
    assert w.status == 200
    delay = w.returned_at - t_change
    assert delay <= WAKE_LIMIT, \
        f"WAIT returned {delay * 1000:.0f} ms after PHASE={action} (limit {WAKE_LIMIT * 1000:.0f} ms)"
    assert w.job["phase"] in expect, w.job["phase"]


def test_wait_wakes_at_completion(client):
    url = client.create("sleeper", {"secs": "1"}, run=True)
    client.wait_for_phase(url, "EXECUTING")
    dt, job = timed_get(client, url, {"WAIT": "20"})
    assert job["phase"] in ("COMPLETED", "ERROR"), job["phase"]
    assert dt < 3, f"WAIT on a 1 s job took {dt:.2f}s"


def test_wait_phase_guard_returns_at_once(client):
    url = client.create("echo")
    dt, job = timed_get(client, url, {"WAIT": "10", "PHASE": "EXECUTING"})
    assert dt < 1.0, f"WAIT with PHASE=EXECUTING on a PENDING job took {dt:.2f}s"
    assert job["phase"] == "PENDING"
    dt, job = timed_get(client, url, {"WAIT": "1", "PHASE": "PENDING"})
    assert 0.8 <= dt < 2.5, f"WAIT=1&PHASE=PENDING on a PENDING job returned after {dt:.2f}s"


def test_wait_on_finished_job_returns_at_once(client):
    url = client.create("echo", run=True)
    client.wait_for_phase(url, "COMPLETED")
    dt, job = timed_get(client, url, {"WAIT": "10"})
    assert dt < 1.0, f"WAIT on a COMPLETED job took {dt:.2f}s"
    assert job["phase"] == "COMPLETED"
    dt, _ = timed_get(client, url, {"WAIT": "-1"})
    assert dt < 1.0, f"WAIT=-1 on a COMPLETED job took {dt:.2f}s"


def test_wait_zero_returns_at_once(client):
    url = client.create("echo")
    dt, job = timed_get(client, url, {"WAIT": "0"})
    assert dt < 1.0, f"WAIT=0 took {dt:.2f}s"


def test_wait_bad_value_is_not_500(client):
    url = client.create("echo")
    for bad in ("abc", "1.5", "-2", "99999999999999999999999"):
        r = client.get(url, params={"WAIT": bad}, timeout=70)
        assert r.status_code in (200, 400), f"WAIT={bad}: {r.status_code}"


def test_fifty_waiters_all_wake(client):
    url = client.create("echo")
    waiters = [Waiter(url, {"WAIT": "20"}) for _ in range(50)]
    for w in waiters:
        w.start()
    time.sleep(1.0)
    early = [w for w in waiters if w.returned_at is not None]
    assert not early, f"{len(early)} waiters returned before the change: " \
                      f"{[(w.status, w.error) for w in early[:3]]}"
    t_change = time.monotonic()
    client.set_phase(url, "ABORT")
    for w in waiters:
        w.join(25)
    errors = [w.error for w in waiters if w.error is not None]
    assert not errors, errors[:3]
    assert all(w.status == 200 for w in waiters), [w.status for w in waiters]
    delays = sorted(w.returned_at - t_change for w in waiters)
    assert delays[-1] <= 1.0, \
        f"slowest of 50 waiters woke {delays[-1] * 1000:.0f} ms after the change " \
        f"(median {delays[25] * 1000:.0f} ms)"
    assert all(w.job["phase"] == "ABORTED" for w in waiters)


def test_wait_cap(daemon_factory):
    d = daemon_factory({"server": {"wait_cap": "1"}})
    c = d.client()
    url = c.create("echo")
    dt, job = timed_get(c, url, {"WAIT": "30"})
    assert 0.8 <= dt < 2.5, f"WAIT=30 with wait_cap=1 returned after {dt:.2f}s"
    assert job["phase"] == "PENDING"
    dt, _ = timed_get(c, url, {"WAIT": "-1"})
    assert 0.8 <= dt < 2.5, f"WAIT=-1 with wait_cap=1 returned after {dt:.2f}s"
    c.close()


def test_wait_returns_when_job_deleted(client):
    url = client.create("echo")
    w = Waiter(url, {"WAIT": "20"})
    w.start()
    time.sleep(0.5)
    t0 = time.monotonic()
    assert client.delete(url).status_code == 303
    w.join(5)
    assert w.returned_at is not None, "WAIT still blocked after the job was deleted"
    assert w.returned_at - t0 < 1.0, f"WAIT returned {w.returned_at - t0:.2f}s after DELETE"
    assert w.error is None and w.status in (200, 404), (w.status, w.error)


def test_wait_blocks_in_queued_and_executing(daemon_factory):
    d = daemon_factory({"jobs": {"max_running": "1"}})
    c = d.client()
    first = c.create("sleeper", {"secs": "2"}, run=True)
    c.wait_for_phase(first, "EXECUTING", timeout=5)
    second = c.create("sleeper", {"secs": "1"}, run=True)
    assert c.phase(second) == "QUEUED"
    dt, job = timed_get(c, second, {"WAIT": "10"})
    assert job["phase"] == "EXECUTING", job["phase"]
    assert 0.5 < dt < 4, f"WAIT on QUEUED returned after {dt:.2f}s"
    dt, job = timed_get(c, second, {"WAIT": "10", "PHASE": "EXECUTING"})
    assert job["phase"] == "COMPLETED", job["phase"]
    assert 0.3 < dt < 3, f"WAIT on EXECUTING returned after {dt:.2f}s"
    c.close()
