"""Changes to a job (a POST to it or to its children) are checked whole against
the job's own description version and applied in one commit, or not at all;
the control words RUNID, EXECUTIONDURATION and DESTRUCTION act where UWS allows
them (PENDING) and are refused otherwise; a form with thousands of input
fields costs linear time and is refused at the first field past the limit.
"""
import signal

import pytest

from conftest import wait_until


def bounded_jobdef(max_i):
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<VOTABLE xmlns="http://www.ivoa.net/xml/VOTable/v1.3" version="1.3">
  <RESOURCE ID="bounded" name="bounded" type="meta" utype="voprov:ActivityDescription">
    <DESCRIPTION>max {max_i}</DESCRIPTION>
    <PARAM name="executionDuration" value="20" datatype="int" utype="uws:Job.executionDuration"/>
    <PARAM name="script" value="echo &quot;$i&quot; &gt; out.txt" arraysize="*" datatype="char"/>
    <GROUP name="InputParams">
      <PARAM name="i" datatype="int" value="1">
        <VALUES><MIN value="0"/><MAX value="{max_i}"/></VALUES>
      </PARAM>
    </GROUP>
    <GROUP name="Used">
      <GROUP name="parts" utype="voprov:UsedDescription">
        <PARAM name="multiplicity" value="*" arraysize="*" datatype="char"/>
        <PARAM name="url" value="http://data.example.org/$ID" arraysize="*" datatype="char"/>
      </GROUP>
      <GROUP name="one" utype="voprov:UsedDescription">
        <PARAM name="multiplicity" value="*" arraysize="*" datatype="char"/>
        <PARAM name="url" value="http://data.example.org/$ID" arraysize="*" datatype="char"/>
      </GROUP>
      <GROUP name="single" utype="voprov:UsedDescription">
        <PARAM name="multiplicity" value="1" arraysize="*" datatype="char"/>
        <PARAM name="url" value="http://data.example.org/$ID" arraysize="*" datatype="char"/>
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


@pytest.fixture(scope="module")
def daemon(module_factory):
    d = module_factory(start=False)
    (d.jdl_dir / "bounded.xml").write_text(bounded_jobdef(10))
    d.start()
    return d


def params_of(client, url):
    return client.job(url)["parameters"]


# ------------------------------------------------------------ control words

def test_runid_on_the_job_is_applied_while_pending(client):
    url = client.create("echo", {"text": "a"})
    r = client.post(url, data={"RUNID": "r2"})
    assert r.status_code == 303, r.text
    assert client.job(url)["runId"] == "r2"


def test_control_words_posted_to_parameters_are_applied(client):
    url = client.create("echo", {"text": "a"})
    r = client.post(url + "/parameters", data={"runId": "x"})  # what taplint sends
    assert r.status_code == 303, r.text
    assert client.job(url)["runId"] == "x"
    r = client.post(url + "/parameters", data={"EXECUTIONDURATION": "99"})
    assert r.status_code == 303, r.text
    assert client.job(url)["executionDuration"] == "99"


def test_runid_and_duration_refused_past_pending(client):
    url = client.create("echo", {"text": "a", "RUNID": "r1"}, run=True)
    assert client.wait_for_phase(url, ("COMPLETED", "ERROR")) == "COMPLETED"
    before = client.job(url)
    for data in ({"RUNID": "r2"}, {"EXECUTIONDURATION": "99"}, {"runId": "x"}):
        for target in (url, url + "/parameters"):
            r = client.post(target, data=data)
            assert r.status_code == 403, (target, data, r.status_code, r.text)
            assert "PENDING" in r.text
    after = client.job(url)
    assert after["runId"] == "r1"
    assert after["executionDuration"] == before["executionDuration"]


def test_action_on_a_child_is_refused(client):
    url = client.create("echo", {"text": "a"})
    r = client.post(url + "/parameters", data={"ACTION": "DELETE"})
    assert r.status_code == 400, r.text
    assert client.get(url).status_code == 200


# ------------------------------------------------------------ all or nothing

def test_bad_destruction_changes_nothing(client):
    url = client.create("echo", {"text": "a"})
    before = client.job(url)
    r = client.post(url, data={"text": "b", "EXECUTIONDURATION": "7",
                               "DESTRUCTION": "garbage"})
    assert r.status_code == 400, r.text
    after = client.job(url)
    assert after["parameters"]["text"]["value"] == "a"
    assert after["executionDuration"] == before["executionDuration"]
    assert after["destruction"] == before["destruction"]


def test_bad_parameter_changes_no_control_word(client):
    url = client.create("bounded", {"i": "2"})
    before = client.job(url)
    r = client.post(url, data={"i": "11", "RUNID": "r9", "EXECUTIONDURATION": "7"})
    assert r.status_code == 400, r.text
    after = client.job(url)
    assert after["parameters"]["i"]["value"] == "2"
    assert after["runId"] == before["runId"]
    assert after["executionDuration"] == before["executionDuration"]


def test_required_is_checked_after_the_change(client):
    # rules: `req` is required. Given with PHASE=RUN, the job runs with it.
    url = client.create("rules")
    r = client.post(url, data={"req": "x", "PHASE": "RUN"})
    assert r.status_code == 303, r.text
    assert client.wait_for_phase(url, ("COMPLETED", "ERROR")) == "COMPLETED"
    assert "req=x" in client.get(url + "/results/out").text


def test_run_refused_for_a_missing_required_changes_nothing(client):
    url = client.create("rules")
    r = client.post(url, data={"i": "7", "PHASE": "RUN"})
    assert r.status_code == 400, r.text
    assert "req: required parameter missing" in r.text
    job = client.job(url)
    assert job["phase"] == "PENDING"
    assert job["parameters"]["i"]["value"] == "5"  # the default, not the 7 of the refused POST


def test_values_checked_against_the_jobs_own_version(daemon_factory):
    d = daemon_factory(start=False)
    (d.jdl_dir / "bounded.xml").write_text(bounded_jobdef(10))
    d.start()
    c = d.client()
    old = c.create("bounded", {"i": "1"})
    (d.jdl_dir / "bounded.xml").write_text(bounded_jobdef(5))
    d.signal(signal.SIGHUP)
    wait_until(lambda: "max 5" in c.get("/jdl/bounded").text, 5, what="reload")
    # the old job keeps the bounds it was created with; a new job gets the new ones
    r = c.post(old, data={"i": "8"})
    assert r.status_code == 303, r.text
    assert c.job(old)["parameters"]["i"]["value"] == "8"
    new = c.create("bounded", {"i": "1"})
    r = c.post(new, data={"i": "8"})
    assert r.status_code == 400, r.text
    assert c.job(new)["parameters"]["i"]["value"] == "1"
    c.close()


# ------------------------------------------------------------ many fields

def test_many_input_fields_stop_at_the_first_past_the_limit(client):
    body = "&".join(["single=x"] * 16000)
    r = client.post("/rest/bounded", data=body,
                    headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 400, r.text
    lines = [ln for ln in r.text.splitlines() if ln.startswith("single:")]
    assert lines == ["single: takes at most 1 input (multiplicity 1)"], lines[:5]


def test_many_input_fields_take_linear_time(client):
    # 16,000 references in 128 KB: quadratic handling took ~15 s of CPU here.
    n = 16000
    body = "&".join([f"parts=p{k}" for k in range(n)])
    r = client.post("/rest/bounded", data=body, timeout=20,
                    headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 303, r.text
    r = client.get(r.headers["Location"] + "/parameters/parts")
    assert r.status_code == 200
    refs = r.text.split("\n")
    assert len(refs) == n and refs[0] == "p0" and refs[-1] == f"p{n - 1}"


def test_inputs_keep_their_order_and_multiplicity_across_fields(client):
    r = client.post("/rest/bounded", data=[("one", "a\nb"), ("one", " c "), ("i", "3")])
    assert r.status_code == 303, r.text
    assert client.get(r.headers["Location"] + "/parameters/one").text == "a\nb\nc"


# ------------------------------------------------------------ destruction

def test_destruction_at_the_epoch_is_not_unset(client):
    url = client.create("echo", {"text": "a", "DESTRUCTION": "1970-01-01T00:00:00Z"})
    # clamped to now: the daemon destroys the job (before: the default, a week
    # on); destruction archives it (files gone, record and provenance kept)
    wait_until(lambda: client.phase(url) == "ARCHIVED", 10, what="job archived")
