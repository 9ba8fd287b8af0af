"""The web client's files (paths.web_dir) as opusd serves them: from memory,
with a strong ETag and 304, no-cache, the Content-Type by extension, gzip when
the client takes it, the CSP on HTML and nosniff everywhere; index.html with
versioned references and an import map (allowed by its hash in the CSP), a
versioned URL cached for a year, any other revalidated; only the tree that
was loaded (no "..", hidden files or links); public even without anonymous
access; reloaded on SIGHUP; the API paths keep their meaning."""
import base64
import gzip
import hashlib
import json
import os
import re
import shutil
import signal
import socket

import requests

from conftest import REPO, wait_until

WEB = REPO / "web"
CSP = ("default-src 'self'; script-src 'self'{}; style-src 'self'; img-src 'self' data: blob:; "
       "connect-src 'self' http://localhost:21012 http://127.0.0.1:21012; "
       "frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
MARK = b"<!-- opusd:versions -->"
IMPORT_MAP_RE = re.compile(rb'<script type="importmap">(.*?)</script>', re.S)
VERSION_RE = re.compile(rb'((?:src|href)="/[^"?]+)\?v=([0-9a-f]{16})"')


def version(data):
    return hashlib.sha256(data).hexdigest()[:16]


def unversioned(body):
    """index.html as served, with its import map back to the mark and every
    ?v= taken off: the file as it is on disk."""
    return VERSION_RE.sub(rb'\1"', IMPORT_MAP_RE.sub(MARK, body, count=1))


def raw_get(daemon, target, headers=""):
    """The status line of GET target sent as it is (no client normalisation)."""
    with socket.create_connection(("127.0.0.1", daemon.port), timeout=10) as s:
        s.sendall(f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{headers}\r\n"
                  .encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return data.split(b"\r\n", 1)[0].decode()


def test_index_with_its_headers(client):
    r = client.get("/", headers={"Accept-Encoding": "identity"})
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "text/html; charset=utf-8"
    assert unversioned(r.content) == (WEB / "index.html").read_bytes()
    script = IMPORT_MAP_RE.search(r.content).group(1)
    digest = base64.b64encode(hashlib.sha256(script).digest()).decode()
    assert r.headers["Content-Security-Policy"] == CSP.format(f" 'sha256-{digest}'")
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Cache-Control"] == "no-cache"
    assert "Accept-Encoding" in r.headers["Vary"]
    assert "Content-Encoding" not in r.headers
    etag = r.headers["ETag"]
    assert etag.startswith('"') and etag.endswith('"') and len(etag) == 18


def test_types_and_bodies_of_every_file(client):
    types = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
             ".svg": "image/svg+xml", ".html": "text/html; charset=utf-8"}
    n = 0
    for p in WEB.rglob("*"):
        rel = p.relative_to(WEB)
        if not p.is_file() or p.suffix not in types or any(x.startswith(".") for x in rel.parts):
            continue
        path = "/" if str(rel) == "index.html" else "/" + str(rel)
        r = client.get(path, headers={"Accept-Encoding": "identity"})
        assert r.status_code == 200, rel
        assert r.headers["Content-Type"] == types[p.suffix], rel
        assert (unversioned(r.content) if path == "/" else r.content) == p.read_bytes(), rel
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert ("Content-Security-Policy" in r.headers) == (p.suffix == ".html"), rel
        n += 1
    assert n >= 8


def test_etag_revalidation(client):
    r = client.get("/js/app.js", headers={"Accept-Encoding": "identity"})
    tag = r.headers["ETag"]
    for inm in (tag, "W/" + tag, f'"nope", {tag}', "*"):
        r2 = client.get("/js/app.js", headers={"If-None-Match": inm,
                                                "Accept-Encoding": "identity"})
        assert r2.status_code == 304, inm
        assert r2.content == b""
        assert r2.headers["ETag"] == tag
        assert r2.headers["Cache-Control"] == "no-cache"
    assert client.get("/js/app.js", headers={"If-None-Match": '"0000"'}).status_code == 200


def test_index_versions_every_reference_and_module(client):
    """Each src/href naming a file of web_dir carries that file's version
    (its sha256's first 16 hex digits); the import map gives every module
    its versioned URL; the mark itself is gone."""
    body = client.get("/").content
    assert MARK not in body
    refs = VERSION_RE.findall(body)
    assert len(refs) >= 10, refs
    for attr, v in refs:
        path = attr.split(b'="/', 1)[1].decode()
        assert v.decode() == version((WEB / path).read_bytes()), path
    imports = json.loads(IMPORT_MAP_RE.search(body).group(1))["imports"]
    modules = sorted("/" + str(p.relative_to(WEB)) for p in WEB.rglob("*.js"))
    assert sorted(imports) == modules
    for key, url in imports.items():
        assert url == f"{key}?v={version((WEB / key[1:]).read_bytes())}", key
    # the module script and its preloads come after the map (it must be first)
    assert body.index(b'type="importmap"') < body.index(b'type="module"')
    assert body.index(b'type="importmap"') < body.index(b'rel="modulepreload"')


def test_versioned_url_is_cached_for_a_year(client):
    body = (WEB / "js" / "app.js").read_bytes()
    v = version(body)
    r = client.get(f"/js/app.js?v={v}", headers={"Accept-Encoding": "identity"})
    assert r.status_code == 200 and r.content == body
    assert r.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert r.headers["ETag"] == f'"{v}"'
    # an old version (a page loaded before a change), a bad one or none: the
    # bytes of now, revalidated
    for q in ("?v=0123456789abcdef", "?v=" + v[:15], "?v=" + v + "0", "?x=" + v, ""):
        r = client.get("/js/app.js" + q, headers={"Accept-Encoding": "identity"})
        assert r.status_code == 200 and r.content == body, q
        assert r.headers["Cache-Control"] == "no-cache", q
    # HTML is never cached for long, whatever it is asked with
    idx = client.get("/?v=" + version((WEB / "index.html").read_bytes()))
    assert idx.headers["Cache-Control"] == "no-cache"


def test_gzip_when_accepted(daemon, client):
    body = (WEB / "js" / "app.js").read_bytes()
    r = requests.get(daemon.base + "/js/app.js", headers={"Accept-Encoding": "gzip, deflate"},
                     stream=True, timeout=10)
    assert r.headers["Content-Encoding"] == "gzip"
    raw = r.raw.read(decode_content=False)
    assert gzip.decompress(raw) == body and len(raw) < len(body)
    gz_tag = r.headers["ETag"]
    plain = client.get("/js/app.js", headers={"Accept-Encoding": "identity"})
    assert plain.headers["ETag"] != gz_tag  # each representation its own tag
    for ae in ("gzip;q=0", "identity", "br", "gzip; q=0.000"):
        r = client.get("/js/app.js", headers={"Accept-Encoding": ae})
        assert "Content-Encoding" not in r.headers, ae
        assert r.content == body
    r = client.get("/js/app.js", headers={"Accept-Encoding": "*", "If-None-Match": gz_tag})
    assert r.status_code == 304


def test_head_and_methods(client):
    r = client.head("/")
    assert r.status_code == 200 and r.content == b""
    r = client.post("/", data={"x": "1"})
    assert r.status_code == 405
    assert "GET" in r.headers["Allow"]
    assert client.post("/js/app.js").status_code == 405


def test_only_loaded_files(daemon, client):
    for p in ("/js/nope.js", "/js", "/index.html", "/app.js", "/vendor/x/y.js", "/css/",
              "/img/none.png"):
        assert client.get(p).status_code == 404, p
    for target in ("/js/../index.html", "/js/%2e%2e/index.html", "/js/..%2findex.html",
                   "/css/../../etc/passwd", "/js/.hidden", "/js//app.js", "/js/app.js%00"):
        assert " 404 " in raw_get(daemon, target) + " ", target


def test_hidden_files_links_and_reload(daemon_factory, tmp_path):
    web = tmp_path / "web"
    shutil.copytree(WEB, web)
    (web / "js" / ".secret.js").write_text("secret")
    (web / ".git").mkdir()
    (web / ".git" / "config.js").write_text("secret")
    (tmp_path / "outside.js").write_text("outside")
    os.symlink(tmp_path / "outside.js", web / "js" / "link.js")
    d = daemon_factory({"paths": {"web_dir": str(web)}})
    c = d.client()
    assert c.get("/js/app.js").status_code == 200
    for p in ("/js/.secret.js", "/.git/config.js", "/js/link.js"):
        assert c.get(p).status_code == 404, p
    # SIGHUP reads the directory again
    before = c.get("/js/app.js").headers["ETag"]
    (web / "js" / "app.js").write_text("// changed\n")
    (web / "js" / "added.js").write_text("// new\n")
    assert c.get("/js/app.js").headers["ETag"] == before  # held in memory until then
    d.signal(signal.SIGHUP)
    wait_until(lambda: c.get("/js/added.js").status_code == 200, 10, what="reload")
    r = c.get("/js/app.js")
    assert r.text == "// changed\n" and r.headers["ETag"] != before
    # the page names the new version: a browser fetches the new file
    new_v = version(b"// changed\n")
    body = c.get("/").content
    assert f"/js/app.js?v={new_v}".encode() in body
    added_v = version(b"// new\n")
    assert f'"/js/added.js":"/js/added.js?v={added_v}"'.encode() in body
    # an HTML file without the mark is served as it is
    (web / "index.html").write_bytes(b"<!doctype html><script src=\"/js/app.js\"></script>\n")
    d.signal(signal.SIGHUP)
    wait_until(lambda: b"<!doctype html><script" in c.get("/").content, 10, what="reload")
    r = c.get("/", headers={"Accept-Encoding": "identity"})
    assert r.content == b"<!doctype html><script src=\"/js/app.js\"></script>\n"
    assert r.headers["Content-Security-Policy"] == CSP.format("")


def test_public_without_anonymous_access(daemon_factory):
    d = daemon_factory({"server": {"allow_anonymous": "false"}})
    c = d.client()
    assert c.get("/").status_code == 200
    assert c.get("/js/api.js").status_code == 200
    r = c.get("/rest/echo")
    assert r.status_code == 401
    assert any(v.startswith("Basic") for v in r.raw.headers.getlist("WWW-Authenticate"))
    # the web client's own requests get no Basic challenge (no browser dialog)
    r = c.get("/rest/echo", headers={"X-Requested-With": "opusd-web"})
    assert r.status_code == 401
    challenges = r.raw.headers.getlist("WWW-Authenticate")
    assert challenges and not any(v.startswith("Basic") for v in challenges), challenges


def test_no_web_dir(daemon_factory, tmp_path):
    d = daemon_factory({"paths": {"web_dir": str(tmp_path / "none")}})
    r = d.client().get("/")
    assert r.status_code == 404
    assert "web client is not installed" in r.text
    assert "web client: 0 file(s)" in d.log_text()


def test_api_paths_unchanged(client):
    assert client.get("/jdl", headers={"Accept": "application/json"}).json()
    assert client.get("/availability").status_code == 200
    assert client.get("/rest/echo").status_code == 200
    assert client.get("/nope").status_code == 404
