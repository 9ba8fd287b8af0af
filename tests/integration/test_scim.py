"""SCIM 2.0 subset under /scim/v2 (issue 13, docs/admin.md), with the payloads
OPUS's endpoints take (uws_server.py: form-encoded POST /scim/v2/Users with
name, token, roles; POST /scim/v2/Users/{name} with token, roles, active) and
with SCIM JSON (userName, active, roles, emails, displayName; PATCH
Operations). Discovery answers anyone; Users only admins (SCIM Error JSON
otherwise). A token sent by the client is kept (hashed); one opusd makes is
shown once.
"""
import pytest

ADMIN = "root"
ERR = "urn:ietf:params:scim:api:messages:2.0:Error"
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCHOP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SCIM_CT = "application/scim+json"


@pytest.fixture(scope="module")
def daemon(module_factory):
    return module_factory(users=[(ADMIN, True), ("alice", False)])


def admin(d):
    return d.client(auth=(ADMIN, d.tokens[ADMIN]))


def as_user(d, name, token):
    return d.client(auth=(name, token))


@pytest.fixture(scope="module")
def app_token(daemon):
    r = admin(daemon).post("/admin/apps", json={"name": "provisioner", "run": "*"})
    assert r.status_code == 201, r.text
    return r.json()["token"]


def audit(d, after=0):
    return admin(d).get("/admin/audit", params={"after": after, "count": 1000}).json()["entries"]


def last_audit_id(d):
    e = audit(d)
    return e[-1]["id"] if e else 0


def scim_error(r, status):
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"].startswith(SCIM_CT)
    doc = r.json()
    assert doc["schemas"] == [ERR] and doc["status"] == str(status) and doc["detail"]
    return doc


def roles_of(u):
    return sorted(r["value"] for r in u["roles"])


# ---------------------------------------------------------------- discovery

@pytest.mark.parametrize("path", ["/scim/v2/ServiceProviderConfig", "/scim/v2/Schemas",
                                  "/scim/v2/ResourceTypes", "/scim/v2/ResourceTypes/User",
                                  f"/scim/v2/Schemas/{USER}"])
def test_discovery_answers_anyone(daemon, path):
    r = daemon.client().get(path)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith(SCIM_CT)
    doc = r.json()
    if path.endswith("ServiceProviderConfig"):
        assert doc["patch"]["supported"] is True and doc["filter"]["supported"] is True
    if path.endswith("/Schemas"):
        assert doc["Resources"][0]["id"] == USER
        names = {a["name"] for a in doc["Resources"][0]["attributes"]}
        assert {"userName", "active", "roles", "emails", "displayName"} <= names
    if path.endswith("ResourceTypes"):
        assert doc["Resources"][0]["endpoint"] == "/Users"


def test_unknown_scim_resources(daemon):
    c = admin(daemon)
    scim_error(c.get("/scim/v2/Groups"), 404)
    scim_error(c.get("/scim/v1/Users"), 404)
    scim_error(c.get("/scim/v2/ResourceTypes/Group"), 404)
    r = c.put("/scim/v2/Users", json={})
    scim_error(r, 405)
    assert r.headers["Allow"] == "GET, HEAD, POST"


# ------------------------------------------------------------ who may do it

USER_ROUTES = [
    ("GET", "/scim/v2/Users", None, None),
    ("POST", "/scim/v2/Users", None, {"name": "x1", "token": "t" * 20}),
    ("POST", "/scim/v2/Users", {"userName": "x2"}, None),
    ("GET", "/scim/v2/Users/alice", None, None),
    ("PUT", "/scim/v2/Users/alice", {"userName": "alice", "active": False}, None),
    ("PATCH", "/scim/v2/Users/alice",
     {"schemas": [PATCHOP], "Operations": [{"op": "replace", "path": "active",
                                            "value": False}]}, None),
    ("POST", "/scim/v2/Users/alice", None, {"active": "False"}),
    ("DELETE", "/scim/v2/Users/alice", None, None),
]


@pytest.fixture(scope="module")
def alice_token(daemon):
    return daemon.tokens["alice"]


@pytest.mark.parametrize("method,path,body,form", USER_ROUTES)
def test_plain_user_gets_403(daemon, alice_token, method, path, body, form):
    before = last_audit_id(daemon)
    r = as_user(daemon, "alice", alice_token).request(method, path, json=body, data=form)
    scim_error(r, 403)
    assert audit(daemon, before) == []


@pytest.mark.parametrize("method,path,body,form", USER_ROUTES)
def test_application_gets_403(daemon, app_token, method, path, body, form):
    before = last_audit_id(daemon)
    c = daemon.client()
    c.headers.update({"Authorization": f"Bearer {app_token}", "X-Opus-On-Behalf-Of": ADMIN})
    scim_error(c.request(method, path, json=body, data=form), 403)
    assert audit(daemon, before) == []


@pytest.mark.parametrize("method,path,body,form", USER_ROUTES)
def test_anonymous_gets_401(daemon, method, path, body, form):
    r = daemon.client().request(method, path, json=body, data=form)
    scim_error(r, 401)
    assert r.headers.get("WWW-Authenticate", "").startswith("Basic")


# ---------------------------------------------------------- OPUS's payloads

def test_opus_create_with_its_token_and_roles(daemon):
    c = admin(daemon)
    before = last_audit_id(daemon)
    tok = "3f1c8a2e-9b7d-4e1a-8c55-0d2b6e4f9a17"  # OPUS sites hand out uuid4s
    r = c.post("/scim/v2/Users", data={"name": "opus1", "token": tok, "roles": "user,admin"})
    assert r.status_code == 201, r.text
    u = r.json()
    assert u["userName"] == "opus1" and u["id"] == "opus1" and u["active"] is True
    assert roles_of(u) == ["admin", "user"]
    assert "token" not in u and tok not in r.text
    assert u["meta"]["location"].endswith("/scim/v2/Users/opus1")
    assert r.headers["Location"].endswith("/scim/v2/Users/opus1")
    me = as_user(daemon, "opus1", tok).get("/users/me")
    assert me.status_code == 200 and me.json()["grants"]["admin"] is True
    assert [(e["action"], e["target"]) for e in audit(daemon, before)] == \
        [("user.create", "opus1")]


def test_opus_create_without_token_gets_one_once(daemon):
    r = admin(daemon).post("/scim/v2/Users", data={"name": "opus2", "token": ""})
    assert r.status_code == 201, r.text
    tok = r.json()["token"]
    assert len(tok) == 64
    assert roles_of(r.json()) == ["user"]
    assert as_user(daemon, "opus2", tok).get("/users/me").status_code == 200
    assert "token" not in admin(daemon).get("/scim/v2/Users/opus2").json()


def test_opus_change_token_roles_active(daemon):
    c = admin(daemon)
    old = "old-token-for-opus3-000000"
    new = "new-token-for-opus3-111111"
    assert c.post("/scim/v2/Users", data={"name": "opus3", "token": old}).status_code == 201
    before = last_audit_id(daemon)
    r = c.post("/scim/v2/Users/opus3", data={"token": new, "roles": "admin"})
    assert r.status_code == 200, r.text
    assert roles_of(r.json()) == ["admin"] and "token" not in r.json()
    assert as_user(daemon, "opus3", old).get("/users/me").status_code == 401
    assert as_user(daemon, "opus3", new).get("/users/me").status_code == 200
    r = c.post("/scim/v2/Users/opus3", data={"active": "False"})
    assert r.status_code == 200 and r.json()["active"] is False
    assert as_user(daemon, "opus3", new).get("/users/me").status_code == 401
    r = c.post("/scim/v2/Users/opus3", data={"active": "True"})
    assert r.json()["active"] is True
    got = [e["action"] for e in audit(daemon, before)]
    assert got == ["user.rotate", "user.roles", "user.deactivate", "user.activate"]


def test_opus_delete(daemon):
    c = admin(daemon)
    assert c.post("/scim/v2/Users", data={"name": "opus4"}).status_code == 201
    r = c.delete("/scim/v2/Users/opus4")
    assert r.status_code == 204 and not r.content
    scim_error(c.get("/scim/v2/Users/opus4"), 404)
    scim_error(c.delete("/scim/v2/Users/opus4"), 404)


# --------------------------------------------------------------- SCIM JSON

def test_scim_json_create_get_put_patch_delete(daemon):
    c = admin(daemon)
    before = last_audit_id(daemon)
    body = {"schemas": [USER], "userName": "sjson", "displayName": "S. Json",
            "emails": [{"value": "other@example.org"},
                       {"value": "s@example.org", "primary": True}],
            "roles": [{"value": "user"}], "name": {"givenName": "S"}, "externalId": "42"}
    r = c.post("/scim/v2/Users", json=body, headers={"Content-Type": SCIM_CT})
    assert r.status_code == 201, r.text
    u = r.json()
    tok = u.pop("token")
    assert u["schemas"] == [USER] and u["displayName"] == "S. Json"
    assert u["emails"] == [{"value": "s@example.org", "primary": True}]
    assert roles_of(u) == ["user"] and u["meta"]["resourceType"] == "User"
    assert u["meta"]["created"].endswith("Z")
    assert as_user(daemon, "sjson", tok).get("/users/me").json()["email"] == "s@example.org"

    g = c.get("/scim/v2/Users/sjson").json()
    assert g["userName"] == "sjson" and "token" not in g

    # PUT replaces: displayName and emails left out are cleared
    r = c.put("/scim/v2/Users/sjson", json={"schemas": [USER], "userName": "sjson",
                                             "roles": ["user", "admin"]})
    assert r.status_code == 200, r.text
    assert "displayName" not in r.json() and "emails" not in r.json()
    assert roles_of(r.json()) == ["admin", "user"]

    ops = {"schemas": [PATCHOP], "Operations": [
        {"op": "Replace", "path": "active", "value": "False"},
        {"op": "remove", "path": "roles", "value": [{"value": "admin"}]},
        {"op": "add", "path": "displayName", "value": "Patched"},
        {"op": "replace", "value": {"emails": [{"value": "p@example.org", "primary": True}]}},
    ]}
    r = c.patch("/scim/v2/Users/sjson", json=ops)
    assert r.status_code == 200, r.text
    u = r.json()
    assert u["active"] is False and roles_of(u) == ["user"]
    assert u["displayName"] == "Patched" and u["emails"][0]["value"] == "p@example.org"
    assert as_user(daemon, "sjson", tok).get("/users/me").status_code == 401
    r = c.patch("/scim/v2/Users/sjson", json={"schemas": [PATCHOP], "Operations": [
        {"op": "add", "path": "roles", "value": ["admin"]},
        {"op": "replace", "path": "active", "value": True}]})
    assert r.status_code == 200 and roles_of(r.json()) == ["admin", "user"]
    assert as_user(daemon, "sjson", tok).get("/users/me").status_code == 200

    assert c.delete("/scim/v2/Users/sjson").status_code == 204
    acts = [e["action"] for e in audit(daemon, before)]
    assert acts[0] == "user.create" and acts[-1] == "user.delete"
    assert {"user.update", "user.roles", "user.deactivate", "user.activate"} <= set(acts)


def test_list_paging_and_filter(daemon):
    c = admin(daemon)
    for i in range(4):
        assert c.post("/scim/v2/Users", json={"userName": f"lst{i}"}).status_code == 201
    r = c.get("/scim/v2/Users", params={"startIndex": 1, "count": 1000})
    doc = r.json()
    assert doc["schemas"] == [LIST] and doc["startIndex"] == 1
    names = [u["userName"] for u in doc["Resources"]]
    assert names == sorted(names) and doc["totalResults"] == len(names)
    assert doc["itemsPerPage"] == len(names)
    page = c.get("/scim/v2/Users", params={"startIndex": 2, "count": 2}).json()
    assert [u["userName"] for u in page["Resources"]] == names[1:3]
    assert page["startIndex"] == 2 and page["totalResults"] == len(names)
    empty = c.get("/scim/v2/Users", params={"count": 0}).json()
    assert empty["Resources"] == [] and empty["totalResults"] == len(names)
    f = c.get("/scim/v2/Users", params={"filter": 'userName eq "lst2"'}).json()
    assert [u["userName"] for u in f["Resources"]] == ["lst2"] and f["totalResults"] == 1
    f = c.get("/scim/v2/Users", params={"filter": 'userName eq "nobody"'}).json()
    assert f["Resources"] == [] and f["totalResults"] == 0
    scim_error(c.get("/scim/v2/Users", params={"filter": 'emails co "x"'}), 400)
    scim_error(c.get("/scim/v2/Users", params={"startIndex": 0}), 400)
    scim_error(c.get("/scim/v2/Users", params={"count": "many"}), 400)


# ---------------------------------------------------------------- bad input

def test_duplicate_is_409_uniqueness(daemon):
    before = last_audit_id(daemon)
    doc = scim_error(admin(daemon).post("/scim/v2/Users", json={"userName": "alice"}), 409)
    assert doc["scimType"] == "uniqueness"
    scim_error(admin(daemon).post("/scim/v2/Users", data={"name": "alice"}), 409)
    assert audit(daemon, before) == []


@pytest.mark.parametrize("body,form", [
    ({"userName": "bad name"}, None), ({"userName": ""}, None), ({}, None),
    (None, {"name": "x" * 65}), (None, {}),
    ({"userName": "okname", "roles": [{"value": "ghost"}]}, None),
    ({"userName": "okname", "active": "perhaps"}, None),
    ({"userName": "okname", "token": "short"}, None),
    (None, {"name": "okname", "roles": "ghost"}),
])
def test_bad_create_is_400_and_changes_nothing(daemon, body, form):
    before = last_audit_id(daemon)
    scim_error(admin(daemon).post("/scim/v2/Users", json=body, data=form), 400)
    scim_error(admin(daemon).get("/scim/v2/Users/okname"), 404)
    assert audit(daemon, before) == []


def test_malformed_json_is_400(daemon):
    r = admin(daemon).post("/scim/v2/Users", data='{"userName": ',
                           headers={"Content-Type": SCIM_CT})
    doc = scim_error(r, 400)
    assert doc["scimType"] == "invalidSyntax" and "malformed JSON" in doc["detail"]


def test_unknown_user_is_404(daemon):
    c = admin(daemon)
    before = last_audit_id(daemon)
    scim_error(c.get("/scim/v2/Users/ghost"), 404)
    scim_error(c.put("/scim/v2/Users/ghost", json={"userName": "ghost"}), 404)
    scim_error(c.patch("/scim/v2/Users/ghost", json={"Operations": [
        {"op": "replace", "path": "active", "value": False}]}), 404)
    scim_error(c.post("/scim/v2/Users/ghost", data={"active": "false"}), 404)
    scim_error(c.delete("/scim/v2/Users/ghost"), 404)
    scim_error(c.get("/scim/v2/Users/bad%20name"), 400)
    assert audit(daemon, before) == []


@pytest.mark.parametrize("ops", [
    [], [{"op": "move", "path": "active", "value": False}],
    [{"op": "replace", "path": "nickName", "value": "x"}],
    [{"op": "replace", "path": "active", "value": False},
     {"op": "replace", "path": "roles", "value": ["ghost"]}],
    [{"op": "replace", "path": "active"}],
])
def test_bad_patch_changes_nothing(daemon, ops):
    c = admin(daemon)
    if c.get("/scim/v2/Users/patchme").status_code == 404:
        assert c.post("/scim/v2/Users", json={"userName": "patchme"}).status_code == 201
    before = last_audit_id(daemon)
    scim_error(c.patch("/scim/v2/Users/patchme", json={"schemas": [PATCHOP],
                                                       "Operations": ops}), 400)
    u = c.get("/scim/v2/Users/patchme").json()
    assert u["active"] is True and roles_of(u) == ["user"]
    assert audit(daemon, before) == []


def test_put_cannot_rename(daemon):
    c = admin(daemon)
    assert c.post("/scim/v2/Users", json={"userName": "fixed"}).status_code == 201
    doc = scim_error(c.put("/scim/v2/Users/fixed", json={"userName": "moved"}), 400)
    assert doc["scimType"] == "mutability"
