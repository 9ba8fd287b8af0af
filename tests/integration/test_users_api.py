"""The users API (issue 13, docs/admin.md): /users (list, paged; create, the
token shown once), /users/{name} (show, PATCH roles/email/display_name/
active/quota, DELETE), /users/{name}/token (rotate), /users/me (anyone
signed in). Every route with an admin, a plain user, an application acting
for a user, and anonymous; duplicate (409), unknown (404) and bad (400)
names; malformed JSON; a refused request changes nothing; each change has
its audit row.
"""
import json

import pytest

ADMIN = "root"


@pytest.fixture(scope="module")
def daemon(module_factory):
    return module_factory(users=[(ADMIN, True), ("alice", False), ("bob", False)])


def admin(d):
    return d.client(auth=(ADMIN, d.tokens[ADMIN]))


def as_user(d, name, token=None):
    return d.client(auth=(name, token or d.tokens[name]))


@pytest.fixture(scope="module")
def app_token(daemon):
    c = admin(daemon)
    r = c.post("/admin/apps", json={"name": "portal", "run": ["*"]})
    assert r.status_code == 201, r.text
    return r.json()["token"]


def as_app(d, token, user="alice"):
    c = d.client()
    c.headers["Authorization"] = f"Bearer {token}"
    c.headers["X-Opus-On-Behalf-Of"] = user
    return c


def audit(d, after=0):
    r = admin(d).get("/admin/audit", params={"after": after, "count": 1000})
    assert r.status_code == 200, r.text
    return r.json()["entries"]


def last_audit_id(d):
    e = audit(d)
    return e[-1]["id"] if e else 0


def new_user(d, name, **fields):
    r = admin(d).post("/users", json={"name": name, **fields})
    assert r.status_code == 201, r.text
    return r.json()


# ----------------------------------------------------------- who may do what

ROUTES = [
    ("GET", "/users", None),
    ("POST", "/users", {"name": "newbie"}),
    ("GET", "/users/bob", None),
    ("PATCH", "/users/bob", {"email": "bob@example.org"}),
    ("POST", "/users/bob/token", None),
    ("DELETE", "/users/bob", None),
]


@pytest.mark.parametrize("method,path,body", ROUTES)
def test_plain_user_gets_403(daemon, method, path, body):
    before = last_audit_id(daemon)
    r = as_user(daemon, "alice").request(method, path, json=body)
    assert r.status_code == 403, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    assert audit(daemon, before) == []


@pytest.mark.parametrize("method,path,body", ROUTES)
def test_application_gets_403(daemon, app_token, method, path, body):
    before = last_audit_id(daemon)
    r = as_app(daemon, app_token, "root").request(method, path, json=body)
    assert r.status_code == 403, r.text
    assert "application" in r.json()["message"]
    assert audit(daemon, before) == []


@pytest.mark.parametrize("method,path,body", ROUTES)
def test_anonymous_gets_401(daemon, method, path, body):
    r = daemon.client().request(method, path, json=body)
    assert r.status_code == 401, r.text
    assert r.headers.get("WWW-Authenticate", "").startswith("Basic")


def test_admin_lifecycle_of_a_user(daemon):
    c = admin(daemon)
    before = last_audit_id(daemon)
    u = new_user(daemon, "carol", roles=["user"], email="carol@example.org",
                 display_name="Carol C.")
    token = u.pop("token")
    assert len(token) == 64 and int(token, 16) >= 0
    assert u["name"] == "carol" and u["roles"] == ["user"] and u["active"] is True
    assert u["email"] == "carol@example.org" and u["display_name"] == "Carol C."
    carol = as_user(daemon, "carol", token)
    assert carol.get("/users/me").json()["name"] == "carol"

    shown = c.get("/users/carol").json()
    assert "token" not in shown and "token_hash" not in shown
    assert token not in json.dumps(shown)

    r = c.patch("/users/carol", json={"display_name": "Carol", "email": None,
                                      "quota": {"max_jobs": 5}})
    assert r.status_code == 200, r.text
    assert r.json()["display_name"] == "Carol" and r.json()["email"] is None
    assert r.json()["quota"]["max_jobs"] == 5

    r = c.post("/users/carol/token")
    assert r.status_code == 200, r.text
    new = r.json()["token"]
    assert r.json()["name"] == "carol" and new != token
    assert as_user(daemon, "carol", token).get("/users/me").status_code == 401
    assert as_user(daemon, "carol", new).get("/users/me").status_code == 200

    assert c.delete("/users/carol").status_code == 204
    assert c.get("/users/carol").status_code == 404
    assert as_user(daemon, "carol", new).get("/users/me").status_code == 401

    got = [(e["action"], e["target"], e["actor"]) for e in audit(daemon, before)]
    assert got == [("user.create", "carol", ADMIN), ("user.update", "carol", ADMIN),
                   ("user.rotate", "carol", ADMIN), ("user.delete", "carol", ADMIN)]
    rows = audit(daemon, before)
    assert all(e["address"] == "127.0.0.1" for e in rows)
    assert all(new not in json.dumps(e) and token not in json.dumps(e) for e in rows)


def test_roles_and_deactivation(daemon):
    c = admin(daemon)
    tok = new_user(daemon, "dave")["token"]
    before = last_audit_id(daemon)
    r = c.patch("/users/dave", json={"roles": ["user", "admin"]})
    assert r.status_code == 200, r.text
    assert sorted(r.json()["roles"]) == ["admin", "user"]
    me = as_user(daemon, "dave", tok).get("/users/me").json()
    assert me["grants"]["admin"] is True
    assert as_user(daemon, "dave", tok).get("/users").status_code == 200

    assert c.patch("/users/dave", json={"roles": "user"}).json()["roles"] == ["user"]
    assert as_user(daemon, "dave", tok).get("/users").status_code == 403

    r = c.patch("/users/dave", json={"active": False})
    assert r.status_code == 200 and r.json()["active"] is False
    r = as_user(daemon, "dave", tok).get("/users/me")
    assert r.status_code == 401 and "deactivated" in r.text
    assert c.patch("/users/dave", json={"active": True}).json()["active"] is True
    assert as_user(daemon, "dave", tok).get("/users/me").status_code == 200
    got = [e["action"] for e in audit(daemon, before)]
    assert got == ["user.roles", "user.roles", "user.deactivate", "user.activate"]


def test_deactivated_and_deleted_users_jobs_stay(daemon):
    c = admin(daemon)
    tok = new_user(daemon, "erin")["token"]
    url = as_user(daemon, "erin", tok).create("echo", {"text": "mine"})
    assert c.patch("/users/erin", json={"active": False}).status_code == 200
    assert c.job(url)["ownerId"] == "erin"
    assert c.delete("/users/erin").status_code == 204
    assert c.job(url)["ownerId"] == "erin"


def test_me_for_each_identity(daemon, app_token):
    me = as_user(daemon, "alice").get("/users/me").json()
    assert me["name"] == "alice" and me["grants"]["admin"] is False and me["app"] is None
    assert "token" not in me
    me = admin(daemon).get("/users/me").json()
    assert me["grants"]["admin"] is True
    r = as_app(daemon, app_token, "alice").get("/users/me")
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "alice" and r.json()["app"] == "portal"
    # an application vouches for a user without an account
    r = as_app(daemon, app_token, "someone.else@site").get("/users/me")
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "someone.else@site"
    assert daemon.client().get("/users/me").status_code == 401


def test_app_acting_for_an_admin_never_administers(daemon, app_token):
    r = as_app(daemon, app_token, ADMIN).get("/users")
    assert r.status_code == 403


# ------------------------------------------------------------------- paging

def test_list_is_paged_by_name(daemon):
    c = admin(daemon)
    for n in ("page.a", "page.b", "page.c", "page.d", "page.e"):
        new_user(daemon, n)
    r = c.get("/users", params={"start": "page.a", "count": 2})
    assert r.status_code == 200, r.text
    doc = r.json()
    assert [u["name"] for u in doc["users"]] == ["page.a", "page.b"]
    assert doc["next"] == "page.c"
    assert doc["total"] >= 8
    seen = []
    start = ""
    while True:
        doc = c.get("/users", params={"start": start, "count": 3}).json()
        seen += [u["name"] for u in doc["users"]]
        if doc["next"] is None:
            break
        start = doc["next"]
    assert seen == sorted(seen) and len(seen) == len(set(seen)) == doc["total"]
    assert {"alice", "bob", ADMIN, "page.e"} <= set(seen)
    for bad in ("0", "-1", "abc", "100000"):
        assert c.get("/users", params={"count": bad}).status_code == 400


# ---------------------------------------------------------------- bad input

def test_duplicate_name_is_409(daemon, app_token):
    before = last_audit_id(daemon)
    r = admin(daemon).post("/users", json={"name": "alice"})
    assert r.status_code == 409, r.text
    r = admin(daemon).post("/users", json={"name": "portal"})  # an application's name
    assert r.status_code == 409, r.text
    assert audit(daemon, before) == []


@pytest.mark.parametrize("name", ["", "a b", "x" * 65, "semi;colon", "é", "a/b"])
def test_bad_name_is_400(daemon, name):
    r = admin(daemon).post("/users", json={"name": name})
    assert r.status_code == 400, r.text
    assert admin(daemon).get("/users", params={"start": "", "count": 1000}).status_code == 200


@pytest.mark.parametrize("path", ["/users/bad%20name", "/users/semi;colon"])
def test_bad_name_in_url_is_400(daemon, path):
    c = admin(daemon)
    assert c.get(path).status_code == 400
    assert c.delete(path).status_code == 400
    assert c.patch(path, json={}).status_code == 400
    assert c.post(path + "/token").status_code == 400


def test_unknown_user_is_404(daemon):
    c = admin(daemon)
    before = last_audit_id(daemon)
    assert c.get("/users/nobody").status_code == 404
    assert c.patch("/users/nobody", json={"email": "n@x.org"}).status_code == 404
    assert c.post("/users/nobody/token").status_code == 404
    assert c.delete("/users/nobody").status_code == 404
    assert audit(daemon, before) == []


@pytest.mark.parametrize("body,word", [
    ('{"name": "frank",', "malformed JSON"),
    ('["frank"]', "object"),
    ('{"name": "frank", "name": "x"}', "malformed JSON"),
    ('', "JSON object is required"),
])
def test_malformed_json_is_400(daemon, body, word):
    r = admin(daemon).post("/users", data=body,
                           headers={"Content-Type": "application/json"})
    assert r.status_code == 400, r.text
    assert word in r.json()["message"]
    assert admin(daemon).get("/users/frank").status_code == 404


@pytest.mark.parametrize("body,word", [
    ({"name": "gina", "roles": ["no-such-role"]}, "roles"),
    ({"name": "gina", "roles": [3]}, "roles"),
    ({"name": "gina", "email": "not-an-address"}, "email"),
    ({"name": "gina", "email": 7}, "email"),
    ({"name": "gina", "display_name": "a\nb"}, "display_name"),
    ({"name": "gina", "quota": {"max_jobs": -2}}, "quota"),
    ({"name": "gina", "quota": {"max_cpus": 1}}, "quota"),
    ({"name": "gina", "active": "maybe"}, "active"),
    ({"name": "gina", "token": "short"}, "token"),
    ({"name": "gina", "colour": "blue"}, "colour"),
])
def test_refused_create_changes_nothing(daemon, body, word):
    before = last_audit_id(daemon)
    r = admin(daemon).post("/users", json=body)
    assert r.status_code == 400, r.text
    assert word in r.json()["message"]
    assert admin(daemon).get("/users/gina").status_code == 404
    assert audit(daemon, before) == []


def test_refused_patch_changes_nothing(daemon):
    c = admin(daemon)
    new_user(daemon, "hank", email="hank@example.org")
    before = last_audit_id(daemon)
    # roles valid but email bad: the whole change is refused
    r = c.patch("/users/hank", json={"roles": ["admin"], "email": "nope"})
    assert r.status_code == 400, r.text
    r = c.patch("/users/hank", json={"roles": ["admin", "ghost"], "active": False})
    assert r.status_code == 400, r.text
    r = c.patch("/users/hank", json={"name": "henry"})
    assert r.status_code == 400, r.text
    r = c.patch("/users/hank", data="{", headers={"Content-Type": "application/json"})
    assert r.status_code == 400, r.text
    u = c.get("/users/hank").json()
    assert u["roles"] == ["user"] and u["email"] == "hank@example.org" and u["active"]
    assert audit(daemon, before) == []


def test_chosen_token_is_kept_hashed(daemon):
    tok = "opus-site-token-0123456789"
    r = admin(daemon).post("/users", json={"name": "ivan", "token": tok})
    assert r.status_code == 201, r.text
    assert "token" not in r.json()
    assert as_user(daemon, "ivan", tok).get("/users/me").status_code == 200


def test_methods_not_served_are_405(daemon):
    c = admin(daemon)
    r = c.put("/users/alice", json={})
    assert r.status_code == 405 and "PATCH" in r.headers["Allow"]
    assert c.get("/users/alice/token").status_code == 405
    assert c.get("/users/alice/nothing").status_code == 404


def test_options_and_head(daemon):
    c = admin(daemon)
    r = c.options("/users/alice")
    assert r.status_code == 204 and "PATCH" in r.headers["Allow"]
    r = c.head("/users/alice")
    assert r.status_code == 200 and not r.content


def test_foreign_origin_cannot_patch(daemon):
    r = admin(daemon).patch("/users/alice", json={"email": "evil@example.org"},
                            headers={"Origin": "https://evil.example"})
    assert r.status_code == 403
    assert admin(daemon).get("/users/alice").json()["email"] is None


def test_quota_patch_sets_the_figures_it_names(daemon):
    c = admin(daemon)
    u = new_user(daemon, "quinn", quota={"max_jobs": 5})
    assert u["quota"] == {"max_running": None, "max_jobs": 5, "max_bytes": None}
    r = c.patch("/users/quinn", json={"quota": {"max_running": 2}})
    assert r.json()["quota"] == {"max_running": 2, "max_jobs": 5, "max_bytes": None}
    r = c.patch("/users/quinn", json={"quota": {"max_jobs": None, "max_bytes": 0}})
    assert r.json()["quota"] == {"max_running": 2, "max_jobs": None, "max_bytes": 0}
    r = c.patch("/users/quinn", json={"quota": None})
    assert r.json()["quota"] == {"max_running": None, "max_jobs": None, "max_bytes": None}
    e = audit(daemon)[-1]
    assert e["action"] == "user.update" and e["detail"]["quota"]["max_running"] is None
