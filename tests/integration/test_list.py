"""Job list filters of GET /rest/{jobdef}: PHASE (repeatable, union; ARCHIVED
only when asked), AFTER (ISO 8601, reduced precision, strictly after), LAST
(newest N, newest first), their AND combination, and 400 for bad values.

The module's daemon is fresh, so the lists hold exactly the jobs made here.
"""
import time

import pytest

from conftest import NS, assert_plain_error, parse_time, validate_uws


@pytest.fixture(scope="module")
def jobs(daemon):
    """Five jobs, created >= 30 ms apart: p1, p2 PENDING; c COMPLETED; a ABORTED;
    late PENDING created > 1.1 s after the others."""
    c = daemon.client()
    made = {}
    made["p1"] = c.create("echo")
    time.sleep(0.03)
    made["c"] = c.create("echo", run=True)
    time.sleep(0.03)
    made["a"] = c.create("echo")
    c.set_phase(made["a"], "ABORT")
    time.sleep(0.03)
    made["p2"] = c.create("echo")
    c.wait_for_phase(made["c"], "COMPLETED")
    time.sleep(1.1)
    made["late"] = c.create("echo")
    c.close()
    return {k: v.rsplit("/", 1)[1] for k, v in made.items()}


def test_unfiltered_lists_all(client, jobs):
    ids = client.list_ids("echo")
    assert set(ids) == set(jobs.values())


def test_jobref_content(client, jobs):
    root = validate_uws(client.get("/rest/echo").content)
    phases = {j.get("id"): j.findtext("uws:phase", namespaces=NS)
              for j in root.iterfind("uws:jobref", NS)}
    assert phases[jobs["c"]] == "COMPLETED"
    assert phases[jobs["a"]] == "ABORTED"
    assert phases[jobs["p1"]] == "PENDING"
    assert "ARCHIVED" not in phases.values()


def test_phase_filter(client, jobs):
    assert set(client.list_ids("echo", {"PHASE": "PENDING"})) == \
        {jobs["p1"], jobs["p2"], jobs["late"]}
    assert client.list_ids("echo", {"PHASE": "COMPLETED"}) == [jobs["c"]]
    assert client.list_ids("echo", {"PHASE": "EXECUTING"}) == []


def test_phase_filter_repeated_is_union(client, jobs):
    got = client.list_ids("echo", [("PHASE", "COMPLETED"), ("PHASE", "ABORTED")])
    assert set(got) == {jobs["c"], jobs["a"]}


def test_phase_archived_only_when_asked(client, jobs):
    assert client.list_ids("echo", {"PHASE": "ARCHIVED"}) == []


def test_after_filter(client, jobs):
    late_doc = client.job(f"/rest/echo/{jobs['late']}")
    p2_doc = client.job(f"/rest/echo/{jobs['p2']}")
    # strictly after: a job's own creation time excludes it
    assert client.list_ids("echo", {"AFTER": p2_doc["creationTime"]}) == [jobs["late"]]
    assert client.list_ids("echo", {"AFTER": late_doc["creationTime"]}) == []
    # a time between p2 and late, at second precision
    t = parse_time(p2_doc["creationTime"]).timestamp()
    mid = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(t) + 1))
    assert parse_time(late_doc["creationTime"]).timestamp() > int(t) + 1
    assert client.list_ids("echo", {"AFTER": mid}) == [jobs["late"]]


@pytest.mark.parametrize("after,expect_all", [("2000", True), ("2000-01-01T00:00Z", True),
                                               ("2999", False), ("2999-11-22T10:00Z", False),
                                               ("2000-06", True),
                                               ("2000-01-01T00:00:00+02:00", True),
                                               ("2999-01-01T00:00:00.5-05:00", False)])
def test_after_reduced_precision(client, jobs, after, expect_all):
    got = client.list_ids("echo", {"AFTER": after})
    assert set(got) == (set(jobs.values()) if expect_all else set())


def test_last_newest_first(client, jobs):
    assert client.list_ids("echo", {"LAST": "2"}) == [jobs["late"], jobs["p2"]]
    assert client.list_ids("echo", {"LAST": "1"}) == [jobs["late"]]
    assert len(client.list_ids("echo", {"LAST": "100"})) == 5
    assert client.list_ids("echo", {"LAST": "100"})[-1] == jobs["p1"]


def test_last_zero(client, jobs):
    r = client.get("/rest/echo", params={"LAST": "0"})
    # LAST=0 is either "no jobs" or rejected; never a server error
    assert r.status_code in (200, 400), r.status_code


def test_filters_combine_with_and(client, jobs):
    assert client.list_ids("echo", {"PHASE": "PENDING", "LAST": "2"}) == \
        [jobs["late"], jobs["p2"]]
    p1_doc = client.job(f"/rest/echo/{jobs['p1']}")
    got = client.list_ids("echo", [("PHASE", "PENDING"), ("PHASE", "COMPLETED"),
                                   ("AFTER", p1_doc["creationTime"])])
    assert set(got) == {jobs["c"], jobs["p2"], jobs["late"]}
    got = client.list_ids("echo", [("PHASE", "PENDING"), ("AFTER", p1_doc["creationTime"]),
                                   ("LAST", "1")])
    assert got == [jobs["late"]]


@pytest.mark.parametrize("params", [{"PHASE": "FOO"}, {"PHASE": ""}, {"AFTER": "yesterday"},
                                    {"AFTER": "2026-13-45"}, {"LAST": "-1"}, {"LAST": "abc"},
                                    {"LAST": "1.5"}, {"LAST": ""},
                                    [("PHASE", "PENDING"), ("PHASE", "NOPE")]])
def test_bad_filters_are_400(client, jobs, params):
    assert_plain_error(client.get("/rest/echo", params=params), 400)
