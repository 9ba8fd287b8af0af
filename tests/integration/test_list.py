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


# ---- what the JSON list carries beyond UWS's jobref; the XML list stays UWS 1.1

def test_json_list_carries_the_times_a_list_page_shows(client, jobs):
    r = client.get("/rest/echo", headers={"Accept": "application/json"})
    assert r.status_code == 200
    by_id = {j["jobId"]: j for j in r.json()["jobs"]}
    assert set(by_id) == set(jobs.values())
    for key, jid in jobs.items():
        doc = client.job(f"/rest/echo/{jid}")
        row = by_id[jid]
        for field in ("phase", "runId", "ownerId", "creationTime", "startTime", "endTime",
                      "destruction"):
            assert row[field] == doc.get(field), (key, field, row, doc)
    assert by_id[jobs["c"]]["startTime"] and by_id[jobs["c"]]["endTime"]
    assert by_id[jobs["p1"]]["startTime"] is None


def test_xml_list_has_only_jobref_content(client, jobs):
    root = validate_uws(client.get("/rest/echo", params={"LAST": "3"}).content)
    for ref in root.iterfind("uws:jobref", NS):
        names = {child.tag.split("}")[1] for child in ref}
        assert names <= {"phase", "runId", "ownerId", "creationTime"}, names


# ---- BEFORE / SINCE: keyset paging newest first (opusd extension)

def _pos(j):
    return f"{j['creationTime']},{j['jobId']}"


def _json_list(c, jobdef, params):
    """The JSON list of one description, or of every one (jobdef "")."""
    r = c.get(f"/rest/{jobdef}" if jobdef else "/rest", params=params, headers={"Accept": "application/json"})
    assert r.status_code == 200, (params, r.status_code, r.text[:300])
    return r.json()["jobs"]


@pytest.fixture(scope="module")
def tied(module_factory):
    """A daemon whose 31 `echo` jobs share 3 creation times (11, 11 and 9 jobs
    created "in the same millisecond"): made through the API, then their
    creation times set in the store while the daemon is stopped. Returns
    (daemon, ids newest first as the list orders them)."""
    d = module_factory(name="tied")
    c = d.client()
    made = [c.create("echo").rsplit("/", 1)[1] for _ in range(31)]
    for k in range(0, 31, 4):
        c.set_phase(f"/rest/echo/{made[k]}", "ABORT")
    c.close()
    d.stop()
    for i, jid in enumerate(made):
        d.db_exec("UPDATE jobs SET creation_time = ? WHERE id = ?",
                  (1764000000000 + 1000 * (i // 11), jid))
    d.start()
    # newest first: by time, then by id
    order = sorted(made, key=lambda j: (1764000000000 + 1000 * (made.index(j) // 11), j),
                   reverse=True)
    return d, order


@pytest.mark.parametrize("size", [1, 4, 10, 11, 30])
def test_before_pages_through_ties_losing_and_repeating_none(tied, size):
    d, order = tied
    c = d.client()
    seen, params = [], {"LAST": str(size)}
    for _ in range(40):
        page = _json_list(c, "echo", params)
        assert len(page) <= size
        if not page:
            break
        seen += [j["jobId"] for j in page]
        params = {"LAST": str(size), "BEFORE": _pos(page[-1])}
    c.close()
    assert seen == order


def test_since_pages_back_up_to_the_first_page(tied):
    d, order = tied
    c = d.client()
    full = _json_list(c, "echo", {"LAST": "31"})
    assert [j["jobId"] for j in full] == order
    bottom = full[-1:]
    # from the oldest job, pages of 4 upwards: each the 4 just newer, newest first
    got, cursor = [], bottom[0]
    for _ in range(20):
        page = _json_list(c, "echo", {"LAST": "4", "SINCE": _pos(cursor)})
        if not page:
            break
        got = [j["jobId"] for j in page] + got
        cursor = page[0]
    # SINCE without LAST: every newer job, newest first
    all_newer = _json_list(c, "echo", {"SINCE": _pos(bottom[0])})
    c.close()
    assert got == order[:-1]
    assert [j["jobId"] for j in all_newer] == order[:-1]


def test_positions_combine_with_phase_after_and_xml(tied):
    d, order = tied
    c = d.client()
    pending = [j["jobId"] for j in _json_list(c, "echo", {"PHASE": "PENDING", "LAST": "100"})]
    assert len(pending) == 31 - 8
    seen, params = [], {"PHASE": "PENDING", "LAST": "3"}
    while True:
        page = _json_list(c, "echo", params)
        if not page:
            break
        assert all(j["phase"] == "PENDING" for j in page)
        seen += [j["jobId"] for j in page]
        params = {"PHASE": "PENDING", "LAST": "3", "BEFORE": _pos(page[-1])}
    assert seen == pending
    # the same positions in the XML list (schema-valid, the same jobs)
    first = _json_list(c, "echo", {"LAST": "5"})
    assert c.list_ids("echo", {"LAST": "5", "BEFORE": _pos(first[1])}) == order[2:7]
    # a time alone is a strict bound: the 11 oldest share the oldest time
    older = _json_list(c, "echo", {"BEFORE": "2025-11-24T16:00:01Z"})
    assert [j["jobId"] for j in older] == order[20:]
    assert [j["jobId"] for j in _json_list(c, "echo", {"SINCE": "2025-11-24T16:00:01Z"})] \
        == order[:9]
    # AFTER and BEFORE together: the middle millisecond's 11 jobs
    mid = _json_list(c, "echo", {"AFTER": "2025-11-24T16:00:00.500Z",
                                 "BEFORE": "2025-11-24T16:00:01.500Z"})
    assert [j["jobId"] for j in mid] == order[9:20]
    c.close()


@pytest.mark.parametrize("params", [
    {"BEFORE": ""}, {"BEFORE": "yesterday"}, {"BEFORE": ","},
    {"BEFORE": "2026-01-01T00:00:00.000Z,"},
    {"BEFORE": "2026-01-01T00:00:00.000Z,NOTANID"},
    {"BEFORE": "2026-01-01T00:00:00.000Z," + "A" * 32},
    {"BEFORE": "2026-01-01T00:00:00.000Z," + "a" * 5},  # ids: 6 to 32 digits
    {"BEFORE": "2026-01-01T00:00:00.000Z," + "a" * 33},
    {"BEFORE": "," + "a" * 32},
    {"SINCE": "2026-13-01T00:00:00Z"}, {"SINCE": ""},
    {"SINCE": "2026-01-01T00:00:00.000Z;" + "a" * 32},
])
def test_bad_positions_are_400(client, jobs, params):
    r = client.get("/rest/echo", params=params)
    assert_plain_error(r, 400)
    assert next(iter(params)) in r.text


# ---- GET /rest: one list across every description (opusd extension)

@pytest.fixture(scope="module")
def mixed(module_factory):
    """A daemon with 12 jobs of three descriptions, made in turn (echo,
    choices, sleeper), 3 of them aborted. Returns (daemon, {id: jobdef})."""
    d = module_factory(name="mixed")
    c = d.client()
    made = {}
    for i in range(12):
        jobdef = ("echo", "choices", "sleeper")[i % 3]
        url = c.create(jobdef, {"secs": "0"} if jobdef == "sleeper" else None)
        if i % 4 == 0:
            c.set_phase(url, "ABORT")
        made[url.rsplit("/", 1)[1]] = jobdef
    c.close()
    return d, made


def _newest_first(jobs):
    return sorted(jobs, key=lambda j: (j["creationTime"], j["jobId"]), reverse=True)


def test_every_description_in_one_list_newest_first(mixed):
    d, made = mixed
    c = d.client()
    jobs = _json_list(c, "", {"LAST": "100"})
    assert {j["jobId"]: j["jobdef"] for j in jobs} == made
    assert jobs == _newest_first(jobs)
    for j in jobs:
        assert j["href"].endswith(f"/rest/{j['jobdef']}/{j['jobId']}")
    # the XML list: schema-valid, the same jobs, each jobref to its own description
    root = validate_uws(c.get("/rest").content)
    refs = {r.get("id"): r.get("{http://www.w3.org/1999/xlink}href")
            for r in root.iterfind("uws:jobref", NS)}
    assert set(refs) == set(made)
    for jid, href in refs.items():
        assert href.endswith(f"/rest/{made[jid]}/{jid}")
    c.close()


@pytest.mark.parametrize("size", [1, 5, 12])
def test_every_description_pages_with_before(mixed, size):
    d, made = mixed
    c = d.client()
    order = [j["jobId"] for j in _json_list(c, "", {"LAST": "100"})]
    seen, params = [], {"LAST": str(size)}
    for _ in range(20):
        page = _json_list(c, "", params)
        if not page:
            break
        seen += [j["jobId"] for j in page]
        params = {"LAST": str(size), "BEFORE": _pos(page[-1])}
    c.close()
    assert seen == order and len(order) == 12


def test_every_description_since_and_phase(mixed):
    d, made = mixed
    c = d.client()
    full = _json_list(c, "", {"LAST": "100"})
    near = _json_list(c, "", {"LAST": "3", "SINCE": _pos(full[-1])})
    assert [j["jobId"] for j in near] == [j["jobId"] for j in full[-4:-1]]
    aborted = _json_list(c, "", {"PHASE": "ABORTED"})
    assert {j["jobId"] for j in aborted} == {j for i, j in enumerate(made) if i % 4 == 0}
    c.close()


@pytest.mark.parametrize("params", [{"PHASE": "DONE"}, {"LAST": "0"},
                                    {"BEFORE": "yesterday"}])
def test_every_description_bad_filters_are_400(mixed, params):
    c = mixed[0].client()
    assert_plain_error(c.get("/rest", params=params), 400)
    c.close()


def test_every_description_list_is_read_only(mixed):
    d, made = mixed
    c = d.client()
    r = c.post("/rest", data={"text": "x"})
    assert r.status_code == 405 and "GET" in r.headers.get("Allow", "")
    assert len(_json_list(c, "", {"LAST": "100"})) == len(made)  # nothing made
    c.close()
