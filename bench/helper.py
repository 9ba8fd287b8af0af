#!/usr/bin/python3
"""Helpers for bench/bench.sh (Python standard library only, 127.0.0.1 only).

  helper.py freeport                     print a free loopback TCP port
  helper.py wait-up PORT PID SECONDS     wait for GET /availability = 200 (exit 1 if not)
  helper.py create PORT [run]            create a copy job, print its path /rest/copy/ID
  helper.py count DB [PHASE]             count jobs in the SQLite store (read-only)
  helper.py waiting PORT                 print "N clients waiting" from /availability
  helper.py waiters PORT PATH N SECS     hold N connections in GET PATH?WAIT=60; print
                                         "ready" once all are sent, then the number of
                                         200 responses received within SECS
  helper.py phase PORT PATH PHASE        POST PHASE=... to PATH/phase, print the status
  helper.py burst PORT DB N CONC SECS    create N jobs with PHASE=RUN over CONC keep-alive
                                         connections, wait until all are COMPLETED;
                                         print "jobs_per_s created completed errors secs
                                         posting_secs jobs_in_ERROR"
  helper.py bashcost N FILE              mean ms of one `bash -c "printf x > FILE"`
  helper.py chain PORT N SECS            run N `chain` jobs one after the other, each
                                         using the previous one's result by reference;
                                         print "last_job_id seconds completed"
  helper.py provtime PORT ID FORMAT N    GET /provsap?ID=ID&DEPTH=ALL&RESPONSEFORMAT=
                                         FORMAT N times; print "p50_ms max_ms bytes
                                         activities" (activities: PROV-JSON only, else -1)
  helper.py svgcheck PORT ID             the PROV-SVG of ID (DEPTH=ALL) is well-formed,
                                         an <svg>, its nodes with links; else exit 1
  helper.py position DB JOBDEF N         the list position ("creationTime,jobId", as the
                                         job list's BEFORE takes it) of the Nth newest job
                                         of JOBDEF (read-only)
"""
import asyncio
import http.client
import re
import socket
import sqlite3
import sys
import threading
import time

HOST = "127.0.0.1"
PHASES = {"PENDING": 0, "QUEUED": 1, "EXECUTING": 2, "COMPLETED": 3, "ERROR": 4,
          "ABORTED": 5}


def freeport():
    with socket.socket() as s:
        s.bind((HOST, 0))
        print(s.getsockname()[1])


def get(port, path, timeout=5):
    c = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def wait_up(port, pid, secs):
    end = time.monotonic() + float(secs)
    while time.monotonic() < end:
        try:
            import os
            os.kill(int(pid), 0)
        except OSError:
            print("daemon exited", file=sys.stderr)
            return 1
        try:
            st, _ = get(port, "/availability", 1)
            if st == 200:
                return 0
        except OSError:
            pass
        time.sleep(0.05)
    print("daemon did not answer /availability", file=sys.stderr)
    return 1


def post(conn, path, body):
    conn.request("POST", path, body=body,
                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    r = conn.getresponse()
    r.read()
    return r.status, r.getheader("Location")


def create(port, run=False):
    c = http.client.HTTPConnection(HOST, port, timeout=10)
    st, loc = post(c, "/rest/copy", "text=x" + ("&PHASE=RUN" if run else ""))
    c.close()
    if st != 303 or not loc:
        print("create: HTTP %d" % st, file=sys.stderr)
        return 1
    print("/rest/copy/" + loc.rstrip("/").rsplit("/", 1)[1])
    return 0


def db_open(db):
    return sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=10)


def count(db, phase=None):
    con = db_open(db)
    try:
        if phase is None:
            n = con.execute("SELECT count(*) FROM jobs").fetchone()[0]
        else:
            n = con.execute("SELECT count(*) FROM jobs WHERE phase = ?",
                            (PHASES[phase],)).fetchone()[0]
    finally:
        con.close()
    print(n)
    return 0


def waiting(port):
    st, body = get(port, "/availability")
    m = re.search(rb"(\d+) clients waiting", body)
    print(m.group(1).decode() if m else "?")
    return 0


async def one_waiter(port, path, ready, go, done_timeout):
    try:
        r, w = await asyncio.open_connection(HOST, port)
    except OSError:
        ready.append(False)
        return None
    w.write(("GET %s?WAIT=60 HTTP/1.1\r\nHost: %s:%d\r\nConnection: close\r\n\r\n"
             % (path, HOST, port)).encode())
    try:
        await w.drain()
    except OSError:
        ready.append(False)
        return None
    ready.append(True)
    try:
        line = await asyncio.wait_for(r.readline(), done_timeout)
        # Read the rest so that the whole response was delivered.
        await asyncio.wait_for(r.read(), 10)
    except (asyncio.TimeoutError, OSError):
        line = b""
    w.close()
    parts = line.split()
    return int(parts[1]) if len(parts) >= 2 and parts[1].isdigit() else None


async def waiters_main(port, path, n, secs):
    ready = []
    tasks = []
    for _ in range(n):
        tasks.append(asyncio.ensure_future(one_waiter(port, path, ready, None, secs)))
        if len(tasks) % 100 == 0:
            await asyncio.sleep(0.01)  # let the backlog drain
    end = time.monotonic() + 20
    while len(ready) < n and time.monotonic() < end:
        await asyncio.sleep(0.01)
    print("ready %d" % sum(ready), flush=True)
    res = await asyncio.gather(*tasks)
    ok = sum(1 for s in res if s == 200)
    other = sum(1 for s in res if s is not None and s != 200)
    none = sum(1 for s in res if s is None)
    print("answered %d other %d none %d" % (ok, other, none), flush=True)
    return 0


def waiters(port, path, n, secs):
    return asyncio.run(waiters_main(int(port), path, int(n), float(secs)))


def phase(port, path, ph):
    c = http.client.HTTPConnection(HOST, port, timeout=10)
    st, _ = post(c, path + "/phase", "PHASE=" + ph)
    c.close()
    print(st)
    return 0


def burst(port, db, n, conc, secs):
    port, n, conc, secs = int(port), int(n), int(conc), float(secs)
    con = db_open(db)
    base = con.execute("SELECT count(*) FROM jobs WHERE phase = 3").fetchone()[0]
    lock = threading.Lock()
    state = {"left": n, "created": 0, "errors": 0}
    barrier = threading.Barrier(conc + 1)

    def worker():
        c = http.client.HTTPConnection(HOST, port, timeout=30)
        c.connect()
        barrier.wait()
        while True:
            with lock:
                if state["left"] == 0:
                    break
                state["left"] -= 1
            try:
                st, _ = post(c, "/rest/copy", "text=x&PHASE=RUN")
            except (OSError, http.client.HTTPException):
                st = 0
                c.close()
                c = http.client.HTTPConnection(HOST, port, timeout=30)
            with lock:
                if st == 303:
                    state["created"] += 1
                else:
                    state["errors"] += 1
        c.close()

    threads = [threading.Thread(target=worker) for _ in range(conc)]
    for t in threads:
        t.start()
    barrier.wait()
    t0 = time.monotonic()
    for t in threads:
        t.join()
    t_posted = time.monotonic() - t0
    end = t0 + secs
    done = 0
    while True:
        done = con.execute("SELECT count(*) FROM jobs WHERE phase = 3").fetchone()[0] - base
        if done >= state["created"] or time.monotonic() > end:
            break
        time.sleep(0.005)
    el = time.monotonic() - t0
    failed = con.execute("SELECT count(*) FROM jobs WHERE phase = 4").fetchone()[0]
    con.close()
    rate = done / el if el > 0 else 0
    print("%.0f %d %d %d %.2f %.2f %d" % (rate, state["created"], done, state["errors"], el,
                                          t_posted, failed))
    return 0


def bashcost(n, out):
    """Mean wall time (ms) of one serial `bash -c "printf ... > file"`: the floor
    of a `copy` job's run time on this machine."""
    import subprocess
    n = int(n)
    t0 = time.monotonic()
    for _ in range(n):
        subprocess.run(["/bin/bash", "-c", "printf '%s\\n' x > \"$1\"", "bash", out],
                       stdin=subprocess.DEVNULL, check=False)
    print("%.2f" % ((time.monotonic() - t0) * 1000 / n))
    return 0


def chain_run(conn, body, secs):
    """Creates and runs one job; waits (WAIT, no polling) for its final phase."""
    st, loc = post(conn, "/rest/chain", body)
    if st != 303 or not loc:
        return None, "create: HTTP %d" % st
    path = "/rest/chain/" + loc.rstrip("/").rsplit("/", 1)[1]
    end = time.monotonic() + secs
    while time.monotonic() < end:
        conn.request("GET", path + "/phase")
        r = conn.getresponse()
        ph = r.read().decode().strip()
        if ph == "COMPLETED":
            return path, None
        if ph in ("ERROR", "ABORTED"):
            return None, "%s ended %s" % (path, ph)
        conn.request("GET", path + "?WAIT=5&PHASE=" + ph)
        conn.getresponse().read()
    return None, "%s did not end in %s s" % (path, secs)


def chain(port, n, secs):
    """N jobs, each using the result of the one before: a lineage N activities long."""
    import urllib.parse
    port, n, secs = int(port), int(n), float(secs)
    c = http.client.HTTPConnection(HOST, port, timeout=60)
    t0 = time.monotonic()
    prev, done = None, 0
    for k in range(n):
        data = {"label": str(k), "PHASE": "RUN"}
        if prev:
            data["data"] = prev.rsplit("/", 1)[1] + "/out"
        path, err = chain_run(c, urllib.parse.urlencode(data), secs)
        if err:
            print("chain: job %d: %s" % (k, err), file=sys.stderr)
            break
        prev, done = path, done + 1
    c.close()
    print("%s %.1f %d" % (prev.rsplit("/", 1)[1] if prev else "-", time.monotonic() - t0, done))
    return 0 if done == n else 1


def provtime(port, ident, fmt, n):
    import json
    port, n = int(port), int(n)
    c = http.client.HTTPConnection(HOST, port, timeout=300)
    path = "/provsap?ID=%s&DEPTH=ALL&RESPONSEFORMAT=%s" % (ident, fmt)
    times, size, acts = [], 0, -1
    for _ in range(n):
        t0 = time.monotonic()
        c.request("GET", path)
        r = c.getresponse()
        body = r.read()
        times.append((time.monotonic() - t0) * 1000)
        if r.status != 200:
            print("provtime: HTTP %d: %s" % (r.status, body[:200]), file=sys.stderr)
            return 1
        size = len(body)
    c.close()
    if fmt == "PROV-JSON":
        acts = len(json.loads(body).get("activity", {}))
    times.sort()
    print("%.1f %.1f %d %d" % (times[len(times) // 2], times[-1], size, acts))
    return 0


def svgcheck(port, ident):
    """The PROV-SVG of ident (DEPTH=ALL) is well-formed XML with an SVG root and
    a link on every drawn node; exit status 1 (and why on stderr) if not."""
    import xml.etree.ElementTree as ET
    st, body = get(int(port), "/provsap?ID=%s&DEPTH=ALL&RESPONSEFORMAT=PROV-SVG" % ident, 300)
    try:
        root = ET.fromstring(body)
    except ET.ParseError as e:
        print("svgcheck: not well-formed: %s" % e, file=sys.stderr)
        return 1
    ns = "{http://www.w3.org/2000/svg}"
    nodes = [g for g in root.iter(ns + "g") if g.get("class") == "node"]
    links = [g for g in nodes if g.find(ns + "a") is not None]
    if st != 200 or root.tag != ns + "svg" or not nodes or len(links) < len(nodes) // 2:
        print("svgcheck: HTTP %d, %d nodes, %d with links" % (st, len(nodes), len(links)),
              file=sys.stderr)
        return 1
    return 0


def position(db, jobdef, n):
    """The Nth newest job of jobdef in the list's order (creation time, then id)."""
    con = db_open(db)
    try:
        row = con.execute("SELECT creation_time, id FROM jobs WHERE jobdef = ? AND phase != 9 "
                          "ORDER BY creation_time DESC, id DESC LIMIT 1 OFFSET ?",
                          (jobdef, int(n))).fetchone()
    finally:
        con.close()
    if not row:
        print("position: fewer than %s jobs" % n, file=sys.stderr)
        return 1
    ms = int(row[0])
    print("%s.%03dZ,%s" % (time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)),
                           ms % 1000, row[1]))
    return 0


def main(a):
    cmds = {"freeport": lambda: freeport(), "wait-up": lambda: wait_up(*a[1:4]),
            "create": lambda: create(int(a[1]), len(a) > 2 and a[2] == "run"),
            "count": lambda: count(a[1], a[2] if len(a) > 2 else None),
            "waiting": lambda: waiting(int(a[1])), "waiters": lambda: waiters(*a[1:5]),
            "phase": lambda: phase(int(a[1]), a[2], a[3]),
            "burst": lambda: burst(*a[1:6]), "bashcost": lambda: bashcost(*a[1:3]),
            "chain": lambda: chain(*a[1:4]), "provtime": lambda: provtime(*a[1:5]),
            "svgcheck": lambda: svgcheck(*a[1:3]), "position": lambda: position(*a[1:4])}
    if len(a) < 1 or a[0] not in cmds:
        print(__doc__, file=sys.stderr)
        return 2
    return cmds[a[0]]() or 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
