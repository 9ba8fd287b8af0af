"""`opusd import-opus` (issue 16 point 3): an OPUS site's job database and
folders brought into opusd's store.

OPUS itself cannot run here, so the test builds an OPUS-shaped SQLite
database with the tables and columns of OPUS's uws_server/storage.py
(SQLAlchemy on SQLite: DateTime as String(19), Boolean as String(5)) and
OPUS's folders (VAR_PATH/db, VAR_PATH/jobdata/{jobid}/stdout.log,
VAR_PATH/results/{jobid}/{file}), with OPUS's 6-digit ids (uuid4 tails),
jobs in several phases, parameters, results, entities, users (one admin)
and bad rows. Everything is checked through the REST API, the users by
signing in with the re-issued tokens.
"""
import hashlib
import sqlite3
import stat

import pytest

# uws_server/storage.py, SQLAlchemyJobStorage, as SQLAlchemy creates it on SQLite
OPUS_SCHEMA = """
CREATE TABLE jobs (
    jobid VARCHAR(80) NOT NULL, jobname VARCHAR(255), phase VARCHAR(10), quote INTEGER,
    execution_duration INTEGER, error TEXT, creation_time VARCHAR(19),
    start_time VARCHAR(19), end_time VARCHAR(19), destruction_time VARCHAR(19),
    owner VARCHAR(64), owner_token VARCHAR(128), run_id VARCHAR(64), process_id BIGINT,
    PRIMARY KEY (jobid));
CREATE TABLE job_parameters (
    jobid VARCHAR(80) NOT NULL, name VARCHAR(255) NOT NULL, value VARCHAR(255),
    byref VARCHAR(5), PRIMARY KEY (jobid, name), FOREIGN KEY(jobid) REFERENCES jobs (jobid));
CREATE TABLE job_results (
    jobid VARCHAR(80) NOT NULL, name VARCHAR(255) NOT NULL, url VARCHAR(255),
    content_type VARCHAR(64), PRIMARY KEY (jobid, name),
    FOREIGN KEY(jobid) REFERENCES jobs (jobid));
CREATE TABLE users (
    name VARCHAR(80) NOT NULL, token VARCHAR(255), roles VARCHAR(255), PRIMARY KEY (name));
CREATE TABLE entities (
    entity_id VARCHAR(80) NOT NULL, jobid VARCHAR(80), result_name VARCHAR(255),
    hash VARCHAR(255), creation_time VARCHAR(19), file_name VARCHAR(255),
    file_path VARCHAR(255), access_url VARCHAR(255), owner VARCHAR(64),
    PRIMARY KEY (entity_id), FOREIGN KEY(jobid) REFERENCES jobs (jobid));
"""

BASE = "http://localhost/opus_server"
FAR = "2099-01-01T00:00:00"
# (jobid, jobname, phase, error, ctime, stime, etime, owner, run_id)
JOBS = [
    ("a1b2c3", "echo", "COMPLETED", None, "2024-03-01T10:00:00", "2024-03-01T10:00:01",
     "2024-03-01T10:00:05", "alice", "run-1"),
    ("d4e5f6", "echo", "PENDING", None, "2024-03-02T10:00:00", None, None, "bob", None),
    ("0a0b0c", "echo", "ERROR", "script failed", "2024-03-03T10:00:00",
     "2024-03-03T10:00:01", "2024-03-03T10:00:02", "alice", None),
    ("1f2e3d", "echo", "ABORTED", "Job aborted by user anonymous", "2024-03-04T10:00:00",
     None, "2024-03-04T10:00:03", "anonymous", None),
    ("9e8d7c", "echo", "EXECUTING", None, "2024-03-05T10:00:00", "2024-03-05T10:00:01",
     None, "alice", None),
    ("43752df755f0", "echo", "COMPLETED", None, "2024-03-06T10:00:00",
     "2024-03-06T10:00:01", "2024-03-06T10:00:02", "bob", "long-id"),
    ("c0ffee", "echo", "COMPLETED", None, "2024-03-07T10:00:00", "2024-03-07T10:00:01",
     "2024-03-07T10:00:02", "alice", None),  # its output file is gone
    # bad rows
    ("b0b0b0", "nosuchjob", "COMPLETED", None, "2024-03-08T10:00:00", None, None,
     "alice", None),
    ("../etc/x", "echo", "PENDING", None, "2024-03-09T10:00:00", None, None, "alice", None),
    ("E2D3C4-1a", "echo", "PENDING", None, "2024-03-09T10:00:00", None, None, "alice", None),
]
PARAMS = {"a1b2c3": {"text": "hello opus", "n": "3"}, "d4e5f6": {"text": "pending"},
          "0a0b0c": {"text": "x"}, "43752df755f0": {"text": "long"}}
OUTPUTS = {"a1b2c3": b"hello opus", "43752df755f0": b"long\x00\xffbytes"}
STDOUT = {"a1b2c3": b"n=3\n", "0a0b0c": b"oops\n"}
USERS = [("opus-admin", "admin-secret-token", ""), ("alice", "alice-secret-token", "echo"),
         ("bob", "bob-secret-token", "all,echo"), ("bad name!", "x", "echo"),
         ("anonymous", "anonymous", "")]


def build_opus_site(root):
    """An OPUS VAR_PATH: db/job_database.db, jobdata/, results/."""
    for sub in ("db", "jobdata", "results"):
        (root / sub).mkdir(parents=True)
    db = sqlite3.connect(root / "db" / "job_database.db")
    db.executescript(OPUS_SCHEMA)
    for (jid, name, phase, err, ct, st, et, owner, run_id) in JOBS:
        db.execute("INSERT INTO jobs VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                   (jid, name, phase, 1, 10, err, ct, st, et, FAR, owner,
                    f"{owner}-secret-token", run_id, 4242))
    for jid, ps in PARAMS.items():
        for k, v in ps.items():
            db.execute("INSERT INTO job_parameters VALUES (?,?,?,?)", (jid, k, v, "False"))
    for jid in ("a1b2c3", "43752df755f0", "c0ffee"):
        eid = jid[-3:] + "e01"
        db.execute("INSERT INTO job_results VALUES (?,?,?,?)",
                   (jid, "output", f"{BASE}/get/result?id={eid}", "text/plain"))
        db.execute("INSERT INTO entities VALUES (?,?,?,?,?,?,?,?,?)",
                   (eid, jid, "output", "sha1", "2024-03-01T10:00:05", "output.txt",
                    str(root / "results"), f"{BASE}/get/result?id={eid}", "alice"))
        if jid in OUTPUTS:
            (root / "results" / jid).mkdir()
            (root / "results" / jid / "output.txt").write_bytes(OUTPUTS[jid])
    for jid, data in STDOUT.items():
        (root / "jobdata" / jid).mkdir()
        (root / "jobdata" / jid / "stdout.log").write_bytes(data)
        db.execute("INSERT INTO job_results VALUES (?,?,?,?)",
                   (jid, "stdout", f"{BASE}//rest/echo/{jid}/stdout", "text/plain"))
    db.execute("INSERT INTO job_results VALUES (?,?,?,?)",
               ("a1b2c3", "provjson", f"{BASE}//rest/echo/a1b2c3/provjson", "application/json"))
    db.executemany("INSERT INTO users VALUES (?,?,?)", USERS)
    db.commit()
    db.close()
    return root / "db" / "job_database.db"


def run_import(d, source, *args):
    return d.run_cli("import-opus", str(source), "--config", str(d.config_path),
                     "--data-dir", str(d.data_dir), *args, timeout=60)


def read_tokens(path):
    return dict(line.split(" ") for line in path.read_text().splitlines())


def check_imported(d, tokens):
    assert set(tokens) == {"opus-admin", "alice", "bob"}
    admin = d.client(auth=("opus-admin", tokens["opus-admin"]))
    alice = d.client(auth=("alice", tokens["alice"]))
    bob = d.client(auth=("bob", tokens["bob"]))

    # the old URLs work; every scalar kept
    j = alice.job("/rest/echo/a1b2c3")
    assert (j["jobId"], j["phase"], j["ownerId"], j["runId"]) == \
        ("a1b2c3", "COMPLETED", "alice", "run-1")
    assert j["creationTime"] == "2024-03-01T10:00:00.000Z"
    assert j["startTime"] == "2024-03-01T10:00:01.000Z"
    assert j["endTime"] == "2024-03-01T10:00:05.000Z"
    assert j["destruction"] == "2099-01-01T00:00:00.000Z"
    assert j["executionDuration"] == "10"
    assert {k: v["value"] for k, v in j["parameters"].items()} == PARAMS["a1b2c3"]
    # results: bytes, sizes, types, entities (sha256 of the bytes)
    r = alice.get("/rest/echo/a1b2c3", headers={"Accept": "application/json"}).json()
    res = {x["id"]: x for x in r["results"]}
    assert {"output", "stdout"} <= set(res), r["results"]
    assert res["output"]["mime-type"] == "text/plain"
    assert res["output"]["size"] == len(OUTPUTS["a1b2c3"])
    assert res["output"]["sha256"] == hashlib.sha256(OUTPUTS["a1b2c3"]).hexdigest()
    assert res["output"]["entity_id"]
    assert alice.get(res["output"]["href"]).content == OUTPUTS["a1b2c3"]
    assert alice.get(res["stdout"]["href"]).content == STDOUT["a1b2c3"]

    # a 12-digit OPUS id, binary bytes
    r = bob.get("/rest/echo/43752df755f0", headers={"Accept": "application/json"}).json()
    out = next(x for x in r["results"] if x["id"] == "output")
    assert bob.get(out["href"]).content == OUTPUTS["43752df755f0"]
    assert r["runId"] == "long-id"

    assert alice.job("/rest/echo/0a0b0c")["errorSummary"]["message"] == "script failed"
    assert bob.job("/rest/echo/d4e5f6")["phase"] == "PENDING"
    assert bob.job("/rest/echo/d4e5f6")["parameters"]["text"]["value"] == "pending"
    anon = admin.job("/rest/echo/1f2e3d")
    assert anon["phase"] == "ABORTED" and anon["ownerId"] is None
    ex = alice.job("/rest/echo/9e8d7c")
    assert ex["phase"] == "ERROR" and "imported from OPUS in phase EXECUTING" in \
        ex["errorSummary"]["message"]
    # the job whose file was missing came, without that result
    r = alice.get("/rest/echo/c0ffee", headers={"Accept": "application/json"}).json()
    assert r["phase"] == "COMPLETED" and "output" not in {x["id"] for x in r["results"]}
    # owners: alice does not see bob's job; the admin sees every job
    assert alice.get("/rest/echo/d4e5f6").status_code in (403, 404)
    ids = set(admin.list_ids("echo"))
    assert {"a1b2c3", "d4e5f6", "0a0b0c", "1f2e3d", "9e8d7c", "43752df755f0",
            "c0ffee"} <= ids
    # the bad rows did not come
    assert admin.get("/rest/nosuchjob/b0b0b0").status_code == 404
    # an imported PENDING job still runs here
    url = d.base + "/rest/echo/d4e5f6"
    bob.set_phase(url, "RUN")
    bob.wait_for_phase(url, "COMPLETED")
    assert bob.get(url + "/results/output").content == b"pending"
    # OPUS's tokens open nothing
    assert d.client(auth=("alice", "alice-secret-token")).get("/rest/echo").status_code == 401


def check_report(out, err, tokens_path):
    assert "imported 7 jobs, 3 users, 4 results" in out, out + err
    for why in ("job b0b0b0: unknown job description nosuchjob",
                "job ../etc/x: malformed id", "job E2D3C4-1a: malformed id",
                "job c0ffee result output: missing result file",
                "job a1b2c3 result provjson: a provenance document",
                "job 9e8d7c: phase EXECUTING imported as ERROR",
                "user bad name!: malformed name",
                "user anonymous: anonymous is no account in opusd"):
        assert why in out, f"{why!r} not reported:\n{out}"
    for secret in ("secret-token",):
        assert secret not in out and secret not in err
    for name, tok in read_tokens(tokens_path).items():
        assert tok not in out and tok not in err
    assert stat.S_IMODE(tokens_path.stat().st_mode) == 0o600


def check_second_run(d, source, tokens_path):
    before = tokens_path.read_bytes()
    r = run_import(d, source, "--tokens", str(tokens_path))
    assert r.returncode == 0, r.stderr
    assert "imported 0 jobs, 0 users, 0 results" in r.stdout, r.stdout
    assert "already present, left as they are: 7 jobs, 3 users" in r.stdout, r.stdout
    assert "nothing changed" in r.stdout
    assert tokens_path.read_bytes() == before


@pytest.fixture
def site(tmp_path):
    return build_opus_site(tmp_path / "opus")


def test_import_into_a_stopped_daemon(daemon_factory, site, tmp_path):
    # with permissions on, the imported roles grant what OPUS's did
    d = daemon_factory(config={"auth": {"check_permissions": "true"}}, start=False)
    tokens = tmp_path / "tokens.txt"
    r = run_import(d, site, "--tokens", str(tokens))  # folders found beside db/
    assert r.returncode == 0, r.stdout + r.stderr
    check_report(r.stdout, r.stderr, tokens)
    check_second_run(d, site, tokens)
    d.start()
    check_imported(d, read_tokens(tokens))
    users = {ln.split("\t")[0]: ln.split("\t")[2] for ln in d.run_cli(
        "user", "list", "--config", str(d.config_path),
        "--data-dir", str(d.data_dir)).stdout.splitlines()}
    assert users["opus-admin"] == "admin" and users["alice"] == "echo"
    assert users["bob"] == "all,echo"
    tokens = read_tokens(tokens)
    alice = d.client(auth=("alice", tokens["alice"]))
    bob = d.client(auth=("bob", tokens["bob"]))
    alice.create("echo")
    assert alice.post("/rest/sleeper", data={}).status_code == 403
    bob.create("sleeper")


def test_import_into_a_running_daemon(daemon_factory, site, tmp_path):
    d = daemon_factory(users=[("root", True)])
    tokens = tmp_path / "tokens.txt"
    r = run_import(d, site, "--tokens", str(tokens), "--jobdata",
                   str(site.parent.parent / "jobdata"),
                   "--results", str(site.parent.parent / "results"))
    assert r.returncode == 0, r.stdout + r.stderr
    check_report(r.stdout, r.stderr, tokens)
    check_imported(d, read_tokens(tokens))
    check_second_run(d, site, tokens)


def test_import_refusals(daemon_factory, site, tmp_path):
    d = daemon_factory(start=False)
    r = run_import(d, "postgresql://opus@localhost/opus")
    assert r.returncode == 1 and "needs --jobdata DIR" in r.stderr, r.stderr
    r = run_import(d, tmp_path / "missing.db")
    assert r.returncode == 1 and "cannot open" in r.stderr, r.stderr
    junk = tmp_path / "junk.db"
    junk.write_text("not a database at all" * 100)
    r = run_import(d, junk)
    assert r.returncode == 1 and "not an OPUS job database" in r.stderr, r.stderr
    # a tokens file others may read is refused before any token is written
    loose = tmp_path / "loose.txt"
    loose.write_text("")
    loose.chmod(0o644)
    r = run_import(d, site, "--tokens", str(loose))
    assert r.returncode == 1 and "mode 0600" in r.stderr, r.stderr
    assert loose.read_text() == ""
    # without --tokens: the users are skipped (reported), the jobs come
    r = run_import(d, site)
    assert r.returncode == 0, r.stderr
    assert "user alice: no --tokens FILE given" in r.stdout, r.stdout
    assert "imported 7 jobs, 0 users" in r.stdout, r.stdout
