"""Integration test harness for opusd: real daemons on loopback.

What this file gives the tests
------------------------------
* ``Daemon``: one opusd process on a free 127.0.0.1 port with its own temp data
  dir, a copy of tests/integration/jobdefs as its jdl dir, an INI config file and
  its stderr captured to ``opusd.log``. ``stop()`` sends SIGTERM and asserts exit
  status 0 within 10 s (sanitizer reports make it exit non-zero, which fails);
  ``close()`` also fails on a sanitizer report (ASan, UBSan, TSan) in the log.
* ``daemon`` (module scope, default config) and ``daemon_factory`` (function scope,
  any config) fixtures. Every daemon started is stopped and checked at teardown;
  when a test fails the tail of the logs of every daemon alive is attached to
  the report.
* ``Client``: a requests.Session bound to one daemon that never follows
  redirects and validates EVERY XML document it receives: well-formed, parsed
  offline (no network, no entities), and for UWS resources (/rest/...) valid
  against tests/schemas/uws/UWS-1.1.xsd with version="1.1" and UTC times ending
  in Z. JSON bodies must parse. Helpers create jobs, read job documents into
  dicts and poll for phases with timeouts.

* The store switch: ``OPUSD_TEST_STORE=postgresql`` (default ``sqlite``) runs
  every daemon on PostgreSQL: one real server for the whole pytest session
  (scripts/pg.sh, under /tmp/pg-suite-*, started by the first daemon that needs
  it, removed at session end; its port OPUSD_TEST_PG_PORT or a free one), a
  fresh database per data dir (made when the daemon first starts or runs a CLI
  command), its [store] keys added unless the test wrote its own [store].
  ``Daemon.db_query()`` / ``db_exec()`` read and write the daemon's database
  on either backend (sqlite3, or psql with its variables: never spliced text);
  ``STORE`` says which backend the session runs.

Environment: OPUSD_BIN (default build/asan/opusd, relative to the repository;
make test runs the suite against build/asan/opusd, then build/tsan/opusd),
OPUSD_TEST_STORE, OPUSD_TEST_PG_PORT.
Run: /usr/bin/python3 -m pytest -q tests/integration
"""
import atexit
import hashlib
import getpass
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import sys
import subprocess
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SCHEMA_DIR = REPO / "tests" / "schemas" / "uws"
# Must be set before lxml (libxml2) is loaded so the xlink import resolves offline.
os.environ["XML_CATALOG_FILES"] = str(SCHEMA_DIR / "catalog.xml")

import pytest  # noqa: E402
import requests  # noqa: E402
from lxml import etree  # noqa: E402

UWS_NS = "http://www.ivoa.net/xml/UWS/v1.0"
XLINK_NS = "http://www.w3.org/1999/xlink"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
NS = {"uws": UWS_NS, "xlink": XLINK_NS}
JOB_ID_RE = re.compile(r"^[0-9a-f]{32}$")
FINAL_PHASES = ("COMPLETED", "ERROR", "ABORTED", "ARCHIVED")
# The provenance documents a finished job's results list shows beside its files
# (provenance.result_links, on by default, as OPUS does).
PROV_LINKS = ("provjson", "provxml", "provsvg")
# A job's provenance documents (PROV-XML, SVG: XML but not UWS).
PROV_CHILDREN = ("prov", "provjson", "provxml", "provsvg", "provn")
TIME_ELEMENTS = ("creationTime", "startTime", "endTime", "destruction", "quote")
# The first line of a TSan, ASan/LSan or UBSan report in a daemon's stderr.
SANITIZER_RE = re.compile(r"^(WARNING: ThreadSanitizer|==\d+==ERROR: \w+Sanitizer"
                          r"|\S+:\d+:\d+: runtime error: )", re.M)


STORE = os.environ.get("OPUSD_TEST_STORE", "sqlite")
if STORE not in ("sqlite", "postgresql"):
    raise RuntimeError(f"OPUSD_TEST_STORE={STORE!r}: want sqlite or postgresql")
PG_SH = REPO / "scripts" / "pg.sh"


def opusd_bin():
    p = Path(os.environ.get("OPUSD_BIN", "build/asan/opusd"))
    if not p.is_absolute():
        p = REPO / p
    return p


# ---------------------------------------------------------------- XML checks

def _parser():
    return etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False,
                           huge_tree=False)


_SCHEMA = None


def uws_schema():
    global _SCHEMA
    if _SCHEMA is None:
        doc = etree.parse(str(SCHEMA_DIR / "UWS-1.1.xsd"), _parser())
        _SCHEMA = etree.XMLSchema(doc)
    return _SCHEMA


def parse_xml(content):
    """Well-formedness check; returns the root element."""
    try:
        return etree.fromstring(content, _parser())
    except etree.XMLSyntaxError as e:
        raise AssertionError(f"response is not well-formed XML: {e}\n{content[:2000]!r}")


def validate_uws(content):
    """Parses and validates a UWS document; returns the root element."""
    root = parse_xml(content)
    schema = uws_schema()
    if not schema.validate(root):
        raise AssertionError(
            f"UWS document invalid against UWS-1.1.xsd: {schema.error_log}\n"
            f"{content[:4000].decode('utf-8', 'replace')}")
    tag = etree.QName(root)
    assert tag.namespace == UWS_NS, f"root element {root.tag} not in the UWS namespace"
    if tag.localname in ("job", "jobs"):
        assert root.get("version") == "1.1", \
            f"<uws:{tag.localname}> version={root.get('version')!r}, want '1.1'"
    for name in TIME_ELEMENTS:
        for el in root.iter(f"{{{UWS_NS}}}{name}"):
            if el.get(f"{{{XSI_NS}}}nil") == "true" or not (el.text or "").strip():
                continue
            assert el.text.strip().endswith("Z"), f"<{name}>{el.text}</{name}> is not UTC with Z"
    return root


# ------------------------------------------------------------------- helpers

def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def parse_time(s):
    """ISO 8601 as produced by opusd ('2026-11-23T09:35:42.123Z') -> aware datetime."""
    s = s.strip()
    assert s.endswith("Z"), f"time {s!r} does not end with Z"
    return datetime.fromisoformat(s[:-1]).replace(tzinfo=timezone.utc)


def iso_utc(ts, precision="milliseconds"):
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec=precision) \
        .replace("+00:00", "Z")


def process_alive(pid):
    """True while pid exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def wait_until(pred, timeout, interval=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def text_of(el):
    if el is None or el.get(f"{{{XSI_NS}}}nil") == "true":
        return None
    return el.text if el.text is not None else ""


def job_to_dict(root):
    """A uws:job element as a plain dict (None for nil/absent)."""
    def f(name):
        return text_of(root.find(f"uws:{name}", NS))
    d = {k: f(k) for k in ("jobId", "runId", "ownerId", "phase", "quote", "creationTime",
                           "startTime", "endTime", "executionDuration", "destruction")}
    d["parameters"] = {}
    for p in root.iterfind("uws:parameters/uws:parameter", NS):
        d["parameters"][p.get("id")] = {"value": p.text or "",
                                       "byReference": p.get("byReference") == "true"}
    d["results"] = [{"id": r.get("id"), "href": r.get(f"{{{XLINK_NS}}}href"),
                     "mime-type": r.get("mime-type"), "size": r.get("size")}
                    for r in root.iterfind("uws:results/uws:result", NS)]
    es = root.find("uws:errorSummary", NS)
    d["errorSummary"] = None if es is None else {
        "type": es.get("type"), "hasDetail": es.get("hasDetail"),
        "message": es.findtext("uws:message", default="", namespaces=NS)}
    return d


def assert_plain_error(r, status):
    assert r.status_code == status, \
        f"{r.request.method} {r.url}: got {r.status_code}, want {status}: {r.text[:500]!r}"
    ct = r.headers.get("Content-Type", "")
    assert ct.startswith("text/plain"), f"{r.status_code} body has Content-Type {ct!r}"
    assert r.text.strip(), f"{r.status_code} body is empty; want a plain-text reason"


# --------------------------------------------------------- PostgreSQL switch

class PgServer:
    """One real PostgreSQL server (scripts/pg.sh up) in a directory user
    postgres can reach (/tmp/pg-suite-*, not pytest's 0700 tmp); the role
    opusd may create databases. down() stops it and removes the directory."""

    def __init__(self, port=None):
        self.dir = Path(tempfile.mkdtemp(prefix="pg-suite-", dir="/tmp"))
        os.chmod(self.dir, 0o755)
        self.cluster = self.dir / "cluster"
        self.port = str(port or os.environ.get("OPUSD_TEST_PG_PORT") or free_port())
        self.up()
        self.password_file = self.dir / "pw"
        self.password_file.write_text(self.password + "\n")
        self.password_file.chmod(0o600)

    def up(self):
        out = subprocess.run([str(PG_SH), "up", str(self.cluster), self.port],
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, f"scripts/pg.sh up: {out.stderr}"
        url = out.stdout.strip().splitlines()[-1]
        m = re.match(r"postgresql://([^:]+):([^@]+)@([^/]+)/", url)
        assert m, url
        self.user, self.password, self.hostport = m.groups()

    def stop(self):
        """Stops the server, keeping its data (up() starts it again)."""
        subprocess.run([str(PG_SH), "stop", str(self.cluster)], check=True, timeout=60)

    def running(self):
        return subprocess.run([str(PG_SH), "status", str(self.cluster)],
                              timeout=30).returncode == 0

    def down(self):
        """Never raises: it runs when the session ends, after every verdict."""
        try:
            subprocess.run([str(PG_SH), "down", str(self.cluster)], timeout=120)
        except (OSError, subprocess.SubprocessError) as e:
            print(f"scripts/pg.sh down {self.cluster}: {e}", file=sys.stderr)
        shutil.rmtree(self.dir, ignore_errors=True)

    def url(self, db):
        """The URL opusd gets: no password in it (password_file holds it)."""
        return f"postgresql://{self.user}@{self.hostport}/{db}"

    def psql(self, db, sql, variables=()):
        """Runs sql (from stdin, so that psql interpolates :'name' variables as
        quoted literals) in database db; returns stdout's lines."""
        args = ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                "-h", "127.0.0.1", "-p", self.port, "-U", self.user, "-d", db]
        for name, value in variables:
            args += ["-v", f"{name}={value}"]
        r = subprocess.run(args, input=sql, capture_output=True, text=True, timeout=60,
                           env={**os.environ, "PGPASSWORD": self.password})
        assert r.returncode == 0, f"psql {db}: {r.stderr}\n{sql}"
        return r.stdout.splitlines()

    def superuser_sql(self, db, sql):
        """Runs sql in database db as the server's superuser (roles,
        pg_terminate_backend); returns stdout's lines. sql is the test's own."""
        r = subprocess.run([str(PG_SH), "sql", str(self.cluster), self.port, db], input=sql,
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, f"pg.sh sql {db}: {r.stderr}\n{sql}"
        return r.stdout.splitlines()

    def create_database(self, db):
        """A fresh database owned by opusd, made once (db is our own hex name)."""
        assert re.fullmatch(r"[a-z0-9_]+", db), db
        self.psql("opusd", "SELECT format('CREATE DATABASE %I', :'db') WHERE NOT EXISTS "
                  "(SELECT 1 FROM pg_database WHERE datname = :'db') \\gexec\n",
                  [("db", db)])


_PG = None  # the session's server (OPUSD_TEST_STORE=postgresql), made on first use


def session_pg():
    """The session's PostgreSQL server, started on the first call."""
    global _PG
    if _PG is None:
        _PG = PgServer()
        atexit.register(_pg_down)
    return _PG


def _pg_down():
    global _PG
    if _PG is not None:
        pg, _PG = _PG, None
        pg.down()


def pytest_sessionfinish(session, exitstatus):
    _pg_down()


def _sql_params(sql, params):
    """sqlite's ? placeholders as psql variables :'p1', :'p2'... (quoted by psql)."""
    parts = sql.split("?")
    assert len(parts) - 1 == len(params), (sql, params)
    out = parts[0]
    for i, part in enumerate(parts[1:], 1):
        out += f":'p{i}'" + part
    return out, [(f"p{i}", "" if v is None else str(v)) for i, v in enumerate(params, 1)]


# -------------------------------------------------------------------- client

class Client(requests.Session):
    """HTTP client for one daemon; relative paths allowed; no redirects followed;
    every XML/JSON response is checked (see module docstring)."""

    def __init__(self, base, auth=None):
        super().__init__()
        self.base = base.rstrip("/")
        self.auth = auth
        self.hooks["response"].append(self._check_response)

    def request(self, method, url, *args, **kw):
        if url.startswith("/"):
            url = self.base + url
        kw.setdefault("allow_redirects", False)
        kw.setdefault("timeout", 40)
        return super().request(method, url, *args, **kw)

    @staticmethod
    def _check_response(r, *args, **kw):
        ct = r.headers.get("Content-Type", "").lower()
        if r.request.method == "HEAD" or not r.content:
            return
        path = requests.utils.urlparse(r.url).path
        if "xml" in ct:
            if path.startswith("/rest/") and r.status_code == 200 \
                    and "/results/" not in path and "/parameters/" not in path \
                    and path.rsplit("/", 1)[-1] not in PROV_CHILDREN:
                validate_uws(r.content)
            else:
                parse_xml(r.content)
        elif "json" in ct:
            try:
                json.loads(r.content)
            except ValueError as e:
                raise AssertionError(f"{r.url}: invalid JSON ({e}): {r.content[:500]!r}")

    # -- jobs
    def create(self, jobdef, data=None, files=None, run=False, expect=303):
        data = dict(data or {})
        if run:
            data["PHASE"] = "RUN"
        r = self.post(f"/rest/{jobdef}", data=data, files=files)
        assert r.status_code == expect, \
            f"create {jobdef} {data}: {r.status_code} {r.text[:500]!r}"
        if expect != 303:
            return r
        loc = r.headers["Location"]
        m = re.fullmatch(re.escape(self.base) + rf"/rest/{re.escape(jobdef)}/([0-9a-f]+)", loc)
        assert m, f"Location {loc!r} is not {self.base}/rest/{jobdef}/{{id}}"
        assert JOB_ID_RE.match(m.group(1)), f"job id {m.group(1)!r} is not 32 hex chars"
        return loc

    def job(self, url, **params):
        r = self.get(url, params=params)
        assert r.status_code == 200, f"GET {url}: {r.status_code} {r.text[:300]!r}"
        return job_to_dict(validate_uws(r.content))

    def phase(self, url):
        r = self.get(url + "/phase")
        assert r.status_code == 200, f"GET {url}/phase: {r.status_code} {r.text[:300]!r}"
        return r.text.strip()

    def wait_for_phase(self, url, phases, timeout=10.0):
        if isinstance(phases, str):
            phases = (phases,)
        deadline = time.monotonic() + timeout
        seen = []
        while True:
            p = self.phase(url)
            if not seen or seen[-1] != p:
                seen.append(p)
            if p in phases:
                return p
            if time.monotonic() > deadline:
                raise AssertionError(f"{url}: phase never reached {phases} in {timeout}s; "
                                     f"phases seen {seen}; job {self.job(url)}")
            time.sleep(0.05)

    def list_ids(self, jobdef, params=None):
        r = self.get(f"/rest/{jobdef}", params=params)
        assert r.status_code == 200, f"list {jobdef} {params}: {r.status_code} {r.text[:300]!r}"
        root = validate_uws(r.content)
        assert etree.QName(root).localname == "jobs"
        return [j.get("id") for j in root.iterfind("uws:jobref", NS)]

    def set_phase(self, url, phase, expect=303):
        r = self.post(url + "/phase", data={"PHASE": phase})
        assert r.status_code == expect, \
            f"POST {url}/phase PHASE={phase}: {r.status_code} (want {expect}) {r.text[:300]!r}"
        return r


# -------------------------------------------------------------------- daemon

_LIVE = []  # daemons whose logs are attached to a failing test's report


class Daemon:
    def __init__(self, root, config=None, name="opusd", register=True):
        self.root = Path(root)
        self.name = name
        self.root.mkdir(parents=True, exist_ok=True)
        self.data_dir = self.root / "data"
        self.jdl_dir = self.root / "jobdefs"
        if not self.jdl_dir.exists():
            shutil.copytree(HERE / "jobdefs", self.jdl_dir)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = self.root / "opusd.log"
        self.config_path = self.root / "opusd.ini"
        self.config = {
            "server": {"listen": f"127.0.0.1:{self.port}", "log_level": "info"},
            "paths": {"data_dir": str(self.data_dir), "jdl_dir": str(self.jdl_dir),
                      "web_dir": str(REPO / "web")},
            # no destruction cap, so tests can set far-future times; short kill grace
            # jobs run as whoever runs the tests (as root, opusd needs it said)
            "jobs": {"kill_grace_ms": "500", "max_destruction": "0",
                     "run_as": getpass.getuser()},
            # every test client comes from 127.0.0.1: the failed authentications
            # that tests make on purpose must not add up to a back-off (429);
            # test_credentials.py sets a low figure to test it
            "auth": {"backoff_failures": "100000"},
        }
        for sec, kv in (config or {}).items():
            self.config.setdefault(sec, {}).update({k: str(v) for k, v in kv.items()})
        # the session's backend, unless the test chose its own store
        self.pg = None
        if STORE == "postgresql" and "store" not in self.config:
            self.pg = session_pg()
            self.db_name = "t_" + hashlib.sha1(str(self.data_dir).encode()).hexdigest()[:24]
            self.config["store"] = {"backend": "postgresql", "url": self.pg.url(self.db_name),
                                    "password_file": str(self.pg.password_file)}
        self.write_config()
        self.extra_args = []  # appended to the command line (flags override the file)
        self.proc = None
        self._logf = None
        if register:
            _LIVE.append(self)

    def write_config(self):
        lines = []
        for sec, kv in self.config.items():
            lines.append(f"[{sec}]")
            lines += [f"{k} = {v}" for k, v in kv.items()]
            lines.append("")
        self.config_path.write_text("\n".join(lines))

    def ensure_store(self):
        """Makes the daemon's PostgreSQL database when it is not there yet."""
        if self.pg is not None:
            self.pg.create_database(self.db_name)

    def _sqlite_path(self):
        return self.data_dir / "opusd.db"

    def db_query(self, sql, params=()):
        """The rows (tuples) of a SELECT on the daemon's database, either
        backend; ? placeholders. On PostgreSQL through row_to_json, so numbers
        stay numbers and NULL is None, as sqlite3 gives them."""
        if self.pg is None:
            con = sqlite3.connect(f"file:{self._sqlite_path()}?mode=ro", uri=True, timeout=10)
            try:
                return [tuple(r) for r in con.execute(sql, params)]
            finally:
                con.close()
        q, variables = _sql_params(sql, params)
        lines = self.pg.psql(self.db_name, f"SELECT row_to_json(q) FROM ({q}) q;\n", variables)
        return [tuple(json.loads(ln).values()) for ln in lines if ln.strip()]

    def db_exec(self, sql, params=()):
        """One write statement on the daemon's database (? placeholders)."""
        if self.pg is None:
            con = sqlite3.connect(str(self._sqlite_path()), timeout=10)
            try:
                with con:
                    con.execute(sql, params)
            finally:
                con.close()
            return
        q, variables = _sql_params(sql, params)
        self.pg.psql(self.db_name, q + ";\n", variables)

    def db_tables(self):
        """The names of the tables of the daemon's database."""
        if self.pg is None:
            return [r[0] for r in self.db_query(
                "SELECT name FROM sqlite_master WHERE type = 'table'")]
        return [r[0] for r in self.db_query(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")]

    def run_cli(self, *args, timeout=30):
        self.ensure_store()
        return subprocess.run([str(opusd_bin()), *args], capture_output=True, text=True,
                              timeout=timeout, cwd=self.root)

    def add_user(self, name, admin=False):
        args = ["user", "add", name] + (["--admin"] if admin else []) + \
            ["--config", str(self.config_path), "--data-dir", str(self.data_dir)]
        r = self.run_cli(*args)
        assert r.returncode == 0, f"opusd {' '.join(args)} -> {r.returncode}: {r.stderr}"
        lines = [ln for ln in r.stdout.splitlines() if ln.strip()]
        assert len(lines) == 1, f"user add printed {r.stdout!r}; want one token line"
        return lines[0].strip()

    def start(self, timeout=20):
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self.ensure_store()
        self._logf = open(self.log_path, "ab")
        self._logf.write(f"==== start {time.strftime('%H:%M:%S')} ====\n".encode())
        self._logf.flush()
        self.proc = subprocess.Popen([str(opusd_bin()), "--config", str(self.config_path),
                                      *self.extra_args],
                                     stdout=self._logf, stderr=self._logf, cwd=self.root,
                                     start_new_session=True)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"opusd exited with {self.proc.returncode} at start:\n"
                                     f"{self.log_tail()}")
            try:
                if requests.get(self.base + "/availability", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"opusd not ready in {timeout}s:\n{self.log_tail()}")
            time.sleep(0.05)

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=10):
        """SIGTERM; asserts a clean exit (status 0) within `timeout` seconds."""
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                self._close_log()
                raise AssertionError(f"opusd did not exit within {timeout}s of SIGTERM:\n"
                                     f"{self.log_tail()}")
        self._close_log()
        assert proc.returncode == 0, f"opusd exited with status {proc.returncode} after " \
            f"SIGTERM:\n{self.sanitizer_report() or self.log_tail()}"

    def sanitizer_report(self):
        """The first sanitizer report of any run of this daemon (even one that
        was killed, so its exit status says nothing), or None."""
        text = self.log_text()
        m = SANITIZER_RE.search(text)
        return text[m.start():m.start() + 8000] if m else None

    def kill9(self):
        self.proc.kill()
        self.proc.wait()
        self.proc = None
        self._close_log()

    def signal(self, sig):
        self.proc.send_signal(sig)

    def _close_log(self):
        if self._logf:
            self._logf.close()
            self._logf = None

    def log_text(self):
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, n=150):
        return "\n".join(self.log_text().splitlines()[-n:])

    def job_dir(self, job_id):
        return self.data_dir / "jobs" / job_id

    def client(self, auth=None):
        return Client(self.base, auth=auth)

    def kill_leftover_jobs(self):
        """Kills job processes (pids the test scripts wrote) still alive."""
        for f in list(self.data_dir.glob("jobs/*/pid.txt")) + \
                list(self.data_dir.glob("jobs/*/child.txt")):
            try:
                pid = int(f.read_text().strip())
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
            except (ValueError, OSError):
                continue
            if b"sleep" in cmd or b"bash" in cmd:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass

    def close(self):
        """Stops (checked) and forgets the daemon."""
        try:
            self.stop()
            report = self.sanitizer_report()
            assert report is None, f"sanitizer report in {self.log_path}:\n{report}"
        finally:
            if self.proc is not None:
                self.proc.kill()
            self.kill_leftover_jobs()
            if self in _LIVE:
                _LIVE.remove(self)


class DaemonFactory:
    def __init__(self, base_dir):
        self.base_dir = Path(base_dir)
        self.daemons = []

    def __call__(self, config=None, users=(), start=True, name=None):
        """users: iterable of (name, admin); tokens are in daemon.tokens."""
        name = name or f"opusd{len(self.daemons)}"
        d = Daemon(self.base_dir / name, config, name=name)
        self.daemons.append(d)
        d.tokens = {u: d.add_user(u, admin=a) for u, a in users}
        if start:
            d.start()
        return d

    def close_all(self):
        errors = []
        for d in self.daemons:
            try:
                d.close()
            except AssertionError as e:
                errors.append(f"[{d.name}] {e}")
        if errors:
            raise AssertionError("\n\n".join(errors))


@pytest.fixture(scope="session", autouse=True)
def _binary_present():
    if not opusd_bin().exists():
        pytest.exit(f"opusd binary {opusd_bin()} not found: run `make FLAVOUR=asan build` "
                    f"or set OPUSD_BIN", returncode=2)


@pytest.fixture
def daemon_factory(tmp_path):
    f = DaemonFactory(tmp_path)
    yield f
    f.close_all()


@pytest.fixture(scope="module")
def module_factory(tmp_path_factory, request):
    f = DaemonFactory(tmp_path_factory.mktemp(request.module.__name__.rsplit(".", 1)[-1]))
    yield f
    f.close_all()


@pytest.fixture(scope="module")
def daemon(module_factory):
    """One daemon with the default test config, shared by a module."""
    return module_factory()


@pytest.fixture
def client(daemon):
    c = daemon.client()
    yield c
    c.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        for d in _LIVE:
            rep.sections.append((f"opusd log [{d.name}] {d.log_path}", d.log_tail()))
