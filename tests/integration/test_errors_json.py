"""Error bodies as JSON: with `Accept: application/json` every 4xx/5xx reply is
{"status", "error", "message", "fields"}, where "fields" holds one
{"name", "reason"} per "NAME: reason" line of the plain-text reason (NAME
without spaces) and "message" the whole text; headers such as Allow and
WWW-Authenticate are unchanged. Without JSON in Accept the body stays
text/plain, word for word what it was.

Daemon config: max_form_body=1024 (for 413); users alice and bob.
"""
import pytest

from conftest import assert_plain_error

FORM_MAX = 1024
JSON = {"Accept": "application/json"}


@pytest.fixture(scope="module")
def daemon(module_factory):
    return module_factory({"server": {"max_form_body": FORM_MAX}},
                          users=[("alice", False), ("bob", False)])


def as_user(daemon, name):
    return daemon.client(auth=(name, daemon.tokens[name]))


def assert_json_error(r, status, error):
    """Checks the shape of a JSON error document; returns it."""
    assert r.status_code == status, \
        f"{r.request.method} {r.url}: got {r.status_code}, want {status}: {r.text[:500]!r}"
    ct = r.headers.get("Content-Type", "")
    assert ct.startswith("application/json"), f"{r.status_code} body has Content-Type {ct!r}"
    d = r.json()
    assert set(d) == {"status", "error", "message", "fields"}, d
    assert d["status"] == status, d
    assert d["error"] == error, d
    assert isinstance(d["message"], str) and d["message"].strip(), d
    assert not d["message"].endswith("\n"), d
    assert isinstance(d["fields"], list), d
    for f in d["fields"]:
        assert set(f) == {"name", "reason"}, f
        assert f["name"] and " " not in f["name"], f
    return d


def test_create_with_two_bad_parameters(client):
    before = client.list_ids("choices")
    r = client.post("/rest/choices", data={"count": "many", "colour": "purple"},
                    headers=JSON)
    d = assert_json_error(r, 400, "Bad Request")
    fields = {f["name"]: f["reason"] for f in d["fields"]}
    assert fields == {"count": "must be an integer",
                      "colour": "must be one of: red, green, blue"}, d
    lines = d["message"].split("\n")
    assert sorted(lines) == ["colour: must be one of: red, green, blue",
                             "count: must be an integer"], d
    assert client.list_ids("choices") == before


def test_same_request_without_json_is_plain_text(client):
    r = client.post("/rest/choices", data={"count": "many", "colour": "purple"})
    assert_plain_error(r, 400)
    lines = sorted(r.text.splitlines())
    assert lines == ["colour: must be one of: red, green, blue",
                     "count: must be an integer"], r.text
    assert r.text.endswith("\n")
    r = client.post("/rest/choices", data={"count": "many"},
                    headers={"Accept": "text/xml, text/plain"})
    assert_plain_error(r, 400)
    assert r.text == "count: must be an integer\n"


def test_control_value_field(client):
    url = client.create("echo")
    r = client.post(url + "/executionduration", data={"EXECUTIONDURATION": "soon"},
                    headers=JSON)
    d = assert_json_error(r, 400, "Bad Request")
    assert [f["name"] for f in d["fields"]] == ["EXECUTIONDURATION"], d
    assert "soon" in d["fields"][0]["reason"], d
    assert d["message"] == "EXECUTIONDURATION: " + d["fields"][0]["reason"], d


def test_bad_bytes_in_a_name_stay_valid_json(client):
    r = client.post("/rest/choices", data=b"c%FFunt=3&colour=red", headers={
        "Accept": "application/json",
        "Content-Type": "application/x-www-form-urlencoded"})
    # refused before the parameters are read: names and values are UTF-8 text
    d = assert_json_error(r, 400, "Bad Request")
    assert "not UTF-8" in d["message"], d


def test_unknown_job_is_404_json(client):
    r = client.get("/rest/echo/" + "0" * 32, headers=JSON)
    d = assert_json_error(r, 404, "Not Found")
    assert d["fields"] == [], d
    assert d["message"] == "no such job", d
    d = assert_json_error(client.get("/rest/nosuchdef", headers=JSON), 404, "Not Found")
    assert d["fields"] == [] and "nosuchdef" in d["message"], d
    assert_plain_error(client.get("/rest/echo/" + "0" * 32), 404)


def test_other_users_job_is_403_json(daemon):
    alice, bob = as_user(daemon, "alice"), as_user(daemon, "bob")
    url = alice.create("echo")
    for r in (bob.get(url, headers=JSON),
              bob.post(url + "/phase", data={"PHASE": "RUN"}, headers=JSON)):
        d = assert_json_error(r, 403, "Forbidden")
        assert d["fields"] == [], d
        assert "another user" in d["message"], d
    assert alice.phase(url) == "PENDING"


def test_phase_forbidden_action_is_403_json(client):
    url = client.create("echo")
    client.set_phase(url, "ABORT")
    r = client.post(url + "/phase", data={"PHASE": "RUN"}, headers=JSON)
    d = assert_json_error(r, 403, "Forbidden")
    assert d["fields"] == [], d
    assert_plain_error(client.post(url + "/phase", data={"PHASE": "RUN"}), 403)


def test_anonymous_refused_is_401_json(daemon_factory):
    d = daemon_factory({"server": {"allow_anonymous": "false"}})
    anon = d.client()
    for r in (anon.get("/rest/echo", headers=JSON),
              anon.post("/rest/echo", data={"text": "x"}, headers=JSON)):
        doc = assert_json_error(r, 401, "Unauthorized")
        assert doc["fields"] == [], doc
        assert doc["message"] == "credentials required", doc
        assert r.headers.get("WWW-Authenticate", "").lower().startswith("basic"), r.headers
    r = anon.get("/rest/echo")
    assert_plain_error(r, 401)
    assert "WWW-Authenticate" in r.headers


def test_wrong_credentials_are_401_json(daemon):
    c = daemon.client(auth=("alice", "wrong-token"))
    r = c.get("/rest/echo", headers=JSON)
    d = assert_json_error(r, 401, "Unauthorized")
    assert d["message"] == "wrong credentials", d
    assert "WWW-Authenticate" in r.headers


def test_wrong_method_is_405_json(client):
    url = client.create("echo")
    for r in (client.put("/rest/echo", data={"text": "a"}, headers=JSON),
              client.delete(url + "/phase", headers=JSON)):
        d = assert_json_error(r, 405, "Method Not Allowed")
        assert d["fields"] == [], d  # "... (allowed: GET, POST)" is not NAME: reason
        assert "Allow" in r.headers, "405 without an Allow header"
        assert r.headers["Allow"] in d["message"], (r.headers["Allow"], d)
    r = client.put("/rest/echo", data={"text": "a"})
    assert_plain_error(r, 405)
    assert "Allow" in r.headers


def test_body_over_limit_is_413_json(client):
    before = client.list_ids("echo")
    r = client.post("/rest/echo", data={"text": "y" * (FORM_MAX * 2)}, headers=JSON)
    d = assert_json_error(r, 413, "Content Too Large")
    assert d["fields"] == [], d
    assert client.list_ids("echo") == before


def test_success_and_redirect_unchanged(client):
    r = client.post("/rest/echo", data={"text": "ok"}, headers=JSON)
    assert r.status_code == 303, r.text
    assert r.headers["Location"].startswith(client.base + "/rest/echo/")
    assert not r.headers.get("Content-Type", "").startswith("application/json"), r.headers
    url = r.headers["Location"]
    r = client.get(url + "/phase", headers=JSON)
    assert r.status_code == 200 and r.json() == {"phase": "PENDING"}
