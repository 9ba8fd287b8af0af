"""Server administration over HTTP (issue 13, docs/admin.md): /admin/roles,
/admin/apps (application tokens), /admin/audit, /admin/status,
/admin/config, /admin/jobs (+ abort of any user's job), /admin/jdl
(descriptions disabled for new jobs). Every route with an admin, a plain
user, an application and anonymous; duplicate, unknown and bad names; every
change has its audit row, a refused one none.
"""
import pytest

from conftest import STORE

ADMIN = "root"


@pytest.fixture(scope="module")
def daemon(module_factory):
    return module_factory(users=[(ADMIN, True), ("alice", False), ("bob", False)])


def admin(d):
    return d.client(auth=(ADMIN, d.tokens[ADMIN]))


def as_user(d, name):
    return d.client(auth=(name, d.tokens[name]))


def as_app(d, token, user="alice"):
    c = d.client()
    c.headers["Authorization"] = f"Bearer {token}"
    c.headers["X-Opus-On-Behalf-Of"] = user
    return c


@pytest.fixture(scope="module")
def app_token(daemon):
    r = admin(daemon).post("/admin/apps", json={"name": "front", "run": "echo sleeper"})
    assert r.status_code == 201, r.text
    return r.json()["token"]


def audit(d, after=0):
    r = admin(d).get("/admin/audit", params={"after": after, "count": 1000})
    assert r.status_code == 200, r.text
    return r.json()["entries"]


def last_audit_id(d):
    e = audit(d)
    return e[-1]["id"] if e else 0


def actions(d, after):
    return [(e["action"], e["target"]) for e in audit(d, after)]


# ----------------------------------------------------------- who may do what

ROUTES = [
    ("GET", "/admin/roles", None),
    ("GET", "/admin/roles/user", None),
    ("PUT", "/admin/roles/x", {"run": ["*"]}),
    ("DELETE", "/admin/roles/x", None),
    ("GET", "/admin/apps", None),
    ("POST", "/admin/apps", {"name": "y", "run": "*"}),
    ("GET", "/admin/apps/front", None),
    ("PATCH", "/admin/apps/front", {"active": False}),
    ("DELETE", "/admin/apps/front", None),
    ("POST", "/admin/apps/front/token", None),
    ("GET", "/admin/audit", None),
    ("GET", "/admin/status", None),
    ("GET", "/admin/config", None),
    ("GET", "/admin/jobs", None),
    ("POST", "/admin/jobs/0123456789abcdef0123456789abcdef/abort", None),
    ("GET", "/admin/jdl", None),
    ("GET", "/admin/jdl/echo", None),
    ("PUT", "/admin/jdl/echo", {"enabled": False}),
    ("POST", "/admin/jdl/echo/disable", None),
    ("POST", "/admin/jdl/echo/enable", None),
    ("GET", "/admin/nothing", None),
]


@pytest.mark.parametrize("method,path,body", ROUTES)
def test_plain_user_gets_403(daemon, app_token, method, path, body):
    before = last_audit_id(daemon)
    r = as_user(daemon, "alice").request(method, path, json=body)
    assert r.status_code == 403, r.text
    assert audit(daemon, before) == []


@pytest.mark.parametrize("method,path,body", ROUTES)
def test_application_gets_403(daemon, app_token, method, path, body):
    before = last_audit_id(daemon)
    r = as_app(daemon, app_token, ADMIN).request(method, path, json=body)
    assert r.status_code == 403, r.text
    assert audit(daemon, before) == []
    assert admin(daemon).get("/admin/apps/front").json()["active"] is True


@pytest.mark.parametrize("method,path,body", ROUTES)
def test_anonymous_gets_401(daemon, method, path, body):
    r = daemon.client().request(method, path, json=body)
    assert r.status_code == 401, r.text
    assert r.headers.get("WWW-Authenticate", "").startswith("Basic")


# -------------------------------------------------------------------- roles

def test_builtin_roles_are_listed(daemon):
    roles = {r["name"]: r for r in admin(daemon).get("/admin/roles").json()["roles"]}
    assert {"admin", "user", "anonymous"} <= set(roles)
    assert roles["admin"]["admin"] is True and roles["admin"]["builtin"] is True
    assert roles["user"]["run"] == ["*"] and roles["user"]["admin"] is False
    assert set(roles["user"]["quota"]) == {"max_running", "max_jobs", "max_bytes"}


def test_role_lifecycle(daemon):
    c = admin(daemon)
    before = last_audit_id(daemon)
    r = c.put("/admin/roles/astro", json={"run": ["echo", "sl*"], "submit": True,
                                          "quota": {"max_jobs": 10, "max_running": 2}})
    assert r.status_code == 201, r.text
    role = r.json()
    assert role["run"] == ["echo", "sl*"] and role["submit"] is True
    assert role["admin"] is False and role["builtin"] is False
    assert role["quota"] == {"max_running": 2, "max_jobs": 10, "max_bytes": 0}
    r = c.put("/admin/roles/astro", json={"run": "echo"})
    assert r.status_code == 200, r.text
    assert r.json()["run"] == ["echo"] and r.json()["submit"] is True  # kept
    assert c.get("/admin/roles/astro").json()["run"] == ["echo"]
    # a user holding it
    r = c.patch("/users/bob", json={"roles": ["astro"]})
    assert r.status_code == 200, r.text
    me = as_user(daemon, "bob").get("/users/me").json()
    assert me["grants"]["run"] == ["echo"] and me["grants"]["submit"] is True
    assert c.patch("/users/bob", json={"roles": ["user"]}).status_code == 200
    assert c.delete("/admin/roles/astro").status_code == 204
    assert c.get("/admin/roles/astro").status_code == 404
    assert actions(daemon, before) == [("role.put", "astro"), ("role.put", "astro"),
                                       ("user.roles", "bob"), ("user.roles", "bob"),
                                       ("role.delete", "astro")]


def test_builtin_role_cannot_be_deleted(daemon):
    before = last_audit_id(daemon)
    for name in ("admin", "user", "anonymous"):
        r = admin(daemon).delete(f"/admin/roles/{name}")
        assert r.status_code == 403, r.text
        assert "built in" in r.json()["message"]
    assert audit(daemon, before) == []


def test_builtin_role_can_be_changed(daemon):
    c = admin(daemon)
    r = c.put("/admin/roles/anonymous", json={"run": ["echo"]})
    assert r.status_code == 200, r.text
    assert c.get("/admin/roles/anonymous").json()["run"] == ["echo"]
    assert c.put("/admin/roles/anonymous", json={"run": ["*"]}).status_code == 200


@pytest.mark.parametrize("path,body,status", [
    ("/admin/roles/bad%20name", {"run": "*"}, 400),
    ("/admin/roles/ok", {"run": ["a b"]}, 400),
    ("/admin/roles/ok", {"run": ["$(rm)"]}, 400),
    ("/admin/roles/ok", {"run": 5}, 400),
    ("/admin/roles/ok", {"admin": "yes"}, 400),
    ("/admin/roles/ok", {"quota": {"max_jobs": -1}}, 400),
    ("/admin/roles/ok", {"name": "other"}, 400),
    ("/admin/roles/ok", {"colour": "red"}, 400),
])
def test_bad_role_is_400_and_changes_nothing(daemon, path, body, status):
    before = last_audit_id(daemon)
    r = admin(daemon).put(path, json=body)
    assert r.status_code == status, r.text
    assert admin(daemon).get("/admin/roles/ok").status_code == 404
    assert audit(daemon, before) == []


def test_unknown_role(daemon):
    c = admin(daemon)
    assert c.get("/admin/roles/ghost").status_code == 404
    assert c.delete("/admin/roles/ghost").status_code == 404
    r = c.patch("/users/alice", json={"roles": ["ghost"]})
    assert r.status_code == 400 and "role" in r.json()["message"]


# --------------------------------------------------------------------- apps

def test_app_lifecycle(daemon):
    c = admin(daemon)
    before = last_audit_id(daemon)
    r = c.post("/admin/apps", json={"name": "compose", "run": ["echo"]})
    assert r.status_code == 201, r.text
    assert r.headers["Location"].endswith("/admin/apps/compose")
    tok = r.json()["token"]
    assert len(tok) == 64 and r.json()["run"] == ["echo"] and r.json()["active"] is True
    assert "token" not in c.get("/admin/apps/compose").json()
    assert any(a["name"] == "compose" for a in c.get("/admin/apps").json()["apps"])

    app = as_app(daemon, tok, "alice")
    url = app.create("echo", {"text": "for alice"})
    assert as_user(daemon, "alice").job(url)["ownerId"] == "alice"
    r = app.post("/rest/sleeper", data={"secs": "1"})
    assert r.status_code == 403, r.text  # outside its list

    r = c.patch("/admin/apps/compose", json={"run": ["echo", "sleeper"]})
    assert r.status_code == 200 and r.json()["run"] == ["echo", "sleeper"]
    assert app.create("sleeper", {"secs": "0"})

    r = c.post("/admin/apps/compose/token")
    assert r.status_code == 200, r.text
    new = r.json()["token"]
    assert app.get("/users/me").status_code == 401  # the old one, at once
    assert as_app(daemon, new).get("/users/me").status_code == 200

    assert c.patch("/admin/apps/compose", json={"active": False}).json()["active"] is False
    assert as_app(daemon, new).get("/users/me").status_code == 401
    assert c.delete("/admin/apps/compose").status_code == 204
    assert c.get("/admin/apps/compose").status_code == 404
    assert actions(daemon, before) == [("app.create", "compose"), ("app.update", "compose"),
                                       ("app.rotate", "compose"), ("app.update", "compose"),
                                       ("app.delete", "compose")]


def test_audit_row_names_actor_and_address(daemon, app_token):
    before = last_audit_id(daemon)
    admin(daemon).patch("/admin/apps/front", json={"run": "echo sleeper"})
    e = audit(daemon, before)[-1]
    assert e["actor"] == ADMIN and e["app"] is None and e["address"] == "127.0.0.1"


@pytest.mark.parametrize("body,status", [
    ({"name": "alice", "run": "*"}, 409),  # an account's name
    ({"name": "front", "run": "*"}, 409),
    ({"name": "bad name", "run": "*"}, 400),
    ({"name": "nolist"}, 400),
    ({"name": "badglob", "run": ["a;b"]}, 400),
    ({"run": "*"}, 400),
    ({"name": "extra", "run": "*", "admin": True}, 400),
])
def test_bad_app_create(daemon, app_token, body, status):
    before = last_audit_id(daemon)
    r = admin(daemon).post("/admin/apps", json=body)
    assert r.status_code == status, r.text
    assert audit(daemon, before) == []


def test_unknown_app_is_404(daemon):
    c = admin(daemon)
    before = last_audit_id(daemon)
    assert c.get("/admin/apps/ghost").status_code == 404
    assert c.patch("/admin/apps/ghost", json={"active": False}).status_code == 404
    assert c.post("/admin/apps/ghost/token").status_code == 404
    assert c.delete("/admin/apps/ghost").status_code == 404
    assert c.get("/admin/apps/bad%20name").status_code == 400
    assert audit(daemon, before) == []


# -------------------------------------------------------------------- audit

def test_audit_is_paged_oldest_first(daemon):
    c = admin(daemon)
    for i in range(5):
        assert c.put(f"/admin/roles/pg{i}", json={"run": "*"}).status_code == 201
    all_rows = audit(daemon)
    ids = [e["id"] for e in all_rows]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    r = c.get("/admin/audit", params={"after": ids[-5], "count": 2}).json()
    assert [e["id"] for e in r["entries"]] == ids[-4:-2]
    assert r["next"] == ids[-3]
    r = c.get("/admin/audit", params={"after": ids[-2], "count": 10}).json()
    assert [e["id"] for e in r["entries"]] == ids[-1:] and r["next"] is None
    e = all_rows[-1]
    assert e["action"] == "role.put" and e["target"] == "pg4" and e["actor"] == ADMIN
    assert e["time"].endswith("Z")
    for bad in ({"count": "0"}, {"count": "x"}, {"after": "-1"}):
        assert c.get("/admin/audit", params=bad).status_code == 400


def test_cli_changes_are_audited_as_cli(daemon):
    before = last_audit_id(daemon)
    daemon.add_user("fromcli")
    assert ("user.create", "fromcli") in actions(daemon, before)
    assert audit(daemon, before)[-1]["actor"] == "cli"


# ------------------------------------------------------------ status, config

def test_status(daemon):
    s = admin(daemon).get("/admin/status").json()
    assert s["version"] and s["executor"] == "local" and s["store"] == STORE
    assert 0 <= s["uptime_s"] < 3600
    for k in ("queued", "running", "waiters", "users", "jobs_stored"):
        assert isinstance(s[k], int) and s[k] >= 0, k
    assert s["users"] >= 3
    dd = s["data_dir"]
    assert dd["path"] == str(daemon.data_dir)
    assert dd["size_bytes"] > 0 and 0 <= dd["free_bytes"] <= dd["size_bytes"]
    assert dd["results_bytes"] >= 0


def test_status_counts_running_jobs_and_result_bytes(daemon):
    c = as_user(daemon, "bob")
    before = admin(daemon).get("/admin/status").json()
    url = c.create("echo", {"text": "x" * 1000}, run=True)
    assert c.wait_for_phase(url, ("COMPLETED", "ERROR")) == "COMPLETED"
    after = admin(daemon).get("/admin/status").json()
    assert after["data_dir"]["results_bytes"] > before["data_dir"]["results_bytes"]
    assert after["jobs_stored"] == before["jobs_stored"] + 1


def test_status_counts_jobs_of_deleted_accounts_and_app_users(daemon, app_token):
    """jobs_stored covers every owner: a deleted account's jobs stay (and count),
    as do the jobs of a user who only came through an application."""
    a = admin(daemon)
    r = a.post("/users", json={"name": "gone"})
    assert r.status_code == 201, r.text
    gone = daemon.client(auth=("gone", r.json()["token"]))
    gone.create("echo", {"text": "kept"})
    as_app(daemon, app_token, user="viaapp").create("echo", {"text": "vouched"})
    before = a.get("/admin/status").json()
    assert a.delete("/users/gone").status_code == 204
    after = a.get("/admin/status").json()
    assert after["jobs_stored"] == before["jobs_stored"]
    assert after["users"] == before["users"] - 1


def test_config_is_the_effective_one(daemon):
    cfg = admin(daemon).get("/admin/config").json()
    assert cfg["server"]["listen"] == f"127.0.0.1:{daemon.port}"
    assert cfg["paths"]["data_dir"] == str(daemon.data_dir)
    assert cfg["jobs"]["kill_grace_ms"] == 500
    assert cfg["auth"]["check_permissions"] is False
    assert isinstance(cfg["server"]["allow_anonymous"], bool)


# --------------------------------------------------------------------- jobs

def test_jobs_across_users_and_abort(daemon):
    c = admin(daemon)
    alice = as_user(daemon, "alice")
    url = alice.create("sleeper", {"secs": "30"}, run=True)
    job_id = url.rsplit("/", 1)[1]
    alice.wait_for_phase(url, "EXECUTING")
    jobs = {j["id"]: j for j in c.get("/admin/jobs").json()["jobs"]}
    assert job_id in jobs
    j = jobs[job_id]
    assert j["owner"] == "alice" and j["phase"] == "EXECUTING" and j["jobdef"] == "sleeper"
    assert j["url"] == url and j["start_time"].endswith("Z")
    assert as_user(daemon, "bob").post(f"/admin/jobs/{job_id}/abort").status_code == 403

    before = last_audit_id(daemon)
    r = c.post(f"/admin/jobs/{job_id}/abort")
    assert r.status_code == 303, r.text
    assert r.headers["Location"] == url
    assert alice.wait_for_phase(url, "ABORTED") == "ABORTED"
    e = audit(daemon, before)
    assert [(x["action"], x["target"], x["actor"]) for x in e] == \
        [("job.abort", job_id, ADMIN)]
    assert e[0]["detail"]["owner"] == "alice" and e[0]["detail"]["jobdef"] == "sleeper"
    assert job_id not in {j["id"] for j in c.get("/admin/jobs").json()["jobs"]}
    # aborting a final job: 403 naming the phase; unknown: 404
    r = c.post(f"/admin/jobs/{job_id}/abort")
    assert r.status_code == 403 and "ABORTED" in r.json()["message"]
    assert c.post("/admin/jobs/0123456789abcdef0123456789abcdef/abort").status_code == 404
    assert c.post("/admin/jobs/not-an-id/abort").status_code == 404
    assert c.get(f"/admin/jobs/{job_id}/abort").status_code == 405


# ---------------------------------------------------------------------- jdl

def test_disable_and_enable_a_description(daemon):
    c = admin(daemon)
    before = last_audit_id(daemon)
    r = c.put("/admin/jdl/echo", json={"enabled": False})
    assert r.status_code == 200, r.text
    assert r.json() == {"name": "echo", "enabled": False, "loaded": True}
    listed = {j["name"]: j["enabled"] for j in c.get("/admin/jdl").json()["jdl"]}
    assert listed["echo"] is False and listed["sleeper"] is True
    assert c.post("/admin/jdl/echo/enable").json()["enabled"] is True
    assert c.post("/admin/jdl/echo/disable").json()["enabled"] is False
    assert c.put("/admin/jdl/echo", json={"enabled": True}).json()["enabled"] is True
    assert c.get("/admin/jdl/echo").json()["enabled"] is True
    assert actions(daemon, before) == [("jdl.disable", "echo"), ("jdl.enable", "echo"),
                                       ("jdl.disable", "echo"), ("jdl.enable", "echo")]


def test_bad_description_requests(daemon):
    c = admin(daemon)
    before = last_audit_id(daemon)
    assert c.put("/admin/jdl/nosuch", json={"enabled": False}).status_code == 404
    assert c.post("/admin/jdl/nosuch/disable").status_code == 404
    assert c.get("/admin/jdl/nosuch").status_code == 404
    assert c.put("/admin/jdl/echo", json={"enabled": "no"}).status_code == 400
    assert c.put("/admin/jdl/echo", json={}).status_code == 400
    r = c.put("/admin/jdl/echo", data="{", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and "malformed JSON" in r.json()["message"]
    assert audit(daemon, before) == []
