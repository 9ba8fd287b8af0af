"""Inputs by reference (issue 3, item 3) and input validation (item 2).

An input (a Used entity, or a parameter of datatype file) may be an upload, a
URL (http, https, file below inputs.file_roots), an ID put into the
description's url template, or a stored entity of opusd ("{job id}/{result
id}" or the URL of that result). A loopback HTTP server in this module serves
the remote side; the main daemon allows private addresses (test config), a
second daemon with the default config shows the SSRF guard refusing them.
"""
import http.server
import os
import threading
import time
from pathlib import Path

import pytest

from conftest import assert_plain_error

BIG = 200_000
MAX_INPUT = 100_000


class Handler(http.server.BaseHTTPRequestHandler):
    hits = []

    def log_message(self, *a):
        pass

    def send_body(self, body, ctype="text/plain", extra=()):
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def redirect(self, to):
        self.send_response(302)
        self.send_header("Location", to)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self):
        Handler.hits.append(self.path)
        p = self.path
        port = self.server.server_address[1]
        if p.startswith("/data/"):
            self.send_body(f"content of {p[6:]}\n".encode(),
                           extra=[("Content-Disposition", 'attachment; filename="../../evil"')])
        elif p == "/fits":
            self.send_body(b"SIMPLE  =                    T", "application/fits; charset=x")
        elif p == "/big":
            self.send_body(b"x" * BIG)
        elif p == "/redirect-data":
            self.redirect(f"http://127.0.0.1:{port}/data/moved")
        elif p == "/redirect-file":
            self.redirect("file:///etc/passwd")
        elif p == "/redirect-https":
            self.redirect(f"https://127.0.0.1:{port}/data/x")
        elif p == "/slow":
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            try:
                for _ in range(300):
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.1)
            except OSError:
                pass
        else:
            self.send_error(404)


@pytest.fixture(scope="module")
def remote():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def used_jobdef(name, entity, script, multiplicity="1", url="", content_type=""):
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<VOTABLE xmlns="http://www.ivoa.net/xml/VOTable/v1.3" version="1.3">
  <RESOURCE ID="{name}" name="{name}" type="meta" utype="voprov:ActivityDescription">
    <DESCRIPTION>inputs test</DESCRIPTION>
    <PARAM name="executionDuration" value="20" datatype="int" utype="uws:Job.executionDuration"/>
    <PARAM name="script" value="{script}" arraysize="*" datatype="char"/>
    <GROUP name="InputParams"/>
    <GROUP name="Used">
      <GROUP name="{entity}" utype="voprov:UsedDescription">
        <PARAM name="multiplicity" value="{multiplicity}" arraysize="*" datatype="char"/>
        <PARAM name="content_type" value="{content_type}" arraysize="*" datatype="char"/>
        <PARAM name="url" value="{url}" arraysize="*" datatype="char"/>
      </GROUP>
    </GROUP>
    <GROUP name="Generated">
      <GROUP name="out" utype="voprov:WasGeneratedBy">
        <PARAM name="default" value="out.txt" arraysize="*" datatype="char"/>
      </GROUP>
    </GROUP>
  </RESOURCE>
</VOTABLE>
"""


def install_jobdefs(d, remote):
    files = {
        "fetch1": used_jobdef("fetch1", "data", "cat &quot;$data&quot; &gt; out.txt",
                              url=f"{remote}/data/$ID"),
        "fetchmany": used_jobdef("fetchmany", "parts", "cat $parts &gt; out.txt", "n"),
        "fetchstar": used_jobdef("fetchstar", "extra", "echo ok &gt; out.txt", "*"),
        "fetchfits": used_jobdef("fetchfits", "img", "cp &quot;$img&quot; out.txt",
                                 content_type="application/fits"),
        "fetchfile": used_jobdef("fetchfile", "src", "cat &quot;$src&quot; &gt; out.txt",
                                 url="file://$ID"),
    }
    for name, doc in files.items():
        (d.jdl_dir / f"{name}.xml").write_text(doc)


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    r = tmp_path_factory.mktemp("inputs-root")
    (r / "in.txt").write_text("local file\n")
    (r / "sub").mkdir()
    (r / "sub" / "deep.txt").write_text("deep file\n")
    os.symlink("/etc/passwd", r / "escape.txt")
    return r


@pytest.fixture(scope="module")
def daemon(module_factory, remote, root):
    d = module_factory({"inputs": {"allow_private_addresses": "true",
                                   "file_roots": str(root),
                                   "max_input_size": MAX_INPUT,
                                   "fetch_timeout": 20}},
                       users=[("alice", False), ("bob", False)], start=False)
    install_jobdefs(d, remote)
    d.start()
    return d


def run_job(client, jobdef, data=None, files=None, timeout=20):
    url = client.create(jobdef, data=data, files=files, run=True)
    phase = client.wait_for_phase(url, ("COMPLETED", "ERROR", "ABORTED"), timeout=timeout)
    return url, phase


def completed_output(client, jobdef, data=None, files=None, result="out"):
    url, phase = run_job(client, jobdef, data, files)
    assert phase == "COMPLETED", client.get(url + "/error").text
    r = client.get(url + "/results/" + result)
    assert r.status_code == 200
    return url, r.content


def error_of(client, jobdef, data, timeout=20):
    url, phase = run_job(client, jobdef, data, timeout=timeout)
    assert phase == "ERROR", f"{jobdef} {data}: {phase}"
    return client.get(url + "/error").text


def refused(client, jobdef, data, files=None):
    r = client.post(f"/rest/{jobdef}", data=data, files=files)
    assert_plain_error(r, 400)
    return r.text


# ------------------------------------------------------------------ by URL

def test_file_parameter_takes_an_http_url(client, remote):
    url, out = completed_output(client, "upload", {"input": f"{remote}/data/hello"},
                                result="output")
    assert out == b"content of hello\n"
    assert client.job(url)["parameters"]["input"]["value"] == f"{remote}/data/hello"


def test_fetched_file_has_a_safe_local_name(client, daemon, remote):
    url, _ = completed_output(client, "fetch1", {"data": "named"})
    jdir = daemon.job_dir(url.rsplit("/", 1)[1])
    assert (jdir / "data").read_text() == "content of named\n"
    assert not list(daemon.root.rglob("evil")), "Content-Disposition name was used"


def test_redirect_with_the_same_scheme_is_followed(client, remote):
    _, out = completed_output(client, "fetch1", {"data": f"{remote}/redirect-data"})
    assert out == b"content of moved\n"


@pytest.mark.parametrize("path,why", [
    ("/redirect-file", "scheme"),
    ("/redirect-https", "scheme"),
    ("/missing", "HTTP 404"),
    ("/big", "larger than"),
])
def test_download_failures_end_in_error(client, remote, path, why):
    err = error_of(client, "fetch1", {"data": remote + path})
    assert why in err and "data" in err, err


def test_other_schemes_are_refused(client):
    for v in ("ftp://example.org/x", "gopher://example.org/", "dict://127.0.0.1:11211/"):
        assert "scheme" in refused(client, "fetch1", {"data": v})


# ------------------------------------------------------------ ID template

def test_id_goes_through_the_url_template(client, remote):
    before = len(Handler.hits)
    _, out = completed_output(client, "fetch1", {"data": "M31"})
    assert out == b"content of M31\n"
    assert "/data/M31" in Handler.hits[before:]


def test_id_is_percent_encoded_in_the_template(client):
    _, out = completed_output(client, "fetch1", {"data": "a b&c=d#e?f"})
    assert out == b"content of a%20b%26c%3Dd%23e%3Ff\n"


def test_id_without_a_template_is_refused(client):
    assert "url template" in refused(client, "fetchmany", {"parts": "M31", "PHASE": "RUN"})


# ----------------------------------------------------------- file:// roots

def test_file_url_below_a_root(client, root):
    _, out = completed_output(client, "fetchfile", {"src": f"file://{root}/in.txt"})
    assert out == b"local file\n"


def test_file_id_through_the_template(client, root):
    _, out = completed_output(client, "fetchfile", {"src": f"{root}/sub/deep.txt"})
    assert out == b"deep file\n"


@pytest.mark.parametrize("value", ["file:///etc/passwd", "file://{root}/../../etc/passwd",
                                   "file://{root}/%2e%2e/x", "file://otherhost/etc/passwd",
                                   "/etc/passwd", "file://{root}/a%00b"])
def test_file_url_outside_the_roots_is_refused(client, root, value):
    text = refused(client, "fetchfile", {"src": value.format(root=root)})
    assert text.startswith("src: "), text


def test_symlink_out_of_a_root_is_refused_at_fetch(client, root):
    err = error_of(client, "fetchfile", {"src": f"file://{root}/escape.txt"})
    assert "outside" in err, err


# ---------------------------------------------------------- stored entities

def test_stored_entity_chains_jobs(client, daemon):
    first, _ = completed_output(client, "upload", files={"input": ("a.txt", b"chained\n")},
                                result="output")
    first_id = first.rsplit("/", 1)[1]
    before = len(Handler.hits)
    for value in (f"{first_id}/output", first + "/results/output"):
        _, out = completed_output(client, "fetch1", {"data": value})
        assert out == b"chained\n"
    assert len(Handler.hits) == before, "a stored entity was downloaded"


def test_unknown_stored_entity_is_refused(client):
    text = refused(client, "fetch1", {"data": "0" * 32 + "/output"})
    assert "no stored entity" in text


def test_stored_entity_of_another_user_is_refused(daemon):
    alice = daemon.client(("alice", daemon.tokens["alice"]))
    bob = daemon.client(("bob", daemon.tokens["bob"]))
    first, _ = completed_output(alice, "upload", files={"input": ("a.txt", b"secret\n")},
                                result="output")
    first_id = first.rsplit("/", 1)[1]
    assert "no stored entity" in refused(bob, "fetch1", {"data": f"{first_id}/output"})
    _, out = completed_output(alice, "fetch1", {"data": f"{first_id}/output"})
    assert out == b"secret\n"


# ------------------------------------------------------------- multiplicity

def test_multiplicity_one(client, remote):
    text = refused(client, "fetch1", {"data": f"{remote}/data/a\n{remote}/data/b"})
    assert "at most 1 input" in text
    text = refused(client, "fetch1", {"PHASE": "RUN"})
    assert "data: exactly 1 input required" in text


def test_multiplicity_n_takes_several_in_order(client, remote):
    data = [("parts", f"{remote}/data/one"), ("parts", f"{remote}/data/two"),
            ("parts", f"{remote}/data/three")]
    url = client.post("/rest/fetchmany", data=data + [("PHASE", "RUN")])
    assert url.status_code == 303, url.text
    loc = url.headers["Location"]
    assert client.wait_for_phase(loc, ("COMPLETED", "ERROR")) == "COMPLETED", \
        client.get(loc + "/error").text
    assert client.get(loc + "/results/out").content == \
        b"content of one\ncontent of two\ncontent of three\n"
    text = refused(client, "fetchmany", {"PHASE": "RUN"})
    assert "parts: at least 1 input required" in text


def test_multiplicity_star_allows_none(client):
    _, out = completed_output(client, "fetchstar")
    assert out == b"ok\n"


def test_upload_and_reference_together_are_refused(client, remote):
    text = refused(client, "fetchmany", {"parts": f"{remote}/data/x"},
                   files={"parts": ("p.txt", b"x")})
    assert "not both" in text


# ------------------------------------------------------------- content type

def test_upload_content_type_must_match(client):
    text = refused(client, "fetchfits", {}, files={"img": ("a.fits", b"<html>", "text/html")})
    assert "img: content type text/html, expected application/fits" in text
    for ctype in ("application/fits", "application/octet-stream"):
        client.create("fetchfits", files={"img": ("a.fits", b"SIMPLE", ctype)})


def test_fetched_content_type_must_match(client, remote):
    completed_output(client, "fetchfits", {"img": f"{remote}/fits"})
    err = error_of(client, "fetchfits", {"img": f"{remote}/data/x"})
    assert "content type text/plain, expected application/fits" in err


# ------------------------------------------------------- stopping a fetch

def test_abort_stops_a_slow_download(client, remote):
    url = client.create("fetch1", {"data": f"{remote}/slow"}, run=True)
    client.wait_for_phase(url, "EXECUTING")
    t0 = time.monotonic()
    client.set_phase(url, "ABORT")
    assert client.wait_for_phase(url, "ABORTED", timeout=5) == "ABORTED"
    assert time.monotonic() - t0 < 5


def test_execution_duration_covers_the_download(client, remote):
    url = client.create("fetch1", {"data": f"{remote}/slow", "EXECUTIONDURATION": "1"},
                        run=True)
    assert client.wait_for_phase(url, ("ERROR", "COMPLETED"), timeout=10) == "ERROR"
    assert "execution duration exceeded" in client.get(url + "/error").text


def test_delete_during_a_download(client, daemon, remote):
    url = client.create("fetch1", {"data": f"{remote}/slow"}, run=True)
    client.wait_for_phase(url, "EXECUTING")
    assert client.delete(url).status_code == 303
    jdir = daemon.job_dir(url.rsplit("/", 1)[1])
    deadline = time.monotonic() + 5
    while Path(jdir).exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not Path(jdir).exists()


# -------------------------------------------------------------- SSRF guard

@pytest.fixture(scope="module")
def strict(module_factory, remote):
    d = module_factory({}, start=False, name="strict")
    install_jobdefs(d, remote)
    d.start()
    return d


@pytest.mark.parametrize("target", ["{remote}/data/x", "http://localhost:{port}/data/x",
                                    "http://[::1]:{port}/", "http://10.0.0.1/x",
                                    "http://169.254.169.254/latest/meta-data/",
                                    "http://0.0.0.0:{port}/"])
def test_private_addresses_are_refused_by_default(strict, remote, target):
    c = strict.client()
    before = len(Handler.hits)
    port = remote.rsplit(":", 1)[1]
    err = error_of(c, "fetch1", {"data": target.format(remote=remote, port=port)})
    assert "(refused)" in err, err
    assert len(Handler.hits) == before


def test_file_urls_need_configured_roots(strict, root):
    c = strict.client()
    assert "not below" in refused(c, "fetchfile", {"src": f"file://{root}/in.txt"})


def own_daemon(daemon_factory, remote, **inputs):
    """A daemon of its own (the test stops it), private addresses allowed."""
    d = daemon_factory({"inputs": {"allow_private_addresses": "true", **inputs}}, start=False)
    install_jobdefs(d, remote)
    d.start()
    return d


def slow_download(d, remote):
    """A job of d now EXECUTING, fetching its input slowly; its URL."""
    c = d.client()
    url = c.create("fetch1", {"data": f"{remote}/slow"}, run=True)
    c.wait_for_phase(url, "EXECUTING")
    return url


def test_shutdown_during_a_download_requeues_the_job(daemon_factory, remote):
    d = own_daemon(daemon_factory, remote)
    url = slow_download(d, remote)
    t0 = time.monotonic()
    d.stop(timeout=5)
    assert time.monotonic() - t0 < 5, "shutdown waited for the download"
    d.start()
    c = d.client()
    assert c.phase(url) in ("QUEUED", "EXECUTING")  # fetched again from the start
    c.set_phase(url, "ABORT")
    assert c.wait_for_phase(url, "ABORTED", timeout=5) == "ABORTED"


def test_kill9_during_a_download_is_an_error_after_restart(daemon_factory, remote):
    d = own_daemon(daemon_factory, remote)
    url = slow_download(d, remote)
    d.kill9()
    d.start()
    c = d.client()
    assert c.phase(url) == "ERROR"
    assert "server restarted" in c.get(url + "/error").text


def test_fetch_timeout_ends_a_download(daemon_factory, remote):
    d = own_daemon(daemon_factory, remote, fetch_timeout=1)
    c = d.client()
    t0 = time.monotonic()
    err = error_of(c, "fetch1", {"data": f"{remote}/slow"}, timeout=10)
    assert "timed out" in err, err
    assert time.monotonic() - t0 < 8
