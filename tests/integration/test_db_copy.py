"""`opusd db copy --from SRC --to DST` (issue 16): every table of a store
into an empty one, SQLite and PostgreSQL either way (a real server, the
session's, scripts/pg.sh). What the daemons serve is the proof: the same
job documents, results, provenance and accounts before and after a round
trip SQLite -> PostgreSQL -> SQLite. A destination that is not empty is
refused and left as it was; a URL that holds a password is refused without
printing it; bad arguments get the usage and exit status 2.
"""
import json
import subprocess

from conftest import opusd_bin, session_pg

SQLITE = {"store": {"backend": "sqlite"}}


def db_copy(*args, timeout=60):
    return subprocess.run([str(opusd_bin()), "db", "copy", *args], capture_output=True,
                          text=True, timeout=timeout)


def pg_store(pg, db):
    return {"store": {"backend": "postgresql", "url": pg.url(db),
                      "password_file": str(pg.password_file)}}


def snapshot(d, token, jobs):
    """What a client sees of each job, the daemon's own address taken out."""
    c = d.client(auth=("alice", token))
    out = {}
    for jdef, jid in jobs:
        url = f"/rest/{jdef}/{jid}"
        doc = {"job": c.get(url).text, "ids": sorted(c.list_ids(jdef))}
        for child in ("provjson", "results/output", "stdout", "stderr"):
            r = c.get(url + "/" + child)
            doc[child] = (r.status_code, r.text)
        out[jid] = json.loads(json.dumps(doc).replace(d.base, "BASE"))
    me = c.get("/users/me", headers={"Accept": "application/json"})
    assert me.status_code == 200, me.text
    c.close()
    return out


def make_jobs(d, token):
    c = d.client(auth=("alice", token))
    done = c.create("echo", {"text": "copied"}, run=True)
    failed = c.create("failer", {"text": "x"}, run=True)
    pending = c.create("echo", {"text": "waits"})
    assert c.wait_for_phase(done, "COMPLETED", timeout=30) == "COMPLETED"
    assert c.wait_for_phase(failed, "ERROR", timeout=30) == "ERROR"
    c.close()
    return [(u.split("/")[-2], u.rsplit("/", 1)[1]) for u in (done, failed, pending)]


def test_round_trip_sqlite_postgresql_sqlite(daemon_factory):
    pg = session_pg()
    a = daemon_factory(config=SQLITE)
    token = a.add_user("alice")
    jobs = make_jobs(a, token)
    before = snapshot(a, token, jobs)
    assert before[jobs[0][1]]["results/output"] == [200, "copied"]
    a.stop()
    src = a.data_dir / "opusd.db"

    db = "copy_" + jobs[0][1][:12]
    pg.create_database(db)
    r = db_copy("--from", str(src), "--to", pg.url(db), "--to-password-file",
                str(pg.password_file))
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("copied "), r.stdout
    assert pg.password not in r.stdout + r.stderr
    counts = dict(ln.split()[:2] for ln in r.stdout.splitlines()[1:])
    assert counts["jobs"] == "3" and counts["accounts"] == "1", r.stdout

    # the PostgreSQL copy serves what SQLite served (same job folders)
    b = daemon_factory(config={**pg_store(pg, db), "paths": {"data_dir": str(a.data_dir)}},
                       start=False)
    b.start()
    assert snapshot(b, token, jobs) == before
    b.stop()

    # and back into a fresh SQLite file, the original put aside
    src.rename(a.data_dir / "opusd.db.orig")
    r = db_copy("--from", pg.url(db), "--from-password-file", str(pg.password_file),
                "--to", str(src))
    assert r.returncode == 0, r.stderr
    a.start()
    assert snapshot(a, token, jobs) == before
    # a new job after the copy: the destination's sequences moved on
    c = a.client(auth=("alice", token))
    new = c.create("echo", {"text": "after"}, run=True)
    assert c.wait_for_phase(new, "COMPLETED", timeout=30) == "COMPLETED"
    assert len(c.list_ids("echo")) == 3
    c.close()


def test_destination_not_empty_is_refused_and_unchanged(daemon_factory, tmp_path):
    a = daemon_factory(config=SQLITE)
    token = a.add_user("alice")
    make_jobs(a, token)
    a.stop()
    b = daemon_factory(config=SQLITE, name="dest")
    b.add_user("bob")
    b.stop()
    dst = b.data_dir / "opusd.db"
    rows_before = b.db_query("SELECT * FROM accounts ORDER BY 1")
    r = db_copy("--from", str(a.data_dir / "opusd.db"), "--to", str(dst))
    assert r.returncode != 0
    assert "not empty" in r.stderr, r.stderr
    assert b.db_query("SELECT * FROM accounts ORDER BY 1") == rows_before
    assert b.db_query("SELECT count(*) FROM jobs") == [(0,)]

    pg = session_pg()
    db = "copy_nonempty_" + tmp_path.name[-8:].lower().replace("-", "_")
    pg.create_database(db)
    r = db_copy("--from", str(a.data_dir / "opusd.db"), "--to", pg.url(db),
                "--to-password-file", str(pg.password_file))
    assert r.returncode == 0, r.stderr
    n = pg.psql(db, "SELECT count(*) FROM jobs;\n")
    r = db_copy("--from", str(a.data_dir / "opusd.db"), "--to", pg.url(db),
                "--to-password-file", str(pg.password_file))
    assert r.returncode != 0 and "not empty" in r.stderr, r.stderr
    assert pg.psql(db, "SELECT count(*) FROM jobs;\n") == n == ["3"]


def test_password_in_url_is_refused_unprinted(tmp_path):
    pg = session_pg()
    src = tmp_path / "none.db"
    with_pw = pg.url("opusd").replace("@", f":{pg.password}@", 1)
    for args in (["--from", with_pw, "--to", str(tmp_path / "x.db")],
                 ["--from", str(src), "--to", with_pw]):
        r = db_copy(*args)
        assert r.returncode != 0
        assert "password" in r.stderr, r.stderr
        assert pg.password not in r.stdout + r.stderr
    assert not (tmp_path / "x.db").exists()


def test_bad_arguments(tmp_path):
    for args in ([], ["--from", "a.db"], ["--to", "b.db"], ["--from", "a.db", "--to", "b.db",
                                                           "extra"], ["--bogus"]):
        r = db_copy(*args)
        assert r.returncode == 2, (args, r.returncode, r.stderr)
        assert "usage: opusd db copy" in r.stderr, r.stderr
    r = db_copy("--help")
    assert r.returncode == 0 and "usage: opusd db copy" in r.stdout
    same = str(tmp_path / "a.db")
    r = db_copy("--from", same, "--to", same)
    assert r.returncode == 2 and "same" in r.stderr, r.stderr
    r = db_copy("--from", str(tmp_path / "missing.db"), "--to", str(tmp_path / "b.db"))
    assert r.returncode != 0 and "no such SQLite database" in r.stderr, r.stderr
    assert not (tmp_path / "b.db").exists()
    r = db_copy("--from", "mysql://x/y", "--to", str(tmp_path / "b.db"))
    assert r.returncode != 0 and "neither a postgresql:// URL" in r.stderr, r.stderr
    r = db_copy("--from", str(tmp_path / "a.db"), "--from-password-file", "/etc/hostname",
                "--to", str(tmp_path / "b.db"))
    assert r.returncode != 0 and "PostgreSQL URL only" in r.stderr, r.stderr
