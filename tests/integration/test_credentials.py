"""Credentials (issue 13 item 4, and application tokens, item 3): HTTP Basic
name:token and `Authorization: Bearer <token>`; an application token acting on
behalf of the user named in X-Opus-On-Behalf-Of (the job is that user's),
refused without the header (401 naming it), with a wrong token (401) and
outside its descriptions (403 naming the description); a deactivated account
(401 "account deactivated", its jobs kept); rotation (the old token refused at
once); back-off after repeated failures (429 with Retry-After and a body
saying when) while the right token still works for its owner from another
address (the client bound to 127.0.0.2).
"""
import base64

import pytest
import requests
from requests.adapters import HTTPAdapter

from conftest import assert_plain_error, wait_until

ON_BEHALF = "X-Opus-On-Behalf-Of"


class SourceAdapter(HTTPAdapter):
    """Connects from a given local address (another loopback address here)."""

    def __init__(self, source, **kw):
        self.source = source
        super().__init__(**kw)

    def init_poolmanager(self, *args, **kw):
        kw["source_address"] = (self.source, 0)
        super().init_poolmanager(*args, **kw)


def client_from(daemon, source, auth=None):
    c = daemon.client(auth=auth)
    c.mount("http://", SourceAdapter(source))
    return c


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def basic(name, token):
    return {"Authorization": "Basic " + base64.b64encode(f"{name}:{token}".encode()).decode()}


def cli(daemon, *args):
    return daemon.run_cli(*args, "--config", str(daemon.config_path), "--data-dir",
                          str(daemon.data_dir))


def cli_token(daemon, *args):
    r = cli(daemon, *args)
    assert r.returncode == 0, f"opusd {' '.join(args)}: {r.returncode} {r.stderr}"
    lines = r.stdout.split()
    assert len(lines) == 1 and len(lines[0]) == 64, r.stdout
    return lines[0]


@pytest.fixture(scope="module")
def daemon(module_factory):
    d = module_factory(users=[("alice", False), ("bob", False), ("root", True)])
    d.tokens["front"] = cli_token(d, "app", "add", "front", "--run", "echo,choices")
    return d


def job_owner(daemon, url):
    root = daemon.client(auth=("root", daemon.tokens["root"]))
    owner = root.job(url)["ownerId"]
    root.close()
    return owner


def test_basic_and_bearer_identify_the_same_user(daemon):
    c = daemon.client()
    for headers in (basic("alice", daemon.tokens["alice"]), bearer(daemon.tokens["alice"])):
        r = c.post("/rest/echo", data={"text": "hi"}, headers=headers)
        assert r.status_code == 303, r.text
        assert job_owner(daemon, r.headers["Location"]) == "alice"
        r = c.get(r.headers["Location"] + "/owner", headers=headers)
        assert r.status_code == 200 and r.text == "alice"
    c.close()


@pytest.mark.parametrize("headers", [
    {"Authorization": "Bearer " + "0" * 64}, {"Authorization": "Bearer not-a-token"},
    {"Authorization": "Bearer "}, {"Authorization": "Negotiate abc"}])
def test_wrong_bearer_is_401(daemon, headers):
    r = daemon.client().get("/rest/echo", headers=headers)
    assert_plain_error(r, 401)
    challenges = r.raw.headers.getlist("WWW-Authenticate")
    assert [c.split()[0] for c in challenges] == ["Basic", "Bearer"], challenges


def test_application_acts_on_behalf_of_a_user(daemon):
    c = daemon.client()
    for headers in (bearer(daemon.tokens["front"]), basic("front", daemon.tokens["front"])):
        r = c.post("/rest/echo", data={"text": "for alice"}, headers={**headers, ON_BEHALF: "alice"})
        assert r.status_code == 303, r.text
        url = r.headers["Location"]
        assert job_owner(daemon, url) == "alice"
        # alice sees it as hers; bob does not
        alice = daemon.client(auth=("alice", daemon.tokens["alice"]))
        assert url.rsplit("/", 1)[1] in alice.list_ids("echo")
        assert_plain_error(daemon.client(auth=("bob", daemon.tokens["bob"])).get(url), 403)
        # the application reads it as alice, not as bob
        assert c.get(url, headers={**headers, ON_BEHALF: "alice"}).status_code == 200
        assert c.get(url, headers={**headers, ON_BEHALF: "bob"}).status_code == 403


def test_application_without_a_user_is_401(daemon):
    r = daemon.client().get("/rest/echo", headers=bearer(daemon.tokens["front"]))
    assert_plain_error(r, 401)
    assert "X-Opus-On-Behalf-Of" in r.text
    r = daemon.client().get("/rest/echo", headers={**bearer(daemon.tokens["front"]),
                                                    ON_BEHALF: "not a name"})
    assert_plain_error(r, 401)


def test_application_never_administers(daemon):
    r = daemon.client(auth=("root", daemon.tokens["root"])).post("/rest/echo", data={"text": "r"})
    url = r.headers["Location"]
    app = {**bearer(daemon.tokens["front"]), ON_BEHALF: "alice"}
    assert daemon.client().get(url, headers=app).status_code == 403
    # acting for root, it still is not an admin: alice's jobs are not its to read
    alices = daemon.client(auth=("alice", daemon.tokens["alice"])).create("echo")
    r = daemon.client().get(alices, headers={**bearer(daemon.tokens["front"]), ON_BEHALF: "root"})
    assert r.status_code == 403


def test_application_outside_its_descriptions_is_403(daemon):
    r = daemon.client().post("/rest/sleeper", data={"secs": "1"},
                             headers={**bearer(daemon.tokens["front"]), ON_BEHALF: "alice"})
    assert_plain_error(r, 403)
    assert "sleeper" in r.text


def test_wrong_application_token_is_401(daemon):
    c = daemon.client()
    for headers in (basic("front", daemon.tokens["alice"]), bearer("f" * 64)):
        r = c.get("/rest/echo", headers={**headers, ON_BEHALF: "alice"})
        assert_plain_error(r, 401)


def test_deactivated_account_is_401_and_its_jobs_stay(daemon_factory):
    d = daemon_factory(users=[("carol", False), ("root", True)])
    carol = d.client(auth=("carol", d.tokens["carol"]))
    url = carol.create("echo", {"text": "kept"})
    r = cli(d, "user", "deactivate", "carol")
    assert r.returncode == 0, r.stderr
    for headers in ({}, bearer(d.tokens["carol"])):
        r = carol.get("/rest/echo", headers=headers)
        assert_plain_error(r, 401)
        assert "deactivated" in r.text
    front = cli_token(d, "app", "add", "front", "--run", "*")
    r = d.client().get("/rest/echo", headers={**bearer(front), ON_BEHALF: "carol"})
    assert_plain_error(r, 401)
    assert "deactivated" in r.text
    root = d.client(auth=("root", d.tokens["root"]))
    assert root.job(url)["ownerId"] == "carol"
    assert cli(d, "user", "activate", "carol").returncode == 0
    assert carol.job(url)["ownerId"] == "carol"


def test_rotation_refuses_the_old_token_at_once(daemon):
    old = daemon.tokens["bob"]
    new = cli_token(daemon, "user", "rotate", "bob")
    daemon.tokens["bob"] = new
    assert new != old
    c = daemon.client()
    for headers in (basic("bob", old), bearer(old)):
        assert_plain_error(c.get("/rest/echo", headers=headers), 401)
    for headers in (basic("bob", new), bearer(new)):
        assert c.get("/rest/echo", headers=headers).status_code == 200


def test_backoff_429_and_the_right_token_from_elsewhere(daemon_factory):
    d = daemon_factory({"auth": {"backoff_failures": "3", "backoff_max": "4"}},
                       users=[("alice", False), ("bob", False)])
    here = client_from(d, "127.0.0.1")
    there = client_from(d, "127.0.0.2")
    for _ in range(3):
        assert_plain_error(here.get("/rest/echo", headers=basic("alice", "wrong")), 401)
    # this address is in back-off: even a right token gets 429, unchecked
    r = here.get("/rest/echo", headers=basic("bob", d.tokens["bob"]))
    assert_plain_error(r, 429)
    retry = int(r.headers["Retry-After"])
    assert 1 <= retry <= 4
    assert "try again in" in r.text and "address" in r.text
    # anonymous requests carry no credentials to check: served
    assert here.get("/rest/echo").status_code == 200
    # alice's name is in back-off too, but her right token works from elsewhere
    r = there.get("/rest/echo", headers=basic("alice", d.tokens["alice"]))
    assert r.status_code == 200, r.text
    assert there.get("/rest/echo", headers=bearer(d.tokens["alice"])).status_code == 200
    # and a wrong one from elsewhere gets 429 instead of 401
    r = there.get("/rest/echo", headers=basic("alice", "still-wrong"))
    assert_plain_error(r, 429)
    assert int(r.headers["Retry-After"]) >= 1
    # bob is unaffected from the other address
    assert there.get("/rest/echo", headers=basic("bob", d.tokens["bob"])).status_code == 200
    # the back-off ends: the first address is checked again
    wait_until(lambda: here.get("/rest/echo", headers=basic("bob", d.tokens["bob"])).status_code
               == 200, timeout=10, interval=0.2, what="the end of the back-off")
    here.close()
    there.close()


def test_backoff_from_the_json_client_is_429_too(daemon_factory):
    d = daemon_factory({"auth": {"backoff_failures": "2", "backoff_max": "2"}},
                       users=[("alice", False)])
    c = d.client()
    for _ in range(2):
        c.get("/rest/echo", headers=basic("alice", "wrong"))
    r = c.get("/rest/echo", headers={**basic("alice", d.tokens["alice"]),
                                     "Accept": "application/json"})
    assert r.status_code == 429 and r.headers.get("Retry-After")
