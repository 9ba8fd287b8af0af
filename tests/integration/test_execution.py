"""Running jobs: parameters reach the script as environment variables and are
never executed (byte-for-byte round trip of a hostile value, no file created by
injection), Generated results, non-zero exit -> ERROR with the stderr tail,
executionDuration enforced (also on a job ignoring SIGTERM: SIGKILL after
kill_grace_ms), ABORT kills the process group, and max_running=1 never runs
two jobs at once (QUEUED is seen).

Job scripts (tests/integration/jobdefs) write their pid to pid.txt and their
sleep child's pid to child.txt in the job directory data_dir/jobs/{id}/.
"""
import time

import pytest

from conftest import parse_time, process_alive, wait_until

HOSTILE = ("$(touch pwned1)`touch pwned2`'\"; touch pwned3; echo $HOME && "
           "|| > pwned4 \\ * ? [a] {b,c} ~ # %s %n\n second line\ttab ${PATH} é€ ")


def job_id(url):
    return url.rsplit("/", 1)[1]


def read_pid(daemon, url, name, timeout=5):
    f = daemon.job_dir(job_id(url)) / name
    wait_until(lambda: f.exists() and f.read_text().strip(), timeout, what=f"{f}")
    return int(f.read_text().strip())


def pwned_files(daemon):
    return [p for p in daemon.root.rglob("pwned*")]


def test_default_parameter_values_reach_script(client):
    url = client.create("echo", run=True)
    assert client.wait_for_phase(url, ("COMPLETED", "ERROR")) == "COMPLETED"
    assert client.get(url + "/results/output").content == b"Hello World"
    assert client.get(url + "/results/stdout").content == b"n=1\n"


@pytest.mark.parametrize("form", ["urlencoded", "multipart"])
def test_hostile_value_round_trips_and_is_not_executed(client, daemon, form):
    if form == "urlencoded":
        url = client.create("echo", {"text": HOSTILE, "n": "7"}, run=True)
    else:
        r = client.post("/rest/echo", files={"text": (None, HOSTILE.encode()),
                                             "n": (None, "7"), "PHASE": (None, "RUN")})
        assert r.status_code == 303, r.text
        url = r.headers["Location"]
    assert client.wait_for_phase(url, ("COMPLETED", "ERROR")) == "COMPLETED", \
        client.get(url + "/error").text
    assert client.get(url + "/parameters/text").content == HOSTILE.encode()
    assert client.get(url + "/results/output").content == HOSTILE.encode()
    assert client.get(url + "/results/stdout").content == b"n=7\n"
    assert pwned_files(daemon) == [], "a parameter value was executed by a shell"


def test_results_after_completion(client):
    url = client.create("echo", {"text": "abc"}, run=True)
    client.wait_for_phase(url, "COMPLETED")
    job = client.job(url)
    ids = [r["id"] for r in job["results"]]
    assert {"output", "stdout", "stderr"} <= set(ids), ids
    out = next(r for r in job["results"] if r["id"] == "output")
    if out["size"] is not None:
        assert out["size"] == "3"
    if out["mime-type"] is not None:
        assert out["mime-type"].startswith("text/plain")
    assert parse_time(job["startTime"]) <= parse_time(job["endTime"])
    assert parse_time(job["creationTime"]) <= parse_time(job["startTime"])


def test_nonzero_exit_is_error_with_stderr_tail(client):
    url = client.create("failer", {"text": "disk on fire"}, run=True)
    assert client.wait_for_phase(url, ("COMPLETED", "ERROR")) == "ERROR"
    err = client.get(url + "/error")
    assert err.status_code == 200
    assert err.headers["Content-Type"].startswith("text/plain")
    assert "boom: disk on fire" in err.text, err.text
    job = client.job(url)
    assert job["errorSummary"] is not None
    assert "boom: disk on fire" in job["errorSummary"]["message"], job["errorSummary"]
    assert job["endTime"] is not None


def test_execution_duration_enforced(client, daemon):
    url = client.create("sleeper", {"secs": "30", "EXECUTIONDURATION": "1"}, run=True)
    client.wait_for_phase(url, ("EXECUTING", "ERROR", "COMPLETED"), timeout=5)
    pid = read_pid(daemon, url, "pid.txt")
    child = read_pid(daemon, url, "child.txt")
    t0 = time.monotonic()
    assert client.wait_for_phase(url, ("COMPLETED", "ERROR", "ABORTED"), timeout=6) == "ERROR"
    assert time.monotonic() - t0 < 5
    msg = client.get(url + "/error").text
    assert "execution duration exceeded" in msg.lower(), msg
    assert "execution duration exceeded" in client.job(url)["errorSummary"]["message"].lower()
    wait_until(lambda: not process_alive(pid) and not process_alive(child), 3,
               what=f"job processes {pid}, {child} gone")


def test_execution_duration_kills_job_ignoring_sigterm(client, daemon):
    # kill_grace_ms=500 in the test config
    url = client.create("stubborn", {"secs": "30", "EXECUTIONDURATION": "1"}, run=True)
    pid = read_pid(daemon, url, "pid.txt")
    child = read_pid(daemon, url, "child.txt")
    assert client.wait_for_phase(url, ("COMPLETED", "ERROR", "ABORTED"), timeout=8) == "ERROR"
    assert "execution duration exceeded" in client.get(url + "/error").text.lower()
    wait_until(lambda: not process_alive(pid) and not process_alive(child), 3,
               what=f"SIGTERM-ignoring processes {pid}, {child} killed")


def test_abort_executing_kills_process_group(client, daemon):
    url = client.create("sleeper", {"secs": "30"}, run=True)
    client.wait_for_phase(url, "EXECUTING", timeout=5)
    pid = read_pid(daemon, url, "pid.txt")
    child = read_pid(daemon, url, "child.txt")
    assert process_alive(pid) and process_alive(child)
    r = client.set_phase(url, "ABORT")
    assert r.headers["Location"] == url
    assert client.wait_for_phase(url, ("ABORTED", "ERROR", "COMPLETED"), timeout=3) == "ABORTED"
    wait_until(lambda: not process_alive(pid) and not process_alive(child), 3,
               what=f"aborted job processes {pid}, {child} gone")
    job = client.job(url)
    assert job["endTime"] is not None
    # aborting again is forbidden
    assert client.post(url + "/phase", data={"PHASE": "ABORT"}).status_code == 403


def test_delete_executing_kills_it(client, daemon):
    url = client.create("sleeper", {"secs": "30"}, run=True)
    client.wait_for_phase(url, "EXECUTING", timeout=5)
    pid = read_pid(daemon, url, "pid.txt")
    assert client.delete(url).status_code == 303
    assert client.get(url).status_code == 404
    wait_until(lambda: not process_alive(pid), 3, what=f"deleted job process {pid} gone")


def test_max_running_one(daemon_factory):
    d = daemon_factory({"jobs": {"max_running": "1"}})
    c = d.client()
    urls = [c.create("sleeper", {"secs": "1"}, run=True) for _ in range(3)]
    ids = [job_id(u) for u in urls]
    seen_queued = False
    max_exec = 0
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        executing = c.list_ids("sleeper", {"PHASE": "EXECUTING"})
        queued = c.list_ids("sleeper", {"PHASE": "QUEUED"})
        max_exec = max(max_exec, len(executing))
        assert len(executing) <= 1, f"two jobs EXECUTING with max_running=1: {executing}"
        seen_queued = seen_queued or bool(queued)
        done = c.list_ids("sleeper", [("PHASE", "COMPLETED"), ("PHASE", "ERROR")])
        if len(done) == 3:
            break
        time.sleep(0.05)
    assert seen_queued, "no job was ever seen QUEUED"
    assert max_exec == 1
    jobs = [c.job(u) for u in urls]
    assert [j["phase"] for j in jobs] == ["COMPLETED"] * 3, [j["phase"] for j in jobs]
    spans = sorted((parse_time(j["startTime"]), parse_time(j["endTime"]), j["jobId"])
                   for j in jobs)
    for (s1, e1, a), (s2, e2, b) in zip(spans, spans[1:]):
        assert s2 >= e1, f"job {b} started at {s2} before {a} ended at {e1}"
    # queue order follows the run order
    assert [s[2] for s in spans] == ids
    c.close()


def test_abort_or_delete_queued_job_never_runs(daemon_factory):
    d = daemon_factory({"jobs": {"max_running": "1"}})
    c = d.client()
    first = c.create("sleeper", {"secs": "1"}, run=True)
    c.wait_for_phase(first, "EXECUTING", timeout=5)
    aborted = c.create("sleeper", {"secs": "1"}, run=True)
    deleted = c.create("sleeper", {"secs": "1"}, run=True)
    last = c.create("echo", run=True)
    assert c.phase(aborted) == "QUEUED" and c.phase(deleted) == "QUEUED"
    c.set_phase(aborted, "ABORT")
    assert c.phase(aborted) == "ABORTED"
    assert c.delete(deleted).status_code == 303
    assert c.wait_for_phase(last, ("COMPLETED", "ERROR"), timeout=10) == "COMPLETED"
    assert c.phase(first) == "COMPLETED"
    assert c.phase(aborted) == "ABORTED"
    assert c.job(aborted)["startTime"] is None
    assert not (d.job_dir(job_id(aborted)) / "pid.txt").exists(), "aborted QUEUED job ran"
    assert not (d.job_dir(job_id(deleted)) / "pid.txt").exists(), "deleted QUEUED job ran"
    assert c.get(deleted).status_code == 404
    c.close()


def test_concurrent_creates(daemon):
    import concurrent.futures

    def make(i):
        c = daemon.client()
        try:
            return c.create("echo", {"text": f"job {i}", "RUNID": f"c{i}"}, run=(i % 2 == 0))
        finally:
            c.close()

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        urls = list(pool.map(make, range(64)))
    assert len(set(urls)) == 64
    c = daemon.client()
    for i, url in enumerate(urls):
        if i % 2 == 0:
            assert c.wait_for_phase(url, ("COMPLETED", "ERROR")) == "COMPLETED"
            assert c.get(url + "/results/output").text == f"job {i}"
        else:
            assert c.job(url)["runId"] == f"c{i}"
    c.close()


def test_symlinked_results_are_not_served(client):
    # the job replaces its output and its stdout/stderr with symlinks out of its directory
    url = client.create("linker", run=True)
    client.wait_for_phase(url, ("COMPLETED", "ERROR"))
    secret = open("/etc/passwd", "rb").read()
    for rid in ("output", "stdout", "stderr"):
        r = client.get(url + "/results/" + rid)
        assert r.status_code in (200, 404), r.status_code
        assert secret[:20] not in r.content, f"result {rid} served /etc/passwd"
    for res in client.job(url)["results"]:
        r = client.get(res["href"])
        assert secret[:20] not in r.content, f"{res['href']} served /etc/passwd"
