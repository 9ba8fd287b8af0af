"""File uploads and body size limits: a multipart file field for a parameter of
datatype file becomes a by-reference parameter whose bytes come back unchanged
from /parameters/{name}, the script reads it through its path, and the result
equals it; hostile file names stay inside the job directory; bodies over
max_form_body (urlencoded) or max_upload_body (multipart) get 413 and create
nothing.

Daemon config: max_form_body=1024, max_upload_body=65536.
"""
import os

import pytest

from conftest import assert_plain_error

FORM_MAX = 1024
UPLOAD_MAX = 65536


@pytest.fixture(scope="module")
def daemon(module_factory):
    return module_factory({"server": {"max_form_body": FORM_MAX,
                                      "max_upload_body": UPLOAD_MAX}})


def test_upload_round_trip(client):
    data = os.urandom(20000) + b"\x00\r\n--boundary\r\n" + bytes(range(256))
    r = client.post("/rest/upload", files={"input": ("data.bin", data,
                                                     "application/octet-stream")},
                    data={"PHASE": "RUN"})
    assert r.status_code == 303, r.text
    url = r.headers["Location"]
    got = client.get(url + "/parameters/input")
    assert got.status_code == 200
    assert got.content == data
    job = client.job(url)
    p = job["parameters"]["input"]
    assert p["byReference"], f"uploaded parameter not byReference: {p}"
    assert p["value"].startswith("http://127.0.0.1:"), p
    assert client.get(p["value"]).content == data
    d = client.get(url, headers={"Accept": "application/json"}).json()
    assert d["parameters"]["input"] == {"byReference": True, "href": url + "/parameters/input"}
    assert client.wait_for_phase(url, ("COMPLETED", "ERROR")) == "COMPLETED", \
        client.get(url + "/error").text
    assert client.get(url + "/results/output").content == data


def test_upload_hostile_filename_stays_in_job_dir(client, daemon):
    r = client.post("/rest/upload",
                    files={"input": ("../../../evil.txt", b"evil", "text/plain")})
    assert r.status_code in (303, 400), r.text
    if r.status_code == 303:
        url = r.headers["Location"]
        assert client.get(url + "/parameters/input").content == b"evil"
        jdir = daemon.job_dir(url.rsplit("/", 1)[1])
        for p in daemon.root.rglob("evil.txt"):
            assert jdir in p.parents, f"upload written outside its job dir: {p}"


def test_multipart_between_form_and_upload_limits_is_accepted(client):
    data = b"x" * (FORM_MAX * 4)
    r = client.post("/rest/upload", files={"input": ("a.txt", data, "text/plain")})
    assert r.status_code == 303, r.text
    assert client.get(r.headers["Location"] + "/parameters/input").content == data


def test_urlencoded_under_limit_is_accepted(client):
    r = client.post("/rest/echo", data={"text": "y" * (FORM_MAX // 2)})
    assert r.status_code == 303, r.text


def test_urlencoded_over_limit_is_413(client):
    before = client.list_ids("echo")
    r = client.post("/rest/echo", data={"text": "y" * (FORM_MAX * 2)})
    assert_plain_error(r, 413)
    assert client.list_ids("echo") == before


def test_multipart_over_limit_is_413(client):
    before = client.list_ids("upload")
    r = client.post("/rest/upload", files={"input": ("big.bin", b"z" * (UPLOAD_MAX + 5000),
                                                     "application/octet-stream")})
    assert_plain_error(r, 413)
    assert client.list_ids("upload") == before


def test_chunked_urlencoded_over_limit_is_413(client):
    before = client.list_ids("echo")

    def body():
        yield b"text="
        for _ in range(8):
            yield b"w" * 512

    r = client.post("/rest/echo", data=body(),
                    headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert_plain_error(r, 413)
    assert client.list_ids("echo") == before


def test_parameters_post_over_limit_is_413(client):
    url = client.create("echo", {"text": "small"})
    r = client.post(url + "/parameters", data={"text": "q" * (FORM_MAX * 2)})
    assert_plain_error(r, 413)
    assert client.get(url + "/parameters/text").text == "small"


def test_truncated_multipart_is_400_and_nothing_created(client):
    before = client.list_ids("upload")
    body = (b"--XyZ\r\nContent-Disposition: form-data; name=\"input\"; filename=\"a\"\r\n"
            b"Content-Type: application/octet-stream\r\n\r\npartial data without end")
    r = client.post("/rest/upload", data=body,
                    headers={"Content-Type": "multipart/form-data; boundary=XyZ"})
    assert_plain_error(r, 400)
    assert client.list_ids("upload") == before
