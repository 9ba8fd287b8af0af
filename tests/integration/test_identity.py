"""Identity and ownership: tokens from `opusd user add`, HTTP Basic
name:token, owners see and act on their own jobs only (403 for others' jobs,
absent from their lists), admins see everything, bad credentials get 401 with
WWW-Authenticate, allow_anonymous=false demands credentials, anonymous jobs
have an empty owner.
"""
import pytest

from conftest import assert_plain_error


@pytest.fixture(scope="module")
def daemon(module_factory):
    return module_factory(users=[("alice", False), ("bob", False), ("root", True)])


@pytest.fixture(scope="module")
def alice_job(daemon):
    c = daemon.client(auth=("alice", daemon.tokens["alice"]))
    url = c.create("echo", {"text": "alice's"})
    c.close()
    return url


def as_user(daemon, name):
    return daemon.client(auth=(name, daemon.tokens[name]))


def test_tokens_are_distinct(daemon):
    toks = list(daemon.tokens.values())
    assert len(set(toks)) == len(toks)
    assert all(len(t) >= 16 for t in toks), toks


def test_owner_sees_and_acts_on_own_job(daemon, alice_job):
    alice = as_user(daemon, "alice")
    job = alice.job(alice_job)
    assert job["ownerId"] == "alice"
    assert alice.get(alice_job + "/owner").text == "alice"
    assert alice_job.rsplit("/", 1)[1] in alice.list_ids("echo")
    r = alice.post(alice_job + "/parameters", data={"text": "changed"})
    assert r.status_code == 303, r.text
    url = alice.create("echo", run=True)
    assert alice.wait_for_phase(url, ("COMPLETED", "ERROR")) == "COMPLETED"
    assert alice.get(url + "/results/output").status_code == 200


@pytest.mark.parametrize("method,suffix,data", [
    ("GET", "", None), ("GET", "/phase", None), ("GET", "/parameters", None),
    ("GET", "/parameters/text", None), ("GET", "/results", None), ("GET", "/owner", None),
    ("GET", "/error", None), ("GET", "/quote", None), ("GET", "/destruction", None),
    ("GET", "/executionduration", None),
    ("POST", "/phase", {"PHASE": "ABORT"}), ("POST", "/parameters", {"text": "bob"}),
    ("POST", "/executionduration", {"EXECUTIONDURATION": "1"}),
    ("POST", "/destruction", {"DESTRUCTION": "2001"}),
    ("POST", "", {"ACTION": "DELETE"}), ("DELETE", "", None)])
def test_other_user_gets_403(daemon, alice_job, method, suffix, data):
    bob = as_user(daemon, "bob")
    r = bob.request(method, alice_job + suffix, data=data)
    assert_plain_error(r, 403)
    alice = as_user(daemon, "alice")
    assert alice.phase(alice_job) == "PENDING"


def test_other_user_does_not_list_job(daemon, alice_job):
    bob = as_user(daemon, "bob")
    bobs = bob.create("echo")
    ids = bob.list_ids("echo")
    assert alice_job.rsplit("/", 1)[1] not in ids
    assert bobs.rsplit("/", 1)[1] in ids
    assert bobs.rsplit("/", 1)[1] not in as_user(daemon, "alice").list_ids("echo")


def test_admin_sees_all(daemon, alice_job):
    root = as_user(daemon, "root")
    anon_job = daemon.client().create("echo")
    ids = root.list_ids("echo")
    assert alice_job.rsplit("/", 1)[1] in ids
    assert anon_job.rsplit("/", 1)[1] in ids
    assert root.job(alice_job)["ownerId"] == "alice"


def test_anonymous_job_has_empty_owner_and_is_private_to_anonymous(daemon, alice_job):
    anon = daemon.client()
    url = anon.create("echo")
    assert anon.job(url)["ownerId"] is None
    assert anon.get(url + "/owner").text == ""
    ids = anon.list_ids("echo")
    assert url.rsplit("/", 1)[1] in ids
    assert alice_job.rsplit("/", 1)[1] not in ids
    r = anon.get(alice_job)
    assert r.status_code in (401, 403), f"anonymous read of alice's job: {r.status_code}"
    assert url.rsplit("/", 1)[1] not in as_user(daemon, "bob").list_ids("echo")


# ("", "") is anonymous now (issue 11 item 4, test_hardening_http.py); a token
# without a name is still refused.
@pytest.mark.parametrize("auth", [("alice", "wrong-token"), ("alice", ""),
                                  ("mallory", "whatever"), ("", "some-token")])
def test_bad_credentials_are_401(daemon, auth):
    c = daemon.client(auth=auth)
    for r in (c.get("/rest/echo"), c.post("/rest/echo", data={"text": "x"})):
        assert_plain_error(r, 401)
        assert r.headers.get("WWW-Authenticate", "").lower().startswith("basic"), r.headers


def test_other_users_token_is_401(daemon):
    c = daemon.client(auth=("alice", daemon.tokens["bob"]))
    assert_plain_error(c.get("/rest/echo"), 401)


def test_garbage_authorization_header_is_401_or_400(daemon):
    c = daemon.client()
    for h in ("Basic !!!notbase64", "Basic ", "Bearer xyz", "Basic " + "A" * 5000):
        r = c.get("/rest/echo", headers={"Authorization": h})
        assert r.status_code in (400, 401), f"Authorization: {h[:30]} -> {r.status_code}"


def test_anonymous_refused_when_disabled(daemon_factory):
    d = daemon_factory({"server": {"allow_anonymous": "false"}}, users=[("alice", False)])
    anon = d.client()
    for r in (anon.get("/rest/echo"), anon.post("/rest/echo", data={"text": "x"})):
        assert_plain_error(r, 401)
        assert "WWW-Authenticate" in r.headers
    alice = d.client(auth=("alice", d.tokens["alice"]))
    url = alice.create("echo")
    assert alice.job(url)["ownerId"] == "alice"
    assert_plain_error(anon.get(url), 401)
    assert alice.list_ids("echo") == [url.rsplit("/", 1)[1]]
