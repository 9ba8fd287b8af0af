"""A job runs the version of its job description it was created with (issue
3 item 4): the daemon keeps every version it loads in
data_dir/jdl-versions/{name}/{sha256}.xml, so a PENDING job created before a
change (SIGHUP reload or a restart) still runs the old script, while new jobs
run the new one. When that version is gone, the job ends in ERROR with a
reason instead of running a script it was not created with.
"""
import hashlib
import signal

from conftest import wait_until

TEMPLATE = """<VOTABLE xmlns="http://www.ivoa.net/xml/VOTable/v1.3" version="1.3">
  <RESOURCE ID="ver" name="ver" type="meta" utype="voprov:ActivityDescription">
    <DESCRIPTION>Says which version of its description ran</DESCRIPTION>
    <PARAM name="executionDuration" value="10" datatype="int" utype="uws:Job.executionDuration"/>
    <PARAM name="script" value="echo {v}&#10;" arraysize="*" datatype="char"/>
    <GROUP name="InputParams"/>
  </RESOURCE>
</VOTABLE>
"""


def publish(d, v):
    """Writes version v of "ver" into the daemon's jdl dir; returns its hash."""
    src = TEMPLATE.replace("{v}", v).encode()
    (d.jdl_dir / "ver.xml").write_bytes(src)
    return hashlib.sha256(src).hexdigest()


def reload(d, c, v):
    d.signal(signal.SIGHUP)
    wait_until(lambda: f"echo {v}" in c.get("/jdl/ver/script").text, 5,
               what=f"version {v} served")


def run_output(c, url):
    c.set_phase(url, "RUN")
    assert c.wait_for_phase(url, ("COMPLETED", "ERROR")) == "COMPLETED", c.job(url)
    return c.get(url + "/results/stdout").content


def test_pending_job_runs_its_version_after_reload(daemon_factory):
    d = daemon_factory(start=False)
    h1 = publish(d, "v1")
    d.start()
    c = d.client()
    old = c.create("ver")
    h2 = publish(d, "v2")
    reload(d, c, "v2")
    new = c.create("ver")
    assert run_output(c, old) == b"v1\n"
    assert run_output(c, new) == b"v2\n"
    versions = d.data_dir / "jdl-versions" / "ver"
    assert sorted(p.name for p in versions.iterdir()) == sorted([f"{h1}.xml", f"{h2}.xml"])
    assert (versions / f"{h1}.xml").read_bytes() == TEMPLATE.replace("{v}", "v1").encode()
    c.close()


def test_pending_jobs_run_their_version_after_restart(daemon_factory):
    d = daemon_factory(start=False)
    publish(d, "v1")
    d.start()
    c = d.client()
    job1 = c.create("ver")
    publish(d, "v2")
    reload(d, c, "v2")
    job2 = c.create("ver")
    d.stop()
    publish(d, "v3")  # changed while the daemon was down
    d.start()
    assert "echo v3" in c.get("/jdl/ver/script").text
    job3 = c.create("ver")
    assert run_output(c, job2) == b"v2\n"
    assert run_output(c, job1) == b"v1\n"
    assert run_output(c, job3) == b"v3\n"
    c.close()


def test_lost_version_is_an_error(daemon_factory):
    d = daemon_factory(start=False)
    h1 = publish(d, "v1")
    d.start()
    c = d.client()
    old = c.create("ver")
    d.stop()
    publish(d, "v2")
    (d.data_dir / "jdl-versions" / "ver" / f"{h1}.xml").unlink()
    d.start()
    c.set_phase(old, "RUN")
    assert c.wait_for_phase(old, ("COMPLETED", "ERROR")) == "ERROR"
    msg = c.job(old)["errorSummary"]["message"]
    assert "job description version no longer available" in msg, msg
    assert c.get(old + "/results/stdout").status_code == 404  # the v2 script never ran
    c.close()


def test_removed_description_runs_no_more_jobs(daemon_factory):
    d = daemon_factory(start=False)
    publish(d, "v1")
    d.start()
    c = d.client()
    old = c.create("ver")
    (d.jdl_dir / "ver.xml").unlink()
    d.signal(signal.SIGHUP)
    # the index comes from the loaded set (GET /jdl/ver reads the file, gone at once)
    wait_until(lambda: "ver" not in c.get("/jdl").json(), 5, what="ver removed")
    c.set_phase(old, "RUN")
    assert c.wait_for_phase(old, ("COMPLETED", "ERROR")) == "ERROR"
    msg = c.job(old)["errorSummary"]["message"]
    assert "job description removed" in msg, msg
    c.close()


def test_served_description_is_the_loaded_one(daemon_factory):
    d = daemon_factory(start=False)
    publish(d, "v1")
    d.start()
    c = d.client()
    v1 = c.get("/jdl/ver")
    assert v1.status_code == 200 and b"echo v1" in v1.content
    assert v1.headers["Content-Type"].startswith("text/xml")
    publish(d, "v2")  # on disk, not loaded yet: jobs still run v1, so GET shows v1
    assert c.get("/jdl/ver").content == v1.content
    reload(d, c, "v2")
    assert b"echo v2" in c.get("/jdl/ver").content
    c.close()
