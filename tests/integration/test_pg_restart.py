"""PostgreSQL restarted under load (issue 16): two opusd instances on one
database (a server of this module's own, scripts/pg.sh), four clients
creating jobs on them without pause; the server is stopped in the middle
(`pg.sh stop`, fast shutdown) and started again on the same directory and
port. Afterwards every job that was acknowledged (303) is there (GET 200 on
either instance, and in the job list), the requests sent while the server
was down got 503 with Retry-After and none of them 303, and both daemons
(the same processes) acknowledge creates again without a restart.

Two instances, but only creating and reading jobs: running jobs on several
instances of one database (claims, cross-instance WAIT) is another step of
issue 16, so no job is started here. Every step waits for an event (the
acknowledgements counted, the server down, the 503s seen, the 303s back),
never for a fixed time.
"""
import threading
import time

import pytest
import requests

from conftest import JOB_ID_RE, Daemon, PgServer, free_port, wait_until

CLIENTS_PER_DAEMON = 2


@pytest.fixture(scope="module")
def pg():
    server = PgServer(port=free_port())  # never the session's own server
    yield server
    server.down()


class Load:
    """Clients that POST /rest/echo in a loop on one daemon, each recording
    (sent, answered, status, job id or None, Retry-After) per request."""

    def __init__(self, daemons):
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.log = []  # (daemon index, sent, answered, status, id, retry_after)
        self.errors = []
        self.threads = [threading.Thread(target=self._run, args=(i, d), daemon=True)
                        for i, d in enumerate(daemons) for _ in range(CLIENTS_PER_DAEMON)]

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(60)
        assert not any(t.is_alive() for t in self.threads), "a load client hung"

    def _run(self, i, d):
        s = requests.Session()
        n = 0
        while not self.stop.is_set():
            n += 1
            sent = time.monotonic()
            try:
                r = s.post(d.base + "/rest/echo", data={"text": f"load {i} {n}"},
                           allow_redirects=False, timeout=30)
            except requests.RequestException as e:  # opusd itself must stay up
                with self.lock:
                    self.errors.append(f"daemon {i}: {e!r}")
                continue
            jid = None
            if r.status_code == 303:
                jid = r.headers["Location"].rsplit("/", 1)[1]
            with self.lock:
                self.log.append((i, sent, time.monotonic(), r.status_code, jid,
                                 r.headers.get("Retry-After")))
        s.close()

    def count(self, status, daemon=None, sent_after=0.0):
        with self.lock:
            return sum(1 for i, sent, _, st, _, _ in self.log if st == status
                       and (daemon is None or i == daemon) and sent >= sent_after)

    def rows(self):
        with self.lock:
            return list(self.log)


def close_all(daemons):
    """Stops every daemon (checked), then reports what any of them left."""
    errors = []
    for d in daemons:
        try:
            d.close()
        except AssertionError as e:
            errors.append(f"[{d.name}] {e}")
    assert not errors, "\n\n".join(errors)


def test_acknowledged_jobs_survive_a_restart_503s_meanwhile(tmp_path, pg):
    store = {"store": {"backend": "postgresql", "url": pg.url("opusd"),
                       "password_file": str(pg.password_file)}}
    daemons = [Daemon(tmp_path / f"d{k}", store, name=f"pg{k}") for k in range(2)]
    try:
        for d in daemons:
            d.start()
        pids = [d.proc.pid for d in daemons]
        with Load(daemons) as load:
            # load before: each instance has acknowledged creates
            wait_until(lambda: all(load.count(303, k) >= 20 for k in range(2)), 60,
                       what="20 acknowledged creates on each instance")
            pg.stop()  # returns once the server is down (pg_ctl -w)
            down_at = time.monotonic()
            assert not pg.running()
            # the outage: each instance answers 503 to requests sent meanwhile
            wait_until(lambda: all(load.count(503, k, down_at) >= 3 for k in range(2)), 60,
                       what="503s from each instance while PostgreSQL is down")
            up_at = time.monotonic()
            pg.up()  # same directory, same port
            # back: each instance acknowledges creates again, same processes
            wait_until(lambda: all(load.count(303, k, up_at) >= 10
                                   for k in range(2)), 60,
                       what="acknowledged creates on each instance after the restart")
        rows = load.rows()
        assert not load.errors, load.errors[:5]
        assert [d.proc.pid for d in daemons] == pids and all(d.running for d in daemons)
        # only 303 and 503, and every 503 says when to come back
        statuses = {r[3] for r in rows}
        assert statuses <= {303, 503}, sorted(statuses)
        unavailable = [r for r in rows if r[3] == 503]
        assert all(r[5] and int(r[5]) > 0 for r in unavailable), unavailable[:3]
        # no request sent while the server was down was acknowledged
        lied = [r for r in rows if r[3] == 303 and down_at <= r[1] and r[2] <= up_at]
        assert not lied, f"{len(lied)} creates acknowledged while PostgreSQL was down"
        acked = [(r[0], r[4]) for r in rows if r[3] == 303]
        assert all(JOB_ID_RE.match(j) for _, j in acked)
        # every acknowledged job is there, on the instance that made it and the other
        clients = [d.client() for d in daemons]
        for k, jid in acked:
            for c in (clients[k], clients[1 - k]):
                r = c.get(f"/rest/echo/{jid}/phase")
                assert r.status_code == 200 and r.text.strip() == "PENDING", \
                    (jid, r.status_code, r.text[:200])
        listed = set(clients[0].list_ids("echo"))
        missing = {j for _, j in acked} - listed
        assert not missing, f"{len(missing)} acknowledged jobs not in the list"
        for c in clients:
            c.close()
        print(f"{len(acked)} creates acknowledged, {len(unavailable)} answered 503 "
              f"(PostgreSQL down {up_at - down_at:.2f} s)")
    finally:
        close_all(daemons)


def test_missed_notifications_are_made_up_after_a_reconnection(tmp_path, pg):
    """Instance B's connections are cut (its backends terminated, its role
    refused logins) while a job it has a WAIT on changes phase on instance
    A: the notification is sent while B does not listen. Once B may log in
    again, its listener reconnects by itself and makes up what it missed:
    the WAIT returns the new phase then, not at its timeout, and B's pool
    serves requests again on fresh connections (no restart)."""
    pg.superuser_sql("opusd", "DROP ROLE IF EXISTS opusd_b;\n"
                     "CREATE ROLE opusd_b LOGIN PASSWORD 'opusd-test' IN ROLE opusd;\n")
    assert pg.password == "opusd-test"
    pg.create_database("notify")
    store = {"backend": "postgresql", "url": pg.url("notify"),
             "password_file": str(pg.password_file)}
    shared = tmp_path / "data"
    a = Daemon(tmp_path / "a", {"store": store, "paths": {"data_dir": str(shared)},
                                "server": {"instance": "a", "lease": "60"}}, name="a")
    b = Daemon(tmp_path / "b", {"store": {**store, "url": pg.url("notify").replace(
                                    f"//{pg.user}@", "//opusd_b@")},
                                "paths": {"data_dir": str(shared)},
                                "server": {"instance": "b", "lease": "60"}}, name="b")
    daemons = [a, b]
    try:
        for d in daemons:
            d.start()
        ca, cb = a.client(), b.client()
        url = ca.create("echo", {"text": "missed"})
        path = requests.utils.urlparse(url).path
        got = {}

        def wait_on_b():
            t0 = time.monotonic()
            r = requests.get(b.base + path, params={"WAIT": "100", "PHASE": "PENDING"},
                             timeout=150)
            got.update(status=r.status_code, seconds=time.monotonic() - t0,
                       completed="COMPLETED" in r.text)
        waiter = threading.Thread(target=wait_on_b, daemon=True)
        waiter.start()
        wait_until(lambda: "1 clients waiting" in requests.get(
            b.base + "/availability", timeout=5).text, 30, what="B's WAIT registered")

        pg.superuser_sql("notify", "ALTER ROLE opusd_b NOLOGIN;\n"
                         "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                         "WHERE usename = 'opusd_b';\n")
        wait_until(lambda: "listener connection lost" in b.log_text(), 30,
                   what="B's listener to lose its connection")
        ca.set_phase(path, "RUN")
        assert ca.wait_for_phase(path, ("COMPLETED", "ERROR"), timeout=30) == "COMPLETED"
        assert waiter.is_alive(), got  # B has not heard of it: it was not listening
        connected_before = b.log_text().count("listener connected again")

        pg.superuser_sql("notify", "ALTER ROLE opusd_b LOGIN;\n")
        waiter.join(60)
        assert not waiter.is_alive(), "B's WAIT did not return after the reconnection"
        assert got["status"] == 200 and got["completed"], got
        assert got["seconds"] < 45, got  # woken, not timed out (the WAIT is capped at 60 s)
        log = b.log_text()
        assert log.count("listener connected again") > connected_before
        assert "local job(s) looked at again" in log
        # B's pool: fresh connections, the same process
        r = cb.get(path + "/phase")
        assert r.status_code == 200 and r.text.strip() == "COMPLETED", (r.status_code, r.text)
        assert JOB_ID_RE.match(cb.create("echo", {"text": "after"}).rsplit("/", 1)[1])
        ca.close()
        cb.close()
    finally:
        close_all(daemons)
