"""The entity store (issue 12, sections 1 and 2): every file that enters or
leaves a job is an entity whose bytes are stored once, content-addressed,
under data_dir/store/sha256/, and linked into job directories; inputs with the
bytes of an entity the same user has are recognised as that entity; every
final job (COMPLETED, ERROR, ABORTED) has its activity; DELETE keeps the
provenance, destruction archives.

What the store keeps is read from the daemon's SQLite database, read-only and
without assuming its table layout: a row "mentions" a value when one of its
columns equals it. A job row goes with DELETE, so what still mentions a
deleted job's id is its provenance.
"""
import hashlib
import os
import re

import pytest

from conftest import PROV_LINKS, wait_until

ENTITY_RE = re.compile(r"^e[0-9a-f]{32}$")
SHA_RE = re.compile(r"^[0-9a-f]{64}$")
# a phase as the store may keep it: its name, or its place in the UWS list
PHASES = ("PENDING", "QUEUED", "EXECUTING", "COMPLETED", "ERROR", "ABORTED", "UNKNOWN",
          "HELD", "SUSPENDED", "ARCHIVED")
JSON = {"Accept": "application/json"}
MB = 1024 * 1024


def blob_path(daemon, sha):
    return daemon.data_dir / "store" / "sha256" / sha[:2] / sha


def run(client, jobdef, data=None, files=None, final=("COMPLETED",)):
    url = client.create(jobdef, data=data, files=files, run=True)
    phase = client.wait_for_phase(url, ("COMPLETED", "ERROR", "ABORTED"), timeout=30)
    assert phase in final, f"{url}: {phase}: {client.get(url + '/error').text}"
    return url


def job_id(url):
    return url.rsplit("/", 1)[1]


def db_rows(daemon):
    """Every row of every table, as tuples of column values."""
    rows = []
    for t in daemon.db_tables():
        assert re.fullmatch(r"\w+", t), t  # a table name of the schema, not input
        rows += daemon.db_query(f'SELECT * FROM "{t}"')
    return rows


def mentioning(daemon, *values):
    return [r for r in db_rows(daemon) if all(v in r for v in values)]


def entity_ids_in(rows):
    return {v for r in rows for v in r if isinstance(v, str) and ENTITY_RE.match(v)}


def result_entity(daemon, client, url, rid="output"):
    """The entity id and sha256 of a job's result: from the job's JSON when it
    carries them, else the entity of the rows that mention the job and the
    result, with the digest of the result's bytes."""
    res = {r["id"]: r for r in client.get(url, headers=JSON).json()["results"]}[rid]
    if res.get("entity_id"):
        return res["entity_id"], res["sha256"]
    ids = entity_ids_in(mentioning(daemon, job_id(url), rid))
    assert len(ids) == 1, f"{url}/{rid}: entities {ids}"
    body = client.get(url + "/results/" + rid).content
    return ids.pop(), hashlib.sha256(body).hexdigest()


def disk_usage(root, skip=()):
    """Bytes allocated below root, each inode counted once (hard links); the
    top-level names in skip are left out."""
    seen, total = set(), 0
    for dirpath, dirnames, filenames in os.walk(root):
        if dirpath == str(root):
            dirnames[:] = [n for n in dirnames if n not in skip]
            filenames = [n for n in filenames if not n.startswith(skip)]
        for name in dirnames + filenames:
            st = os.lstat(os.path.join(dirpath, name))
            if (st.st_dev, st.st_ino) not in seen:
                seen.add((st.st_dev, st.st_ino))
                total += st.st_blocks * 512
    return total


@pytest.fixture
def two_users(daemon_factory):
    return daemon_factory(users=[("alice", False), ("bob", False)])


def as_user(d, name):
    return d.client(auth=(name, d.tokens[name]))


def test_ten_uploads_of_one_file_are_stored_once(daemon_factory):
    d = daemon_factory()
    c = d.client()
    data = os.urandom(10 * MB)
    sha = hashlib.sha256(data).hexdigest()
    urls = [c.create("upload", files={"input": ("big.bin", data)}, run=True)
            for _ in range(10)]
    for u in urls:
        assert c.wait_for_phase(u, ("COMPLETED", "ERROR"), timeout=60) == "COMPLETED"
    blob = blob_path(d, sha)
    assert blob.is_file() and (blob.stat().st_mode & 0o777) == 0o444
    # each job's input and its output (a copy of it) are links to the one blob
    for u in urls:
        jdir = d.job_dir(job_id(u))
        assert (jdir / "input").stat().st_ino == blob.stat().st_ino
        assert (jdir / "output.txt").stat().st_ino == blob.stat().st_ino
    assert blob.stat().st_nlink == 21
    # the files: job directories, the entity store, staged uploads (the
    # database, with its write-ahead log, is counted apart)
    used = disk_usage(d.data_dir, skip=("opusd.db",))
    db = disk_usage(d.data_dir) - used
    print(f"ten jobs uploading the same 10 MB file: {used / MB:.1f} MB of files under "
          f"data_dir, {db / MB:.1f} MB of database (20 copies would be 200 MB)")
    assert used < 11 * MB, f"{used} bytes of files under {d.data_dir}"


def test_result_sha256_is_the_digest_of_its_bytes(daemon_factory):
    d = daemon_factory()
    c = d.client()
    url = run(c, "echo", {"text": "digest me"})
    job = c.get(url, headers=JSON).json()
    assert {r["id"] for r in job["results"]} - set(PROV_LINKS) == {"output", "stdout", "stderr"}
    for r in job["results"]:
        if r["id"] in PROV_LINKS:  # documents made on request, not entities
            continue
        body = c.get(url + "/results/" + r["id"]).content
        if r.get("sha256"):  # the job's JSON carries them
            sha = r["sha256"]
            assert ENTITY_RE.match(r["entity_id"]), r
        else:  # else what the store recorded for the result
            shas = {v for row in mentioning(d, job_id(url), r["id"]) for v in row
                    if isinstance(v, str) and SHA_RE.match(v)}
            assert len(shas) == 1, f"{r['id']}: {shas}"
            sha = shas.pop()
        assert sha == hashlib.sha256(body).hexdigest(), r
        assert blob_path(d, sha).is_file()


def test_reupload_of_a_result_is_recognised_for_its_owner_only(two_users):
    d = two_users
    alice, bob = as_user(d, "alice"), as_user(d, "bob")
    first = run(alice, "echo", {"text": "lineage across a re-upload"})
    body = alice.get(first + "/results/output").content
    eid, sha = result_entity(d, alice, first)
    assert sha == hashlib.sha256(body).hexdigest()
    again = run(alice, "upload", files={"input": ("downloaded.txt", body)})
    # alice's new job uses her earlier result's entity (recognised)
    assert eid in entity_ids_in(mentioning(d, job_id(again))), \
        "the re-uploaded result was not recognised as its entity"
    theirs = run(bob, "upload", files={"input": ("downloaded.txt", body)})
    # bob's identical upload is an entity of his own, never alice's
    assert eid not in entity_ids_in(mentioning(d, job_id(theirs)))
    assert mentioning(d, "upload:downloaded.txt"), "the upload's source is not recorded"
    # the bytes are stored once all the same
    assert (d.job_dir(job_id(theirs)) / "input").stat().st_ino == \
        blob_path(d, sha).stat().st_ino


def test_entity_id_is_an_input_reference_of_its_owner(two_users):
    d = two_users
    alice, bob = as_user(d, "alice"), as_user(d, "bob")
    first = run(alice, "echo", {"text": "by entity id"})
    eid, sha = result_entity(d, alice, first)
    second = run(alice, "upload", {"input": eid})
    assert alice.get(second + "/results/output").content == b"by entity id"
    # linked from the blob, not copied
    assert (d.job_dir(job_id(second)) / "input").stat().st_ino == \
        blob_path(d, sha).stat().st_ino
    assert eid in entity_ids_in(mentioning(d, job_id(second)))
    # another user's entity is refused exactly like an unknown one
    unknown = "e" + "0" * 32
    r1 = bob.post("/rest/upload", data={"input": eid})
    r2 = bob.post("/rest/upload", data={"input": unknown})
    assert r1.status_code == r2.status_code == 400
    assert r1.text.replace(eid, "X") == r2.text.replace(unknown, "X")


def test_error_and_aborted_jobs_have_activities_kept_after_delete(daemon_factory):
    d = daemon_factory()
    c = d.client()
    failed = run(c, "failer", final=("ERROR",))
    pending = c.create("sleeper")
    c.set_phase(pending, "ABORT")
    running = c.create("sleeper", run=True)
    c.wait_for_phase(running, "EXECUTING")
    c.set_phase(running, "ABORT")
    c.wait_for_phase(running, "ABORTED")
    # its end (results, activity) is recorded once its processes are gone
    wait_until(lambda: c.get(running, headers=JSON).json()["results"], 10,
               what="the aborted run's end")
    ids = [job_id(u) for u in (failed, pending, running)]
    for u in (failed, pending, running):
        r = c.delete(u)
        assert r.status_code == 303, r.text
        assert c.get(u).status_code == 404
    # the job rows are gone; their activities stay, with their phases
    for jid, phase in zip(ids, ("ERROR", "ABORTED", "ABORTED")):
        rows = mentioning(d, jid)
        assert rows, f"job {jid}: no provenance left after DELETE"
        assert any(phase in r or PHASES.index(phase) in r for r in rows), \
            f"job {jid}: no {phase} activity in {rows}"


def test_delete_keeps_provenance_and_frees_the_blobs(daemon_factory):
    d = daemon_factory()
    c = d.client()
    url = run(c, "echo", {"text": "only in this job " + os.urandom(8).hex()})
    body = c.get(url + "/results/output").content
    blob = blob_path(d, hashlib.sha256(body).hexdigest())
    assert blob.is_file()
    assert c.delete(url).status_code == 303
    wait_until(lambda: not d.job_dir(job_id(url)).exists() and not blob.exists(), 10,
               what="the job's files and its only blob gone")
    assert c.get(url).status_code == 404
    assert mentioning(d, job_id(url)), "DELETE erased the provenance"


def test_destruction_archives(daemon_factory):
    d = daemon_factory()
    c = d.client()
    url = run(c, "echo", {"text": "archived " + os.urandom(8).hex()})
    body = c.get(url + "/results/output").content
    blob = blob_path(d, hashlib.sha256(body).hexdigest())
    r = c.post(url + "/destruction", data={"DESTRUCTION": "2000-01-01T00:00:00Z"})
    assert r.status_code == 303, r.text
    c.wait_for_phase(url, "ARCHIVED", timeout=10)
    wait_until(lambda: not d.job_dir(job_id(url)).exists() and not blob.exists(), 10,
               what="the archived job's files and its only blob gone")
    # the record stays, listed with PHASE=ARCHIVED only
    assert job_id(url) in c.list_ids("echo", {"PHASE": "ARCHIVED"})
    assert job_id(url) not in c.list_ids("echo")
    assert c.job(url)["phase"] == "ARCHIVED"
    assert mentioning(d, job_id(url)), "destruction erased the provenance"
