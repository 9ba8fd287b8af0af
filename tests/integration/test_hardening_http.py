"""HTTP hardening (issue 11): ISO 8601 basic format, empty Basic credentials,
raw NUL bytes in bodies and request lines, request lines past the caps,
cross-site requests and CORS, uploads cut by a full disk, and the access log's
'-' for an unknown user.
"""
import re
import socket
import subprocess
import time

import pytest

from conftest import assert_plain_error, wait_until

FORM = "application/x-www-form-urlencoded"


def raw(port, data, timeout=5.0):
    """Sends raw bytes; returns (status or None, whole answer, seconds taken)."""
    t0 = time.monotonic()
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    buf = b""
    try:
        s.sendall(data)
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
    except socket.timeout:
        pass
    except (ConnectionResetError, BrokenPipeError):
        pass
    finally:
        s.close()
    took = time.monotonic() - t0
    m = re.match(rb"HTTP/1\.[01] (\d{3}) ", buf)
    return (int(m.group(1)) if m else None), buf, took


def get_line(path):
    return b"GET " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"


# ------------------------------------------------------- item 2: ISO 8601 basic

def test_basic_format_destruction_is_accepted(client):
    job = client.create("echo", {"text": "t", "DESTRUCTION": "20301026T091535Z"})
    assert client.job(job)["destruction"] == "2030-10-26T09:15:35.000Z"
    r = client.post(job + "/destruction", data={"DESTRUCTION": "20311231"})
    assert r.status_code == 303, r.text
    assert client.job(job)["destruction"] == "2031-12-31T00:00:00.000Z"


@pytest.mark.parametrize("after", ["20151026", "20151026T091535Z", "20151026T0915",
                                   "20151026T09+0100", "2015-10-26T09"])
def test_basic_format_after_is_accepted(client, after):
    job = client.create("echo", {"text": "t"})
    assert job.rsplit("/", 1)[1] in client.list_ids("echo", {"AFTER": after})


def test_basic_format_after_filters(client):
    job = client.create("echo", {"text": "t"})
    assert job.rsplit("/", 1)[1] not in client.list_ids("echo", {"AFTER": "29991231T235959Z"})


@pytest.mark.parametrize("value", ["201510", "20151026T09:15:35Z", "2015-10-26T091535", "soon"])
def test_bad_times_say_which_forms_are_accepted(client, value):
    r = client.get("/rest/echo", params={"AFTER": value})
    assert_plain_error(r, 400)
    assert r.text.startswith("AFTER: ") and "YYYYMMDD[Thh[mm[ss" in r.text \
        and "YYYY[-MM[-DD[Thh[:mm" in r.text, r.text
    r = client.post("/rest/echo", data={"text": "t", "DESTRUCTION": value})
    assert_plain_error(r, 400)
    assert r.text.startswith("DESTRUCTION: ") and "YYYYMMDD" in r.text, r.text


# ------------------------------------------------------- item 4: empty credentials

def test_empty_credentials_are_anonymous(daemon):
    c = daemon.client(auth=("", ""))
    r = c.get("/rest/echo")
    assert r.status_code == 200, r.text
    assert r.request.headers["Authorization"] == "Basic Og=="
    job = c.create("echo", {"text": "t"})
    assert c.job(job)["ownerId"] is None
    # the same job is the anonymous user's: a client without credentials sees it
    assert daemon.client().get(job).status_code == 200


def test_empty_name_with_token_is_refused(daemon):
    r = daemon.client(auth=("", "some-token")).get("/rest/echo")
    assert_plain_error(r, 401)
    assert r.text.strip() == "wrong credentials"


def test_empty_credentials_without_anonymous_access_are_401(daemon_factory):
    d = daemon_factory({"server": {"allow_anonymous": "false"}})
    r = d.client(auth=("", "")).get("/rest/echo")
    assert_plain_error(r, 401)
    assert r.text.strip() == "credentials required"
    assert "WWW-Authenticate" in r.headers


# ------------------------------------------------------- item 14: raw NUL bytes

def test_raw_nul_in_urlencoded_body_is_400(client):
    before = client.list_ids("echo")
    r = client.post("/rest/echo", data=b"text=t&RUNID=ab\x00cd", headers={"Content-Type": FORM})
    assert_plain_error(r, 400)
    assert "NUL" in r.text
    assert client.list_ids("echo") == before


def test_raw_nul_in_parameter_change_is_400(client):
    job = client.create("echo", {"text": "before"})
    r = client.post(job + "/parameters", data=b"text=ab\x00cd", headers={"Content-Type": FORM})
    assert_plain_error(r, 400)
    assert client.job(job)["parameters"]["text"]["value"] == "before"


@pytest.mark.parametrize("path", [b"/\x00/etc/passwd", b"/availability\x00x", b"/rest/echo?a=b\x00c"])
def test_raw_nul_in_request_line_is_400(daemon, path):
    status, body, _ = raw(daemon.port, get_line(path))
    assert status == 400, body[:300]
    assert b"NUL" in body


# ------------------------------------------------------- item 15: request-line caps

@pytest.mark.parametrize("nargs", [950, 2000])
def test_many_query_arguments_are_answered_at_once(daemon, nargs):
    q = "&".join(f"a{i}=b" for i in range(nargs)).encode()
    status, body, took = raw(daemon.port, get_line(b"/rest/echo?" + q))
    assert status in (414, 431), (status, body[:300])
    assert took < 4, f"answered after {took:.1f}s"
    assert daemon.client().get("/availability").status_code == 200


def test_overlong_request_line_is_414_at_once(daemon):
    status, body, took = raw(daemon.port, get_line(b"/rest/echo?x=" + b"y" * 9000))
    assert status == 414, body[:300]
    assert took < 4


def test_request_line_at_the_caps_is_served(daemon):
    # 256 arguments in a URI just under 8 KiB, with a few KiB of headers
    args = ["PHASE=PENDING"] * 255
    path = b"/rest/echo?" + "&".join(args).encode() + b"&x="
    path += b"y" * (8190 - len(path))
    pad = b"X-Pad: " + b"p" * 4000 + b"\r\n"
    line = b"GET " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" + pad + b"\r\n"
    status, body, _ = raw(daemon.port, line)
    assert status == 200, body[:300]


# ------------------------------------------------------- item 16: cross-site requests

def test_foreign_origin_cannot_delete(client):
    job = client.create("echo", {"text": "t"})
    r = client.post(job, data={"ACTION": "DELETE"}, headers={"Origin": "http://evil.example"})
    assert_plain_error(r, 403)
    assert "cross-site" in r.text and "http://evil.example" in r.text
    assert client.get(job).status_code == 200
    r = client.delete(job, headers={"Origin": "http://evil.example"})
    assert_plain_error(r, 403)
    assert client.get(job).status_code == 200


def test_cross_site_fetch_without_origin_is_refused(client):
    before = client.list_ids("echo")
    r = client.post("/rest/echo", data={"text": "t"}, headers={"Sec-Fetch-Site": "cross-site"})
    assert_plain_error(r, 403)
    assert client.list_ids("echo") == before


def test_foreign_origin_null_is_refused(client):
    r = client.post("/rest/echo", data={"text": "t"}, headers={"Origin": "null"})
    assert_plain_error(r, 403)


def test_same_origin_and_no_origin_work(client, daemon):
    job = client.create("echo", {"text": "t"})
    r = client.post(job + "/parameters", data={"text": "u"},
                    headers={"Origin": daemon.base, "Sec-Fetch-Site": "same-origin"})
    assert r.status_code == 303, r.text
    r = client.post(job, data={"ACTION": "DELETE"})  # curl, pyvo: no Origin at all
    assert r.status_code == 303, r.text
    assert client.get(job).status_code == 404


def test_safe_methods_from_any_origin_work_without_cors_headers(client):
    r = client.get("/rest/echo", headers={"Origin": "http://evil.example"})
    assert r.status_code == 200
    assert "Access-Control-Allow-Origin" not in r.headers
    assert "Origin" in r.headers.get("Vary", "")


def test_no_wildcard_cors_anywhere(daemon):
    c = daemon.client()
    job = c.create("echo", {"text": "t"})
    for r in (c.get("/"), c.get("/availability"), c.get("/capabilities"), c.get("/nope"),
              c.get(job), c.get("/rest/echo", headers={"Origin": "http://evil.example"}),
              c.post("/rest/echo", data={"text": "t"}), c.options("/rest/echo")):
        assert r.headers.get("Access-Control-Allow-Origin") != "*", (r.url, r.headers)
        assert "Access-Control-Allow-Origin" not in r.headers, (r.url, r.headers)


def test_options_is_not_405(client):
    for path in ("/rest/echo", "/availability", "/jdl", "/"):
        r = client.options(path)
        assert r.status_code == 204, (path, r.status_code, r.text)
        assert "OPTIONS" in r.headers.get("Allow", ""), r.headers
    assert client.options("/nope").status_code == 404


def test_preflight_from_foreign_origin_is_refused(client):
    r = client.options("/rest/echo", headers={"Origin": "http://evil.example",
                                              "Access-Control-Request-Method": "POST"})
    assert r.status_code == 403
    assert "Access-Control-Allow-Origin" not in r.headers


APP = "https://app.example"


@pytest.fixture(scope="module")
def cors_daemon(module_factory):
    return module_factory({"server": {"cors_origins": f"{APP}/, http://other.example:8000",
                                      "allow_anonymous": "false"}},
                          users=[("alice", False)], name="cors")


def test_configured_origin_preflight(cors_daemon):
    # no credentials: a preflight never carries them
    r = cors_daemon.client().options("/rest/echo", headers={
        "Origin": APP, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type"})
    assert r.status_code == 204, r.text
    h = r.headers
    assert h["Access-Control-Allow-Origin"] == APP
    assert h["Access-Control-Allow-Credentials"] == "true"
    assert "POST" in h["Access-Control-Allow-Methods"]
    allow_headers = h["Access-Control-Allow-Headers"].lower()
    assert "authorization" in allow_headers and "content-type" in allow_headers
    assert int(h["Access-Control-Max-Age"]) > 0
    assert "Origin" in h["Vary"]


def test_configured_origin_may_post(cors_daemon):
    c = cors_daemon.client(auth=("alice", cors_daemon.tokens["alice"]))
    for origin in (APP, "http://other.example:8000"):
        r = c.post("/rest/echo", data={"text": "t"}, headers={"Origin": origin})
        assert r.status_code == 303, r.text
        assert r.headers["Access-Control-Allow-Origin"] == origin
        assert r.headers["Access-Control-Allow-Credentials"] == "true"
        assert "Location" in r.headers.get("Access-Control-Expose-Headers", "")
        job = r.headers["Location"]
        r = c.post(job, data={"ACTION": "DELETE"}, headers={"Origin": origin})
        assert r.status_code == 303, r.text
    r = c.post("/rest/echo", data={"text": "t"}, headers={"Origin": "https://app.example.evil"})
    assert_plain_error(r, 403)


def test_bad_cors_origins_setting_refuses_to_start(daemon_factory):
    d = daemon_factory({"server": {"cors_origins": "*"}}, start=False)
    try:
        r = d.run_cli("--config", str(d.config_path), timeout=15)
    except subprocess.TimeoutExpired:
        pytest.fail("opusd started with server.cors_origins = *")
    assert r.returncode != 0
    assert "cors_origins" in r.stderr, r.stderr


# ------------------------------------------------------- item 18: upload on a full disk

@pytest.fixture
def small_tmpfs(tmp_path):
    mnt = tmp_path / "full" / "data"
    mnt.mkdir(parents=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs", str(mnt)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    yield mnt
    if subprocess.run(["umount", str(mnt)], capture_output=True).returncode != 0:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def test_upload_on_full_disk_is_507(small_tmpfs, daemon_factory):
    d = daemon_factory(name="full")
    try:
        assert str(d.data_dir) == str(small_tmpfs)
        c = d.client()
        before = c.list_ids("upload")
        r = c.post("/rest/upload", files={"input": ("big.bin", b"z" * (4 << 20),
                                                    "application/octet-stream")})
        assert_plain_error(r, 507)
        assert "space" in r.text, r.text
        assert c.list_ids("upload") == before
        # only what was in flight failed: the space is back, the daemon serves on
        assert c.get("/availability").status_code == 200
        job = c.create("upload", files={"input": ("small.txt", b"hello", "text/plain")},
                       run=True)
        assert c.wait_for_phase(job, ("COMPLETED", "ERROR")) == "COMPLETED"
    finally:
        d.close()


# ------------------------------------------------------- item 20: access log

def test_access_log_says_dash_for_unknown_user(daemon):
    r = daemon.client(auth=("nobody", "wrong")).get("/rest/echo?probe=dash")
    assert r.status_code == 401
    wait_until(lambda: re.search(r"GET /rest/echo 401 \d+ms -$", daemon.log_text(), re.M),
               5, what="access log line with '-' for the refused user")


def test_access_log_line_cannot_be_forged(daemon):
    # %0A decodes to a line feed in the path: it must not start a line of its own
    r = daemon.client().get("/rest/echo%0A2026-01-01T00:00:00.000Z%20info%20%20forged%20line")
    assert r.status_code == 404
    wait_until(lambda: "forged" in daemon.log_text(), 5, what="the access log line")
    lines = [ln for ln in daemon.log_text().splitlines() if "forged" in ln]
    assert lines and all(" GET /rest/echo%0A" in ln for ln in lines), lines
    assert not any(ln.startswith("2026-01-01") for ln in lines), lines
    assert any("GET /rest/echo%0A2026-01-01T00:00:00.000Z%20info%20%20forged%20line 404" in ln
               for ln in lines), lines
