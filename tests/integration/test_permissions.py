"""Permissions on every route (issue 13): a role grants the job descriptions
its holders may run; with [auth] check_permissions a description not granted
is out of reach everywhere (create, RUN, parameter changes, the job list, the
jobs made before and their results, parameters, provenance and entities,
uploads, /jdl/{name}) with a 403 naming it, and /jdl lists only what is
granted. With the checks off every signed-in user runs everything, as before,
but an application's own list always applies. A description disabled for
maintenance takes no new job and no RUN (a PENDING job made before waits), its
other jobs keep working, and /jdl still lists it (?detail=true: "enabled": false).

Roles, users, applications and description states are set through the admin
API (docs/admin.md), as an admin would.
"""
import pytest

from conftest import assert_plain_error, wait_until

JSON = {"Accept": "application/json"}
SLEEPER_403 = "you may not run job description sleeper"


def as_user(d, name):
    return d.client(auth=(name, d.tokens[name]))


def put_role(admin, name, run, **extra):
    r = admin.put(f"/admin/roles/{name}", json={"name": name, "run": run, **extra})
    assert r.status_code in (200, 201, 204), f"PUT role {name}: {r.status_code} {r.text}"


def set_roles(admin, user, roles):
    r = admin.patch(f"/users/{user}", json={"roles": roles})
    assert r.status_code in (200, 204), f"PATCH {user} roles: {r.status_code} {r.text}"


def make_app(admin, name, run):
    r = admin.post("/admin/apps", json={"name": name, "run": run})
    assert r.status_code in (200, 201), f"POST app {name}: {r.status_code} {r.text}"
    return r.json()["token"]


def app_client(d, token, user):
    c = d.client()
    c.headers["Authorization"] = f"Bearer {token}"
    c.headers["X-Opus-On-Behalf-Of"] = user
    return c


def assert_403_naming(r, jobdef):
    assert_plain_error(r, 403)
    assert f"job description {jobdef}" in r.text, r.text


def run_done(c, jobdef, data):
    url = c.create(jobdef, data, run=True)
    assert c.wait_for_phase(url, ("COMPLETED", "ERROR"), timeout=30) == "COMPLETED"
    return url


@pytest.fixture(scope="module")
def perm(module_factory):
    """check_permissions on. alice made a sleeper job (finished) and a PENDING
    one while she could, then got the role "echoers" (echo only); bob keeps
    "user" (everything)."""
    d = module_factory(config={"auth": {"check_permissions": "true"}},
                       users=[("alice", False), ("bob", False), ("root", True)])
    admin, alice = as_user(d, "root"), as_user(d, "alice")
    d.done = run_done(alice, "sleeper", {"secs": "0"})
    d.pending = alice.create("sleeper", {"secs": "0"})
    d.entity = {r["id"]: r for r in alice.get(d.done, headers=JSON).json()["results"]
                }["output"]["entity_id"]
    put_role(admin, "echoers", ["echo"])
    set_roles(admin, "alice", ["echoers"])
    return d


def test_granted_description_works(perm):
    alice = as_user(perm, "alice")
    url = run_done(alice, "echo", {"text": "hi"})
    assert alice.get(url + "/results/output").text == "hi"
    assert url.rsplit("/", 1)[1] in alice.list_ids("echo")


def test_create_refused_naming_the_description(perm):
    alice = as_user(perm, "alice")
    before = as_user(perm, "root").list_ids("sleeper")
    for data in ({"secs": "0"}, {"secs": "0", "PHASE": "RUN"}):
        assert_403_naming(alice.post("/rest/sleeper", data=data), "sleeper")
    assert as_user(perm, "root").list_ids("sleeper") == before  # nothing was made


def test_list_of_a_description_not_granted_is_403(perm):
    alice = as_user(perm, "alice")
    r = alice.get("/rest/sleeper")
    assert_403_naming(r, "sleeper")
    assert SLEEPER_403 in r.text
    r = alice.get("/rest/sleeper", headers=JSON)
    assert r.status_code == 403 and "sleeper" in r.json()["message"]


def test_list_across_descriptions_keeps_to_the_granted(perm):
    """GET /rest: alice's own jobs of the descriptions she may run (not her
    sleeper jobs, out of reach since her role changed); bob's own; root's all."""
    alice, bob, root = (as_user(perm, n) for n in ("alice", "bob", "root"))
    mine = run_done(alice, "echo", {"text": "across"}).rsplit("/", 1)[1]
    his = bob.create("sleeper", {"secs": "0"}).rsplit("/", 1)[1]
    sleepers = {u.rsplit("/", 1)[1] for u in (perm.done, perm.pending)}

    def listed(c, owner=None):
        r = c.get("/rest", params={"LAST": "1000"}, headers=JSON)
        assert r.status_code == 200, r.text
        jobs = r.json()["jobs"]
        assert owner is None or {j["ownerId"] for j in jobs} == {owner}
        return {j["jobId"]: j["jobdef"] for j in jobs}

    got = listed(alice, "alice")
    assert got.get(mine) == "echo" and not sleepers & set(got)
    assert set(got.values()) == {"echo"}
    assert listed(bob, "bob").get(his) == "sleeper"
    assert {mine, his} | sleepers <= set(listed(root))


@pytest.mark.parametrize("method,suffix,data", [
    ("GET", "", None), ("GET", "/phase", None), ("GET", "/parameters", None),
    ("GET", "/parameters/secs", None), ("GET", "/results", None),
    ("GET", "/results/output", None), ("GET", "/provjson", None), ("GET", "/prov", None),
    ("POST", "/parameters", {"secs": "1"}), ("POST", "", {"secs": "1"}),
    ("POST", "/phase", {"PHASE": "RUN"}), ("POST", "", {"PHASE": "RUN"})])
def test_jobs_made_before_are_out_of_reach(perm, method, suffix, data):
    alice = as_user(perm, "alice")
    for url in (perm.done, perm.pending):
        assert_403_naming(alice.request(method, url + suffix, data=data), "sleeper")
    assert as_user(perm, "root").phase(perm.pending) == "PENDING"  # nothing changed


def test_entity_and_provsap_of_a_description_not_granted(perm):
    alice, bob = as_user(perm, "alice"), as_user(perm, "bob")
    assert_403_naming(alice.get("/store", params={"ID": perm.entity}), "sleeper")
    assert_403_naming(alice.get(f"/store/{perm.entity}/output.txt"), "sleeper")
    job = perm.done.rsplit("/", 1)[1]
    for ident in (job, perm.entity):
        assert_403_naming(alice.get("/provsap", params={"ID": ident}), "sleeper")
    # ownership first: another user learns nothing more than for an unknown id
    assert_plain_error(bob.get("/store", params={"ID": perm.entity}), 404)
    assert_plain_error(bob.get("/provsap", params={"ID": job}), 404)
    # the owner's admin sees them
    admin = as_user(perm, "root")
    assert admin.get("/store", params={"ID": perm.entity}).status_code == 200
    assert admin.get("/provsap", params={"ID": job, "RESPONSEFORMAT": "PROV-JSON"}
                     ).status_code == 200


def test_upload_to_a_description_not_granted(perm):
    alice = as_user(perm, "alice")
    r = alice.post("/rest/upload", files={"input": ("f.txt", b"x" * 100000)})
    assert_403_naming(r, "upload")
    # the staged file goes when the request completes, just after its answer
    tmp = perm.data_dir / "tmp"
    wait_until(lambda: not tmp.exists() or not any(tmp.iterdir()), 10,
               what="the staged upload removed")


def test_jdl_shows_only_granted(perm):
    alice, bob = as_user(perm, "alice"), as_user(perm, "bob")
    assert alice.get("/jdl").json() == ["echo"]
    assert [o["name"] for o in alice.get("/jdl", params={"detail": "true"}).json()] \
        == ["echo"]
    for suffix in ("", "/json", "/script"):
        assert_403_naming(alice.get("/jdl/sleeper" + suffix), "sleeper")
    assert alice.get("/jdl/echo/json").status_code == 200
    assert {"echo", "sleeper", "upload"} <= set(bob.get("/jdl").json())
    # the home page is the web client: the same static page for everybody,
    # which then asks /jdl (above) what the caller may run
    home = alice.get("/")
    assert home.status_code == 200 and home.text == bob.get("/").text
    assert "sleeper" not in home.text


def test_plain_user_and_admin_run_everything(perm):
    for name in ("bob", "root"):
        c = as_user(perm, name)
        run_done(c, "sleeper", {"secs": "0"})
        assert c.get("/rest/sleeper").status_code == 200


def test_role_change_applies_at_once(perm):
    admin, bob = as_user(perm, "root"), as_user(perm, "bob")
    put_role(admin, "sleepers", ["sleep*", "ech?"])
    set_roles(admin, "bob", ["sleepers"])
    try:
        assert bob.get("/jdl").json() == ["echo", "sleeper"]
        bob.create("sleeper", {"secs": "0"})
        assert_403_naming(bob.post("/rest/choices", data={}), "choices")
    finally:
        set_roles(admin, "bob", ["user"])
    assert bob.get("/rest/choices").status_code == 200


def test_anonymous_role_limits_anonymous(perm):
    admin, anon = as_user(perm, "root"), perm.client()
    put_role(admin, "anonymous", ["echo"])
    try:
        anon.create("echo", {"text": "a"})
        assert_403_naming(anon.post("/rest/sleeper", data={"secs": "0"}), "sleeper")
        assert anon.get("/jdl").json() == ["echo"]
    finally:
        put_role(admin, "anonymous", ["*"])
    anon.create("sleeper", {"secs": "0"})


def test_application_limited_to_its_list(perm):
    admin = as_user(perm, "root")
    token = make_app(admin, "front", ["echo"])
    app = app_client(perm, token, "bob")  # bob himself may run everything
    url = app.create("echo", {"text": "via app"})
    assert as_user(perm, "bob").job(url)["ownerId"] == "bob"
    assert_403_naming(app.post("/rest/sleeper", data={"secs": "0"}), "sleeper")
    assert_403_naming(app.get("/rest/sleeper"), "sleeper")
    assert app.get("/jdl").json() == ["echo"]
    # bob's own sleeper job is out of the application's reach
    bob_job = as_user(perm, "bob").create("sleeper", {"secs": "0"})
    assert_403_naming(app.get(bob_job), "sleeper")


# ---- checks off: as before issue 13, but for an application's own list

@pytest.fixture(scope="module")
def open_daemon(module_factory):
    d = module_factory(users=[("alice", False), ("root", True)], name="open")
    admin = as_user(d, "root")
    put_role(admin, "echoers", ["echo"])
    set_roles(admin, "alice", ["echoers"])
    return d


def test_checks_off_every_user_runs_every_description(open_daemon):
    alice = as_user(open_daemon, "alice")
    url = run_done(alice, "sleeper", {"secs": "0"})
    assert alice.get(url + "/results/output").status_code == 200
    assert alice.get("/rest/sleeper").status_code == 200
    assert {"echo", "sleeper"} <= set(alice.get("/jdl").json())
    assert alice.get("/jdl/sleeper").status_code == 200


def test_checks_off_application_list_still_applies(open_daemon):
    token = make_app(as_user(open_daemon, "root"), "front", ["echo"])
    app = app_client(open_daemon, token, "alice")
    app.create("echo", {"text": "x"})
    assert_403_naming(app.post("/rest/sleeper", data={"secs": "0"}), "sleeper")
    assert app.get("/jdl").json() == ["echo"]


# ---- descriptions disabled for maintenance

def set_enabled(admin, name, enabled):
    r = admin.put(f"/admin/jdl/{name}", json={"enabled": enabled})
    assert r.status_code in (200, 204), f"PUT /admin/jdl/{name}: {r.status_code} {r.text}"


def test_disabled_description(open_daemon):
    admin, alice = as_user(open_daemon, "root"), as_user(open_daemon, "alice")
    done = run_done(alice, "sleeper", {"secs": "0"})
    pending = alice.create("sleeper", {"secs": "0"})
    set_enabled(admin, "sleeper", False)
    try:
        for c in (alice, admin):
            r = c.post("/rest/sleeper", data={"secs": "0", "PHASE": "RUN"})
            assert_plain_error(r, 403)
            assert "job description sleeper is disabled for maintenance" in r.text
        r = alice.post(pending + "/phase", data={"PHASE": "RUN"})
        assert_plain_error(r, 403)
        assert "disabled for maintenance" in r.text
        assert alice.phase(pending) == "PENDING"
        # its jobs keep working otherwise
        assert alice.get(done + "/results/output").status_code == 200
        assert alice.post(pending + "/parameters", data={"secs": "1"}).status_code == 303
        assert pending.rsplit("/", 1)[1] in alice.list_ids("sleeper")
        # listed for everyone, with enabled=false
        assert "sleeper" in alice.get("/jdl").json()
        detail = {o["name"]: o["enabled"]
                  for o in alice.get("/jdl", params={"detail": "true"}).json()}
        assert detail["sleeper"] is False and detail["echo"] is True
        assert alice.delete(pending).status_code == 303
    finally:
        set_enabled(admin, "sleeper", True)
    assert {o["name"]: o["enabled"] for o in alice.get("/jdl", params={"detail": "1"}).json()
            }["sleeper"] is True
    run_done(alice, "sleeper", {"secs": "0"})


# ---- submitting descriptions for review

def test_role_with_submit_stages_but_does_not_validate(perm):
    admin, bob, alice = as_user(perm, "root"), as_user(perm, "bob"), as_user(perm, "alice")
    doc = (perm.jdl_dir / "echo.xml").read_text().replace('"echo"', '"proposed"')
    assert_plain_error(bob.post("/jdl", data={"name": "proposed", "xml": doc}), 403)
    put_role(admin, "submitters", [], submit=True)
    set_roles(admin, "bob", ["user", "submitters"])
    try:
        r = bob.post("/jdl", data={"name": "proposed", "xml": doc})
        assert r.status_code == 303, r.text
        assert bob.get("/jdl/tmp/proposed").status_code == 200
        assert_plain_error(bob.post("/jdl/tmp/proposed/validate"), 403)
        assert_plain_error(alice.get("/jdl/tmp/proposed"), 403)
        assert "proposed" not in admin.get("/jdl").json()
        assert admin.post("/jdl/tmp/proposed/validate").status_code == 303
        assert "proposed" in admin.get("/jdl").json()
    finally:
        set_roles(admin, "bob", ["user"])
