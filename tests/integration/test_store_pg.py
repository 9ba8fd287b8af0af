"""opusd on the PostgreSQL store (issue 16 §1), against a real server that
scripts/pg.sh starts on 127.0.0.1 for this module: a job created, run to
COMPLETED with its results and provenance, and still there after a restart;
a user added with the CLI signs in; the password comes from a file and is
never printed (a URL that holds one is refused by --check-config); a server
that cannot be reached makes opusd exit at start with libpq's reason;
/admin/status names the store; the server stopped under a running opusd:
requests get 503 with Retry-After, and work again once it is back, without
restarting opusd.
"""
import os
import re
import shutil
import subprocess
import tempfile

import pytest

from conftest import REPO, Daemon, free_port, opusd_bin

PG = REPO / "scripts" / "pg.sh"


@pytest.fixture(scope="module")
def pg():
    """(url without password, password file, password, cluster dir, port).
    Its directory is outside pytest's (0700) so that user postgres reaches it."""
    from pathlib import Path
    d = Path(tempfile.mkdtemp(prefix="opusd-pgsrv-"))
    os.chmod(d, 0o755)
    port = str(free_port())
    out = subprocess.run([str(PG), "up", str(d / "cluster"), port], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    url = out.stdout.strip().splitlines()[-1]
    m = re.match(r"postgresql://([^:]+):([^@]+)@(.*)$", url)
    assert m, url
    pw = d / "pw"
    pw.write_text(m.group(2) + "\n")
    pw.chmod(0o600)
    yield f"postgresql://{m.group(1)}@{m.group(3)}", pw, m.group(2), d / "cluster", port
    subprocess.run([str(PG), "down", str(d / "cluster")], timeout=60)
    shutil.rmtree(d, ignore_errors=True)


def pg_config(url, pw):
    return {"store": {"backend": "postgresql", "url": url, "password_file": str(pw)}}


def test_a_job_runs_and_stays_across_a_restart(daemon_factory, pg):
    url, pw, *_ = pg
    d = daemon_factory(config=pg_config(url, pw))
    token = d.add_user("alice")
    assert not (d.data_dir / "opusd.db").exists()  # nothing went to SQLite
    c = d.client(auth=("alice", token))
    job = c.create("echo", {"text": "on postgres"}, run=True)
    assert c.wait_for_phase(job, ("COMPLETED", "ERROR"), timeout=30) == "COMPLETED"
    assert c.get(job + "/results/output").text == "on postgres"
    assert c.get(job + "/provjson").status_code == 200
    jid = job.rsplit("/", 1)[1]
    assert jid in c.list_ids("echo")
    d.stop()
    d.start()
    c = d.client(auth=("alice", token))
    assert c.phase(job) == "COMPLETED"
    assert c.get(job + "/results/output").text == "on postgres"
    root = d.add_user("root", admin=True)
    st = d.client(auth=("root", root)).get("/admin/status",
                                            headers={"Accept": "application/json"}).json()
    assert st["store"] == "postgresql" and st["jobs_stored"] >= 1


def test_password_never_printed(tmp_path, pg):
    url, pw, secret, *_ = pg
    d = Daemon(tmp_path / "d", pg_config(url, pw), register=False)
    r = subprocess.run([str(opusd_bin()), "--config", str(d.config_path), "--check-config"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert secret not in r.stdout + r.stderr
    with_pw = url.replace("@", f":{secret}@", 1)
    d = Daemon(tmp_path / "e", {"store": {"backend": "postgresql", "url": with_pw}},
               register=False)
    r = subprocess.run([str(opusd_bin()), "--config", str(d.config_path), "--check-config"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "store.url" in r.stderr and "password_file" in r.stderr
    assert secret not in r.stdout + r.stderr


def test_unreachable_server_exits_with_the_reason(tmp_path):
    d = Daemon(tmp_path / "d", {"store": {"backend": "postgresql",
                                          "url": "postgresql://opusd@127.0.0.1:1/opusd"}},
               register=False)
    r = subprocess.run([str(opusd_bin()), "--config", str(d.config_path)],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode != 0
    assert "cannot connect to PostgreSQL" in r.stderr and "127.0.0.1" in r.stderr


def test_server_away_503_then_back(daemon_factory, pg):
    url, pw, *_ = pg
    d = daemon_factory(config=pg_config(url, pw))
    c = d.client()
    job = c.create("echo", {"text": "kept"})
    subprocess.run([str(PG), "stop", str(pg[3])], check=True, timeout=60)
    try:
        r = c.get(job)
        assert r.status_code == 503 and int(r.headers["Retry-After"]) > 0, r.text
        r = c.post("/rest/echo", data={"text": "refused"})
        assert r.status_code == 503
    finally:
        out = subprocess.run([str(PG), "up", str(pg[3]), pg[4]], capture_output=True,
                             text=True, timeout=120)
        assert out.returncode == 0, out.stderr
    assert c.phase(job) == "PENDING"  # acknowledged before: still there
    assert len(c.list_ids("echo")) == 1  # the refused create made nothing


def test_connections_the_server_closed_are_replaced_unseen(daemon_factory, pg):
    """The server ends opusd's connections (pg_terminate_backend, as a
    restart or an administrator would) while it is idle: the next requests
    are served on new connections, none of them answers 503."""
    url, pw, _, cluster, port = pg
    d = daemon_factory(config=pg_config(url, pw))
    c = d.client()
    job = c.create("echo", {"text": "kept"})
    for _ in range(3):
        assert c.phase(job) == "PENDING"
    r = subprocess.run([str(PG), "sql", str(cluster), port, "opusd"], input=(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
        "WHERE usename = 'opusd' AND application_name = 'opusd' AND pid <> pg_backend_pid();\n"),
        capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and int(r.stdout.split()[-1]) >= 1, (r.stdout, r.stderr)
    for _ in range(5):
        r = c.get(job + "/phase")
        assert r.status_code == 200 and r.text.strip() == "PENDING", (r.status_code, r.text)
    assert c.post("/rest/echo", data={"text": "after"}).status_code == 303
