"""POST /handler/job_event without a cluster: the job event key
({data_dir}/event.key, 0600, 32 bytes, kept across restarts), the token every
job receives (OPUS_EVENT_TOKEN = HMAC-SHA256(key, job id), hex), and the
endpoint's answers: 401 for a missing, wrong or another job's token, 400 for
a missing job_id or phase or an unknown phase, 404 for an unknown job (only
with a valid token), 204 otherwise, idempotent, and a late EXECUTING after
COMPLETED changes nothing. A local job is not followed by signals: its phase
comes from its own process. The SLURM side is in tests/slurm/test_events.py.
"""
import hashlib
import hmac
import os
import stat

import pytest

from conftest import HERE

ENVTOKEN = (HERE / "jobdefs" / "echo.xml").read_text().replace(
    'ID="echo" name="echo"', 'ID="envtoken" name="envtoken"').replace(
    "printf &apos;%s&apos; &quot;$text&quot; &gt; &quot;$output&quot;",
    "printf &apos;%s&apos; &quot;$OPUS_EVENT_TOKEN&quot; &gt; &quot;$output&quot;")
OTHER_ID = "0123456789abcdef0123456789abcdef"


def key_of(d):
    return (d.data_dir / "event.key").read_bytes()


def token(d, job_id):
    return hmac.new(key_of(d), job_id.encode(), hashlib.sha256).hexdigest()


def post_event(c, headers=None, **fields):
    return c.post("/handler/job_event", data=fields, headers=headers or {})


def bearer(t):
    return {"Authorization": f"Bearer {t}"}


@pytest.fixture
def evd(daemon_factory):
    d = daemon_factory(start=False)
    (d.jdl_dir / "envtoken.xml").write_text(ENVTOKEN)
    return d.start()


def job_id_of(url):
    return url.rsplit("/", 1)[1]


def test_key_file_is_made_0600_and_kept_across_restarts(evd):
    path = evd.data_dir / "event.key"
    st = os.stat(path)
    assert stat.S_IMODE(st.st_mode) == 0o600
    assert st.st_size == 32
    before = path.read_bytes()
    evd.stop()
    evd.start()
    assert path.read_bytes() == before


def test_every_job_gets_its_own_token(evd):
    c = evd.client()
    urls = [c.create("envtoken", run=True) for _ in range(2)]
    for url in urls:
        assert c.wait_for_phase(url, ("COMPLETED", "ERROR")) == "COMPLETED", c.job(url)
        got = c.get(url + "/results/output").text
        assert got == token(evd, job_id_of(url))
    assert c.get(urls[0] + "/results/output").text != c.get(urls[1] + "/results/output").text


def test_the_endpoint_checks_and_is_idempotent(evd):
    c = evd.client()
    url = c.create("echo", run=True)
    other = c.create("echo", run=True)
    for u in (url, other):
        assert c.wait_for_phase(u, ("COMPLETED", "ERROR")) == "COMPLETED"
    jid, oid = job_id_of(url), job_id_of(other)
    good = bearer(token(evd, jid))

    # no token, a wrong one, another job's, another scheme: 401
    assert post_event(c, job_id=jid, phase="COMPLETED").status_code == 401
    assert post_event(c, bearer("0" * 64), job_id=jid, phase="COMPLETED").status_code == 401
    assert post_event(c, bearer(token(evd, oid)), job_id=jid,
                      phase="COMPLETED").status_code == 401
    assert post_event(c, {"Authorization": "Basic " + token(evd, jid)}, job_id=jid,
                      phase="COMPLETED").status_code == 401
    # missing or malformed fields: 400
    assert post_event(c, good, phase="COMPLETED").status_code == 400
    assert post_event(c, good, job_id="../etc", phase="COMPLETED").status_code == 400
    assert post_event(c, good, job_id=jid).status_code == 400
    assert post_event(c, good, job_id=jid, phase="RUNNING").status_code == 400
    assert post_event(c, good, job_id=jid, phase="completed").status_code == 400
    # an unknown job: 404, but only with that id's own valid token
    assert post_event(c, bearer(token(evd, OTHER_ID)), job_id=OTHER_ID,
                      phase="COMPLETED").status_code == 404
    assert post_event(c, good, job_id=OTHER_ID, phase="COMPLETED").status_code == 401
    # GET is no event
    assert c.get("/handler/job_event").status_code == 405
    assert c.post("/handler/other", data={"job_id": jid}).status_code == 404

    before = c.job(url)
    # replayed COMPLETED, then a late EXECUTING: 204, nothing changes
    for phase in ("COMPLETED", "COMPLETED", "EXECUTING", "ERROR"):
        r = post_event(c, good, job_id=jid, phase=phase, message="x" * 5000)
        assert r.status_code == 204, (phase, r.status_code, r.text)
    after = c.job(url)
    assert after["phase"] == "COMPLETED"
    assert after == before
    assert "signal COMPLETED" in evd.log_text()


def test_a_running_local_job_is_not_moved_by_signals(evd):
    c = evd.client()
    url = c.create("sleeper", {"secs": "30"}, run=True)
    c.wait_for_phase(url, "EXECUTING")
    good = bearer(token(evd, job_id_of(url)))
    for phase in ("EXECUTING", "COMPLETED", "ERROR"):
        assert post_event(c, good, job_id=job_id_of(url), phase=phase).status_code == 204
    assert c.phase(url) == "EXECUTING"
    c.set_phase(url, "ABORT")
    assert c.wait_for_phase(url, ("ABORTED",)) == "ABORTED"


@pytest.mark.parametrize("mode,size,why", [(0o644, 32, "mode 0600"), (0o600, 16, "32 bytes")])
def test_a_bad_key_file_is_refused(daemon_factory, mode, size, why):
    d = daemon_factory(start=False)
    d.data_dir.mkdir(parents=True, exist_ok=True)
    path = d.data_dir / "event.key"
    path.write_bytes(os.urandom(size))
    os.chmod(path, mode)
    with pytest.raises(AssertionError, match="exited with 1 at start"):
        d.start()
    d.proc = None  # it exited: nothing to stop
    assert why in d.log_text()
    assert path.read_bytes() and os.stat(path).st_size == size  # left as it was
