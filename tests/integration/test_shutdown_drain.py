"""Shutdown drain: once SIGTERM arrived, nothing new is routed into the
scheduler. A POST whose headers were read before the stop and whose body
comes after gets 503 (or its connection closed) and creates no job; WAITs in
progress are answered; the daemon exits cleanly.
"""
import signal
import socket

from conftest import wait_until


def read_until(sock, marker, limit=65536):
    data = b""
    while marker not in data and len(data) < limit:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def test_body_after_sigterm_is_not_routed(daemon_factory):
    d = daemon_factory()
    c = d.client()
    # a running job makes the stop take its kill grace: a window for the body
    busy = c.create("sleeper", {"secs": "30"}, run=True)
    assert c.wait_for_phase(busy, "EXECUTING") == "EXECUTING"
    before = set(c.list_ids("echo"))

    body = b"text=late&PHASE=RUN"
    s = socket.create_connection(("127.0.0.1", d.port), timeout=20)
    s.sendall(b"POST /rest/echo HTTP/1.1\r\nHost: 127.0.0.1\r\n"
              b"Content-Type: application/x-www-form-urlencoded\r\n"
              b"Expect: 100-continue\r\n"
              b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n")
    # 100 Continue: the headers went through the handler before the stop
    assert read_until(s, b"\r\n\r\n").startswith(b"HTTP/1.1 100")
    d.signal(signal.SIGTERM)
    wait_until(lambda: "SIGTERM" in d.log_text(), 10, what="the stop to begin")
    try:
        s.sendall(body)
        answer = read_until(s, b"\r\n\r\n")
    except OSError:
        answer = b""  # closed by the stop: refused as well
    s.close()
    assert not answer.startswith(b"HTTP/1.1 303"), answer
    if answer:
        assert answer.startswith(b"HTTP/1.1 503"), answer
    d.stop()  # exit status 0, no sanitizer report

    d.start()
    c = d.client()
    assert set(c.list_ids("echo")) == before  # no job was created
    c.close()


def test_wait_in_progress_is_answered_at_stop(daemon_factory):
    d = daemon_factory()
    c = d.client()
    url = c.create("echo", {"text": "x"})  # PENDING: a WAIT blocks up to its cap
    path = url[len(d.base):]
    s = socket.create_connection(("127.0.0.1", d.port), timeout=20)
    s.sendall(f"GET {path}?WAIT=30 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    wait_until(lambda: "1 clients waiting" in c.get("/availability").text, 10,
               what="the WAIT to be registered")
    d.signal(signal.SIGTERM)
    answer = read_until(s, b"</uws:job>")
    s.close()
    assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
    assert b"PENDING" in answer
    d.stop()


def test_new_connections_are_refused_once_the_stop_began(daemon_factory):
    # a job that ignores SIGTERM holds the stop in its kill grace: the daemon
    # is still alive, and its listening socket must refuse, not queue, clients
    d = daemon_factory(config={"jobs": {"kill_grace_ms": "5000"}})
    c = d.client()
    url = c.create("stubborn", {"secs": "30"}, run=True)
    assert c.wait_for_phase(url, "EXECUTING") == "EXECUTING"
    wait_until(lambda: d.job_dir(url.rsplit("/", 1)[1]).joinpath("child.txt").exists(),
               10, what="the job to trap SIGTERM")
    c.close()
    d.signal(signal.SIGTERM)
    wait_until(lambda: "SIGTERM" in d.log_text(), 10, what="the stop to begin")

    def refused():
        try:
            socket.create_connection(("127.0.0.1", d.port), timeout=2).close()
        except ConnectionRefusedError:
            return True
        return False

    wait_until(refused, 4, what="connections to be refused")
    assert d.proc.poll() is None  # refused while the daemon still stops its job
    d.stop()  # exit status 0, no sanitizer report
