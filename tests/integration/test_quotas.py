"""Quotas (issue 13), per user (PATCH /users/{name} quota) or per role (the
most generous of a user's roles; the user's own where set): jobs stored and
bytes of results stored refuse a create (and, for bytes, a RUN) with a 403
naming the quota and the figures; jobs executing at once never refuse
anything: a job past it is accepted and waits QUEUED until one of its owner's
running jobs ends, while other users' jobs go on starting. Usage totals are
kept by the store as jobs change: deleting jobs frees the quota at once.

The tests wait for events (WAIT with a PHASE guard), never for fixed times.
"""
import pytest

from conftest import assert_plain_error

JSON = {"Accept": "application/json"}


def as_user(d, name):
    return d.client(auth=(name, d.tokens[name]))


def set_quota(admin, user, **quota):
    r = admin.patch(f"/users/{user}", json={"quota": quota})
    assert r.status_code in (200, 204), f"PATCH {user} quota: {r.status_code} {r.text}"


def put_role(admin, name, quota):
    r = admin.put(f"/admin/roles/{name}", json={"name": name, "run": ["*"], "quota": quota})
    assert r.status_code in (200, 201, 204), f"PUT role {name}: {r.status_code} {r.text}"


def set_roles(admin, user, roles):
    r = admin.patch(f"/users/{user}", json={"roles": roles})
    assert r.status_code in (200, 204), f"PATCH {user} roles: {r.status_code} {r.text}"


def waited(c, url, phase, secs):
    """The job's phase after a WAIT of at most secs while it is in phase."""
    r = c.get(url, params={"WAIT": str(secs), "PHASE": phase}, headers=JSON)
    assert r.status_code == 200, r.text
    return r.json()["phase"]


def assert_quota_403(r, quota, *figures):
    assert_plain_error(r, 403)
    assert f"quota {quota}" in r.text, r.text
    for f in figures:
        assert str(f) in r.text, r.text


@pytest.fixture(scope="module")
def qd(module_factory):
    return module_factory(config={"jobs": {"max_running": "6"}},
                          users=[("alice", False), ("bob", False), ("carol", False),
                                 ("dave", False), ("erin", False), ("root", True)])


def test_max_jobs_per_user(qd):
    admin, alice = as_user(qd, "root"), as_user(qd, "alice")
    set_quota(admin, "alice", max_jobs=2)
    urls = [alice.create("echo", {"text": str(i)}) for i in range(2)]
    for data in ({"text": "3"}, {"text": "3", "PHASE": "RUN"}):
        assert_quota_403(alice.post("/rest/echo", data=data), "max_jobs", 2)
    assert len(alice.list_ids("echo")) == 2
    # another user is not limited by alice's quota
    as_user(qd, "bob").create("echo", {"text": "b"})
    # deleting a job frees its place at once (usage kept by the store)
    assert alice.delete(urls[0]).status_code == 303
    alice.create("echo", {"text": "again"})
    assert_quota_403(alice.post("/rest/echo", data={}), "max_jobs")
    set_quota(admin, "alice", max_jobs=0)  # 0 = none
    alice.create("echo", {"text": "free"})


def test_max_jobs_per_role_most_generous_wins(qd):
    admin, carol = as_user(qd, "root"), as_user(qd, "carol")
    put_role(admin, "one-job", {"max_jobs": 1})
    put_role(admin, "two-jobs", {"max_jobs": 2})
    set_roles(admin, "carol", ["one-job"])
    carol.create("echo", {"text": "1"})
    assert_quota_403(carol.post("/rest/echo", data={}), "max_jobs", 1)
    set_roles(admin, "carol", ["one-job", "two-jobs"])
    carol.create("echo", {"text": "2"})
    assert_quota_403(carol.post("/rest/echo", data={}), "max_jobs", 2)
    set_roles(admin, "carol", ["one-job", "user"])  # "user" has none: none wins
    carol.create("echo", {"text": "3"})
    # the user's own quota, where set, wins over its roles'
    set_quota(admin, "carol", max_jobs=3)
    assert_quota_403(carol.post("/rest/echo", data={}), "max_jobs", 3)


def test_max_bytes_at_create_and_run(qd):
    admin, dave = as_user(qd, "root"), as_user(qd, "dave")
    pending = dave.create("echo", {"text": "later"})
    set_quota(admin, "dave", max_bytes=100)
    url = dave.create("echo", {"text": "x" * 500}, run=True)
    assert dave.wait_for_phase(url, "COMPLETED", timeout=30) == "COMPLETED"
    r = dave.post("/rest/echo", data={"text": "more"})
    assert_quota_403(r, "max_bytes", 100)
    r = dave.post(pending + "/phase", data={"PHASE": "RUN"})
    assert_quota_403(r, "max_bytes", 100)
    assert dave.phase(pending) == "PENDING"
    # freeing the bytes lets it run
    assert dave.delete(url).status_code == 303
    dave.set_phase(pending, "RUN")
    assert dave.wait_for_phase(pending, "COMPLETED", timeout=30) == "COMPLETED"


def test_max_running_waits_queued(qd):
    admin, erin, bob = as_user(qd, "root"), as_user(qd, "erin"), as_user(qd, "bob")
    set_quota(admin, "erin", max_running=1)
    first = erin.create("sleeper", {"secs": "60"}, run=True)
    assert erin.wait_for_phase(first, "EXECUTING", timeout=20) == "EXECUTING"
    second = erin.create("sleeper", {"secs": "0"}, run=True)  # accepted: 303
    third = erin.create("sleeper", {"secs": "0"})
    erin.set_phase(third, "RUN")  # a RUN is accepted too, never a 429
    # others' jobs start meanwhile: the queue passes erin's over
    other = bob.create("sleeper", {"secs": "0"}, run=True)
    assert bob.wait_for_phase(other, "COMPLETED", timeout=20) == "COMPLETED"
    assert erin.phase(second) == "QUEUED"
    assert erin.phase(third) == "QUEUED"
    # a slot of erin's frees: the next of hers starts, in order
    erin.set_phase(first, "ABORT")
    assert waited(erin, second, "QUEUED", 20) in ("EXECUTING", "COMPLETED")
    assert erin.wait_for_phase(second, "COMPLETED", timeout=20) == "COMPLETED"
    assert erin.wait_for_phase(third, "COMPLETED", timeout=20) == "COMPLETED"


def test_admin_without_quota_is_not_limited(qd):
    admin = as_user(qd, "root")
    for i in range(3):
        admin.create("echo", {"text": str(i)})
