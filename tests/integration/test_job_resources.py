"""The children of a job: phase, executionduration, destruction, quote, owner,
error, parameters, parameters/{name}, results, results/{rid}, and deletion
(DELETE and POST ACTION=DELETE), with the status codes the phases impose
(303 on success, 400 bad value, 403 forbidden by the phase, 404 unknown).

Daemon config: max_execution_duration=3600 (to check clamping).
"""
import time

import pytest

from conftest import NS, assert_plain_error, parse_time, validate_uws, wait_until


@pytest.fixture(scope="module")
def daemon(module_factory):
    return module_factory({"jobs": {"max_execution_duration": 3600}})


def completed_job(client, text="hello"):
    url = client.create("echo", {"text": text}, run=True)
    assert client.wait_for_phase(url, ("COMPLETED", "ERROR")) == "COMPLETED"
    return url


def plain(r):
    assert r.status_code == 200, f"{r.url}: {r.status_code} {r.text[:300]!r}"
    assert r.headers.get("Content-Type", "").startswith("text/plain"), r.headers
    return r.text


# ---------------------------------------------------------------- phase

def test_phase_get_is_plain_text(client):
    url = client.create("echo")
    assert plain(client.get(url + "/phase")).strip() == "PENDING"


def test_phase_run_redirects_to_job_and_completes(client):
    url = client.create("echo")
    r = client.set_phase(url, "RUN")
    assert r.headers["Location"] == url
    assert client.wait_for_phase(url, ("COMPLETED", "ERROR")) == "COMPLETED"


@pytest.mark.parametrize("bad", ["FOO", "", "RUNNING", "COMPLETED", "run;rm", "PENDING"])
def test_phase_bad_value_is_400(client, bad):
    url = client.create("echo")
    assert_plain_error(client.post(url + "/phase", data={"PHASE": bad}), 400)
    assert client.phase(url) == "PENDING"


def test_phase_missing_is_400(client):
    url = client.create("echo")
    assert_plain_error(client.post(url + "/phase", data={}), 400)


def test_abort_pending(client):
    url = client.create("echo")
    r = client.set_phase(url, "ABORT")
    assert r.headers["Location"] == url
    assert client.phase(url) == "ABORTED"


@pytest.mark.parametrize("action", ["RUN", "ABORT"])
def test_run_or_abort_finished_job_is_403(client, action):
    url = completed_job(client)
    assert_plain_error(client.post(url + "/phase", data={"PHASE": action}), 403)
    assert client.phase(url) == "COMPLETED"


def test_run_aborted_job_is_403(client):
    url = client.create("echo")
    client.set_phase(url, "ABORT")
    assert_plain_error(client.post(url + "/phase", data={"PHASE": "RUN"}), 403)


# ---------------------------------------------------------------- executionduration

def test_executionduration_get_and_set(client):
    url = client.create("echo")
    assert plain(client.get(url + "/executionduration")).strip() == "10"
    r = client.post(url + "/executionduration", data={"EXECUTIONDURATION": "30"})
    assert r.status_code == 303, r.text
    assert r.headers["Location"] == url
    assert plain(client.get(url + "/executionduration")).strip() == "30"
    assert client.job(url)["executionDuration"] == "30"


def test_executionduration_clamped_to_max(client):
    url = client.create("echo")
    r = client.post(url + "/executionduration", data={"EXECUTIONDURATION": "100000"})
    assert r.status_code == 303, r.text
    assert int(plain(client.get(url + "/executionduration"))) == 3600


@pytest.mark.parametrize("bad", ["-1", "abc", "1.5", "", "10s", "99999999999999999999999"])
def test_executionduration_bad_value_is_400(client, bad):
    url = client.create("echo")
    assert_plain_error(client.post(url + "/executionduration",
                                   data={"EXECUTIONDURATION": bad}), 400)
    assert plain(client.get(url + "/executionduration")).strip() == "10"


def test_executionduration_after_start_is_403(client):
    url = completed_job(client)
    assert_plain_error(client.post(url + "/executionduration",
                                   data={"EXECUTIONDURATION": "5"}), 403)


def test_executionduration_bad_at_create_is_400(client):
    before = client.list_ids("echo")
    assert_plain_error(client.post("/rest/echo", data={"EXECUTIONDURATION": "-3"}), 400)
    assert client.list_ids("echo") == before


# ---------------------------------------------------------------- destruction

def test_destruction_get_and_set(client):
    url = client.create("echo")
    t = parse_time(plain(client.get(url + "/destruction")))
    assert t.timestamp() > time.time()
    r = client.post(url + "/destruction", data={"DESTRUCTION": "2031-05-06T07:08:09Z"})
    assert r.status_code == 303, r.text
    assert r.headers["Location"] == url
    got = plain(client.get(url + "/destruction")).strip()
    assert got.startswith("2031-05-06T07:08:09") and got.endswith("Z"), got
    assert client.job(url)["destruction"] == got


@pytest.mark.parametrize("value,prefix", [("2032", "2032-01-01T00:00:00"),
                                          ("2032-11-22T10:00Z", "2032-11-22T10:00:00"),
                                          ("2032-11-22T10:00:00+02:00", "2032-11-22T08:00:00")])
def test_destruction_reduced_precision(client, value, prefix):
    url = client.create("echo")
    r = client.post(url + "/destruction", data={"DESTRUCTION": value})
    assert r.status_code == 303, r.text
    got = plain(client.get(url + "/destruction")).strip()
    assert got.startswith(prefix), f"DESTRUCTION={value} -> {got}"


def test_destruction_clamped_to_max(daemon_factory):
    d = daemon_factory({"jobs": {"max_destruction": "3600"}})
    c = d.client()
    url = c.create("echo", {"DESTRUCTION": "2099"})
    job = c.job(url)
    created = parse_time(job["creationTime"]).timestamp()
    dest = parse_time(job["destruction"]).timestamp()
    assert dest <= created + 3600 + 1, f"destruction {job['destruction']} beyond the cap"
    r = c.post(url + "/destruction", data={"DESTRUCTION": "2099-01-01T00:00Z"})
    assert r.status_code == 303, r.text
    dest = parse_time(plain(c.get(url + "/destruction"))).timestamp()
    assert dest <= created + 3600 + 1
    c.close()


@pytest.mark.parametrize("bad", ["tomorrow", "", "2026-13-01", "2026-11-22T25:00Z",
                                 "2026-11-22 garbage"])
def test_destruction_bad_value_is_400(client, bad):
    url = client.create("echo")
    before = plain(client.get(url + "/destruction"))
    assert_plain_error(client.post(url + "/destruction", data={"DESTRUCTION": bad}), 400)
    assert plain(client.get(url + "/destruction")) == before


def test_destruction_in_past_archives_job_and_removes_directory(client, daemon):
    url = completed_job(client)
    jid = url.rsplit("/", 1)[1]
    jdir = daemon.job_dir(jid)
    assert jdir.is_dir(), f"{jdir} missing for a completed job"
    r = client.post(url + "/destruction", data={"DESTRUCTION": "2001-01-01T00:00:00Z"})
    assert r.status_code == 303, r.text
    # destruction archives: the record stays (ARCHIVED), the files go
    wait_until(lambda: client.phase(url) == "ARCHIVED", 3.5, what="job archived")
    wait_until(lambda: not jdir.exists(), 2, what=f"{jdir} removed")
    assert jid not in client.list_ids("echo")
    assert jid in client.list_ids("echo", {"PHASE": "ARCHIVED"})


# ---------------------------------------------------------------- quote, owner, error

def test_quote_owner_error_plain_text(client):
    url = client.create("echo")
    q = plain(client.get(url + "/quote")).strip()
    if q:
        parse_time(q)
    assert plain(client.get(url + "/owner")) == "", "anonymous job must have an empty owner"
    assert plain(client.get(url + "/error")) == ""


def test_error_of_completed_job_is_empty(client):
    url = completed_job(client)
    assert plain(client.get(url + "/error")) == ""


# ---------------------------------------------------------------- parameters

def test_parameters_document(client):
    url = client.create("echo", {"text": "a <b> & 'c'", "n": "4"})
    r = client.get(url + "/parameters")
    assert r.status_code == 200
    root = validate_uws(r.content)
    params = {p.get("id"): p.text or "" for p in root.iterfind("uws:parameter", NS)}
    assert params == {"text": "a <b> & 'c'", "n": "4"}


def test_parameter_single_value(client):
    url = client.create("echo", {"text": "single"})
    assert plain(client.get(url + "/parameters/text")) == "single"
    assert plain(client.get(url + "/parameters/n")) == "1"
    assert_plain_error(client.get(url + "/parameters/nope"), 404)


def test_parameters_post_updates(client):
    url = client.create("echo", {"text": "old"})
    r = client.post(url + "/parameters", data={"TEXT": "new", "n": "9"})
    assert r.status_code == 303, r.text
    assert r.headers["Location"] == url
    assert plain(client.get(url + "/parameters/text")) == "new"
    assert plain(client.get(url + "/parameters/n")) == "9"


def test_parameters_post_unknown_or_bad_is_400(client):
    url = client.create("echo", {"text": "keep"})
    assert_plain_error(client.post(url + "/parameters", data={"bogus": "1"}), 400)
    assert_plain_error(client.post(url + "/parameters", data={"n": "x"}), 400)
    assert plain(client.get(url + "/parameters/text")) == "keep"
    assert plain(client.get(url + "/parameters/n")) == "1"


def test_parameters_post_after_start_is_403(client):
    url = completed_job(client, "fixed")
    assert_plain_error(client.post(url + "/parameters", data={"text": "changed"}), 403)
    assert plain(client.get(url + "/parameters/text")) == "fixed"


# ---------------------------------------------------------------- results

def test_results_of_completed_job(client):
    url = completed_job(client, "result text")
    r = client.get(url + "/results")
    assert r.status_code == 200
    root = validate_uws(r.content)
    results = {e.get("id"): e for e in root.iterfind("uws:result", NS)}
    assert {"output", "stdout", "stderr"} <= set(results), list(results)
    out = client.get(url + "/results/output")
    assert out.status_code == 200
    assert out.content == b"result text"
    assert out.headers["Content-Type"].startswith("text/plain")
    assert client.get(url + "/results/stdout").content == b"n=1\n"
    assert client.get(url + "/results/stderr").content == b""
    # the hrefs are absolute and serve the same bytes
    href = results["output"].get("{http://www.w3.org/1999/xlink}href")
    assert href.startswith(client.base + "/"), href
    assert client.get(href).content == b"result text"
    # job document lists the same results
    assert {x["id"] for x in client.job(url)["results"]} == set(results)


def test_results_of_pending_job_empty(client):
    url = client.create("echo")
    root = validate_uws(client.get(url + "/results").content)
    assert root.findall("uws:result", NS) == []


def test_unknown_result_is_404(client):
    url = completed_job(client)
    assert_plain_error(client.get(url + "/results/nope"), 404)
    assert_plain_error(client.get(url + "/results/..%2F..%2Fetc%2Fpasswd"), 404)


# ---------------------------------------------------------------- delete

def test_delete(client, daemon):
    url = completed_job(client)
    jid = url.rsplit("/", 1)[1]
    r = client.delete(url)
    assert r.status_code == 303, r.text
    assert r.headers["Location"] == client.base + "/rest/echo"
    assert_plain_error(client.get(url), 404)
    assert jid not in client.list_ids("echo")
    wait_until(lambda: not daemon.job_dir(jid).exists(), 2, what="job dir removed")
    assert_plain_error(client.delete(url), 404)


def test_post_action_delete(client):
    url = client.create("echo")
    r = client.post(url, data={"ACTION": "DELETE"})
    assert r.status_code == 303, r.text
    assert r.headers["Location"] == client.base + "/rest/echo"
    assert_plain_error(client.get(url), 404)


def test_post_bad_action_is_400(client):
    url = client.create("echo")
    assert_plain_error(client.post(url, data={"ACTION": "EXPLODE"}), 400)
    assert client.get(url).status_code == 200


# ---------------------------------------------------------------- text XML cannot hold

@pytest.mark.parametrize("value", [b"a\x01b\x7fc", b"tab\tand\x1bescape"])
def test_value_xml_cannot_hold_is_by_reference(client, value):
    # the conftest client validates the job document: it must stay valid XML
    r = client.post("/rest/echo", files={"text": (None, value)})
    assert r.status_code == 303, r.text
    url = r.headers["Location"]
    assert client.get(url + "/parameters/text").content == value
    p = client.job(url)["parameters"]["text"]
    assert p["byReference"]
    assert p["value"] == url + "/parameters/text"
    client.get(url + "/parameters")
    d = client.get(url, headers={"Accept": "application/json"}).json()
    assert d["parameters"]["text"] == {"byReference": True, "href": url + "/parameters/text"}


@pytest.mark.parametrize("field", ["text", "RUNID", "r\xe9"])
@pytest.mark.parametrize("value", [b"\xff\xfeok", b"caf\xe9", b"\xc0\x80", b"\xed\xa0\x80"])
def test_text_that_is_not_utf8_is_400_and_changes_nothing(client, field, value):
    """Either store: text is UTF-8 (a PostgreSQL text column refuses other
    bytes); bytes go as a file upload."""
    before = client.list_ids("echo")
    sent = [client.post("/rest/echo", data=field.encode("latin-1") + b"=" + value,
                        headers={"Content-Type": "application/x-www-form-urlencoded"})]
    if field.isascii():  # requests sends multipart names as text
        sent.append(client.post("/rest/echo", files={field: (None, value)}))
    for r in sent:
        assert_plain_error(r, 400)
        assert "UTF-8" in r.text or "NUL" in r.text, r.text
    job = client.create("echo", {"text": "kept"})
    r = client.post(job + "/parameters", files={"text": (None, value)})
    assert_plain_error(r, 400)
    assert client.job(job)["parameters"]["text"]["value"] == "kept"
    assert set(client.list_ids("echo")) == set(before) | {job.rsplit("/", 1)[1]}


def test_runid_with_control_characters_keeps_xml_valid(client):
    r = client.post("/rest/echo", files={"RUNID": (None, b"r\x01x")})
    assert r.status_code == 303, r.text
    client.job(r.headers["Location"])  # validated by the client
    r = client.post("/rest/echo", files={"RUNID": (None, b"r\x01\xffx")})
    assert_plain_error(r, 400)


def test_head_has_no_body(client):
    url = client.create("echo")
    for path in ("/rest/echo", url, url + "/phase"):
        r = client.head(path)
        assert r.status_code == 200
        assert r.content == b""
