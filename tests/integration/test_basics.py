"""Basics: VOSI endpoints, job creation, the job document (XML and JSON), ids,
and the error statuses of the URL space (404 unknown, 405 wrong method, plain-text
reasons).

Every XML document is validated against UWS-1.1.xsd by the conftest Client.
"""
import re
import time

from conftest import (JOB_ID_RE, NS, assert_plain_error, parse_time, parse_xml,
                      validate_uws)


# ---------------------------------------------------------------- VOSI

def test_availability(client):
    r = client.get("/availability")
    assert r.status_code == 200
    root = parse_xml(r.content)
    avail = [el.text.strip() for el in root.iter() if
             isinstance(el.tag, str) and el.tag.endswith("available")]
    assert avail == ["true"], f"availability document: {r.text!r}"


def test_one_log_line_per_request(daemon, client):
    """At info level every request leaves one line: method, path, status, time, user."""
    marker = "/rest/echo/" + "0" * 32
    assert client.get(marker).status_code == 404
    deadline = time.monotonic() + 3  # the line is written when the reply is sent
    while marker not in daemon.log_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    lines = [l for l in daemon.log_text().splitlines() if marker in l]
    assert len(lines) == 1, lines
    assert " info " in lines[0] and f"GET {marker} 404 " in lines[0] and lines[0].endswith(" -"), lines


def test_capabilities(client):
    r = client.get("/capabilities")
    assert r.status_code == 200
    assert "xml" in r.headers.get("Content-Type", "")
    parse_xml(r.content)


# ---------------------------------------------------------------- create

def test_create_gives_303_absolute_location_and_pending_job(client, daemon):
    url = client.create("echo")
    assert url.startswith(f"http://127.0.0.1:{daemon.port}/rest/echo/")
    job = client.job(url)
    assert job["jobId"] == url.rsplit("/", 1)[1]
    assert job["phase"] == "PENDING"
    assert job["ownerId"] is None, "anonymous job must have a nil ownerId"
    assert job["startTime"] is None and job["endTime"] is None
    parse_time(job["creationTime"])
    parse_time(job["destruction"])
    assert job["executionDuration"] == "10"
    # defaults of the description are included
    assert job["parameters"]["text"]["value"] == "Hello World"
    assert job["parameters"]["n"]["value"] == "1"


def test_create_with_runid_duration_destruction(client):
    url = client.create("echo", {"RUNID": "my-run-42", "EXECUTIONDURATION": "7",
                                 "DESTRUCTION": "2099-01-02T03:04:05Z", "text": "x"})
    job = client.job(url)
    assert job["runId"] == "my-run-42"
    assert job["executionDuration"] == "7"
    assert job["destruction"].startswith("2099-01-02T03:04:05")
    assert job["parameters"]["text"]["value"] == "x"


def test_parameter_names_case_insensitive(client):
    url = client.create("echo", {"TEXT": "upper", "N": "5"})
    job = client.job(url)
    assert job["parameters"]["text"]["value"] == "upper"
    assert job["parameters"]["n"]["value"] == "5"


def test_create_multipart_form(client):
    r = client.post("/rest/echo", files={"text": (None, "from multipart"), "n": (None, "3")})
    assert r.status_code == 303, r.text
    job = client.job(r.headers["Location"])
    assert job["parameters"]["text"]["value"] == "from multipart"
    assert job["parameters"]["n"]["value"] == "3"


def test_create_with_phase_run_starts_job(client):
    url = client.create("echo", {"text": "go"}, run=True)
    assert client.phase(url) in ("QUEUED", "EXECUTING", "COMPLETED")
    assert client.wait_for_phase(url, ("COMPLETED", "ERROR")) == "COMPLETED"


def test_unknown_parameter_is_400_and_nothing_created(client):
    before = client.list_ids("echo")
    r = client.post("/rest/echo", data={"text": "a", "bogus": "1"})
    assert_plain_error(r, 400)
    assert client.list_ids("echo") == before


def test_wrong_type_is_400_and_nothing_created(client):
    before = client.list_ids("echo")
    r = client.post("/rest/echo", data={"n": "not-a-number"})
    assert_plain_error(r, 400)
    assert client.list_ids("echo") == before


def test_unknown_jobdef_is_404(client):
    assert_plain_error(client.get("/rest/nosuchdef"), 404)
    assert_plain_error(client.post("/rest/nosuchdef", data={"text": "a"}), 404)


def test_job_ids_are_random_and_unique(client):
    ids = {client.create("echo").rsplit("/", 1)[1] for _ in range(20)}
    assert len(ids) == 20
    assert all(JOB_ID_RE.match(i) for i in ids)
    # 128 random bits: no shared prefix pattern across all ids
    assert len({i[:4] for i in ids}) > 10


# ---------------------------------------------------------------- documents

def test_job_document_json(client):
    url = client.create("echo", {"RUNID": "j1", "text": "json"})
    r = client.get(url, headers={"Accept": "application/json"})
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/json")
    d = r.json()
    for key in ("jobId", "runId", "ownerId", "phase", "quote", "creationTime", "startTime",
                "endTime", "executionDuration", "destruction", "parameters", "results",
                "errorSummary"):
        assert key in d, f"JSON job lacks {key!r}: {d}"
    assert d["jobId"] == url.rsplit("/", 1)[1]
    assert d["runId"] == "j1"
    assert d["ownerId"] is None
    assert d["phase"] == "PENDING"
    assert d["startTime"] is None and d["endTime"] is None
    assert d["creationTime"].endswith("Z")
    assert d["executionDuration"] == 10
    assert d["parameters"]["text"] == "json", d["parameters"]
    assert d["parameters"]["n"] == "1", d["parameters"]
    assert d["results"] == []
    assert d["errorSummary"] is None


def test_job_document_json_completed(client):
    url = client.create("echo", {"text": "done"}, run=True)
    client.wait_for_phase(url, "COMPLETED")
    d = client.get(url, headers={"Accept": "application/json"}).json()
    assert d["phase"] == "COMPLETED"
    assert d["startTime"].endswith("Z") and d["endTime"].endswith("Z")
    ids = {r["id"] for r in d["results"]}
    assert {"output", "stdout", "stderr"} <= ids, d["results"]
    for res in d["results"]:
        assert set(res) == {"id", "href", "mime-type", "size", "entity_id", "sha256"}, res
        assert res["href"] == f"{url}/results/{res['id']}", res
        assert res["size"] is None or isinstance(res["size"], int)
    out = next(res for res in d["results"] if res["id"] == "output")
    assert client.get(out["href"]).content == b"done"


def test_list_json(client):
    url = client.create("echo")
    r = client.get("/rest/echo", headers={"Accept": "application/json"})
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/json")
    jobs = r.json()["jobs"]
    mine = [j for j in jobs if j["jobId"] == url.rsplit("/", 1)[1]]
    assert len(mine) == 1, jobs
    assert mine[0]["href"] == url
    assert mine[0]["phase"] == "PENDING"
    assert mine[0]["ownerId"] is None
    assert mine[0]["creationTime"].endswith("Z")


def test_single_values_json(client):
    url = client.create("echo", {"EXECUTIONDURATION": "12"})
    h = {"Accept": "application/json"}
    assert client.get(url + "/phase", headers=h).json() == {"phase": "PENDING"}
    assert client.get(url + "/executionduration", headers=h).json() == {"executionDuration": 12}
    assert client.get(url + "/owner", headers=h).json() == {"ownerId": None}
    dest = client.get(url + "/destruction", headers=h).json()
    assert list(dest) == ["destruction"] and dest["destruction"].endswith("Z")
    params = client.get(url + "/parameters", headers=h).json()
    assert params == {"parameters": {"text": "Hello World", "n": "1"}}
    assert client.get(url + "/results", headers=h).json() == {"results": []}


def test_job_list_xml(client):
    url = client.create("echo", {"RUNID": "listed"})
    r = client.get("/rest/echo")
    root = validate_uws(r.content)
    refs = {j.get("id"): j for j in root.iterfind("uws:jobref", NS)}
    jid = url.rsplit("/", 1)[1]
    assert jid in refs
    href = refs[jid].get("{http://www.w3.org/1999/xlink}href")
    assert href == url, f"jobref href {href!r}, want {url!r}"
    assert refs[jid].findtext("uws:phase", namespaces=NS) == "PENDING"


# ---------------------------------------------------------------- errors

def test_unknown_job_is_404(client):
    assert_plain_error(client.get("/rest/echo/" + "0" * 32), 404)
    assert_plain_error(client.get("/rest/echo/not-an-id"), 404)
    assert_plain_error(client.get("/rest/echo/" + "0" * 32 + "/phase"), 404)
    assert_plain_error(client.post("/rest/echo/" + "0" * 32 + "/phase",
                                   data={"PHASE": "RUN"}), 404)
    assert_plain_error(client.delete("/rest/echo/" + "0" * 32), 404)


def test_unknown_paths_are_404(client):
    url = client.create("echo")
    for path in ("/nope", "/rest/x/y/z/w", "/rest/echo/" + url.rsplit("/", 1)[1] + "/nope",
                 "/rest/echo/" + url.rsplit("/", 1)[1] + "/results/nope/more"):
        assert_plain_error(client.get(path), 404)


def test_wrong_method_is_405(client):
    url = client.create("echo")
    r = client.put("/rest/echo", data={"text": "a"})
    assert_plain_error(r, 405)
    assert "Allow" in r.headers, "405 without an Allow header"
    assert_plain_error(client.delete(url + "/phase"), 405)


def test_location_uses_absolute_urls_everywhere(client, daemon):
    url = client.create("echo")
    r = client.post(url + "/phase", data={"PHASE": "ABORT"})
    assert r.status_code == 303
    assert r.headers["Location"] == url
    assert re.match(rf"^http://127\.0\.0\.1:{daemon.port}/", r.headers["Location"])
