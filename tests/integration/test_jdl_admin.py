"""Admin API for job descriptions, as OPUS has it: POST /jdl stages an upload
at /jdl/tmp/{name}; POST /jdl/tmp/{name}/validate serves it at once; DELETE
/jdl/{name} archives it under data_dir/jdl-archive. Admin only: anonymous
callers get 401, other users 403. An upload is XML or JSON (the shape of GET
/jdl/{name}/json plus "script"): JSON when it starts with '{'.
"""
import json

import pytest

from conftest import assert_plain_error

SCRIPT_MARK = "echo admin-made"


def description(name, script=SCRIPT_MARK, param="text"):
    return f"""<VOTABLE xmlns="http://www.ivoa.net/xml/VOTable/v1.3" version="1.3">
  <RESOURCE ID="{name}" name="{name}" type="meta" utype="voprov:ActivityDescription">
    <DESCRIPTION>Made over HTTP</DESCRIPTION>
    <PARAM name="executionDuration" value="10" datatype="int"/>
    <PARAM name="quote" value="1" datatype="int"/>
    <PARAM name="script" value="{script} &gt; &quot;$output&quot;&#10;" arraysize="*" datatype="char"/>
    <GROUP name="InputParams">
      <PARAM ID="{param}" name="{param}" datatype="char" value="x" arraysize="*"/>
    </GROUP>
    <GROUP name="Used"/>
    <GROUP name="Generated">
      <GROUP name="output">
        <PARAM name="default" value="output.txt" arraysize="*" datatype="char"/>
      </GROUP>
    </GROUP>
  </RESOURCE>
</VOTABLE>
"""


@pytest.fixture(scope="module")
def daemon(module_factory):
    return module_factory(users=[("alice", False), ("root", True)])


@pytest.fixture
def admin(daemon):
    c = daemon.client(auth=("root", daemon.tokens["root"]))
    yield c
    c.close()


def upload(c, name, doc, as_file=True):
    if as_file:
        return c.post("/jdl", data={"name": name}, files={"file": ("d.xml", doc)})
    return c.post("/jdl", data={"name": name, "xml": doc})


def install(c, daemon, name, doc):
    r = upload(c, name, doc)
    assert r.status_code == 303, r.text
    r = c.post(f"/jdl/tmp/{name}/validate")
    assert r.status_code == 303, r.text
    assert r.headers["Location"] == f"{daemon.base}/jdl/{name}"


@pytest.mark.parametrize("as_file", [True, False])
def test_upload_is_pending_until_validated(daemon, admin, as_file):
    name = "newfile" if as_file else "newtext"
    r = upload(admin, name, description(name), as_file)
    assert r.status_code == 303, r.text
    assert r.headers["Location"] == f"{daemon.base}/jdl/tmp/{name}"
    r = admin.get(f"/jdl/tmp/{name}")
    assert r.status_code == 200 and b"Made over HTTP" in r.content
    assert name not in admin.get("/jdl").json()
    admin.create(name, expect=404)
    r = admin.post(f"/jdl/tmp/{name}/validate")
    assert r.status_code == 303, r.text
    assert name in admin.get("/jdl").json()
    assert admin.get(f"/jdl/tmp/{name}").status_code == 404
    url = admin.create(name, run=True)
    assert admin.wait_for_phase(url, ("COMPLETED", "ERROR")) == "COMPLETED"
    r = admin.get(url + "/results/output")
    assert r.status_code == 200 and r.text.strip() == "admin-made"


def test_changed_version_takes_effect(daemon, admin):
    install(admin, daemon, "changing", description("changing"))
    install(admin, daemon, "changing", description("changing", script="echo second"))
    r = admin.get("/jdl/changing/script")
    assert r.status_code == 200 and "echo second" in r.text


def test_malformed_xml_is_400_naming_the_problem(admin):
    r = upload(admin, "broken", "<VOTABLE><RESOURCE></VOTABLE>")
    assert_plain_error(r, 400)
    assert len(r.text.strip()) > len("invalid job description:")
    assert admin.get("/jdl/tmp/broken").status_code == 404


@pytest.mark.parametrize("name", ["../evil", "a b", "", "tmp"])
def test_bad_name_is_400(admin, name):
    r = upload(admin, name, description("evil"))
    assert_plain_error(r, 400)
    assert "name" in r.text


def test_reserved_parameter_is_400(admin):
    r = upload(admin, "pathy", description("pathy", param="PATH"))
    assert_plain_error(r, 400)
    assert "PATH" in r.text


def test_delete_archives(daemon, admin):
    install(admin, daemon, "doomed", description("doomed"))
    r = admin.delete("/jdl/doomed")
    assert r.status_code == 303
    assert r.headers["Location"] == f"{daemon.base}/jdl"
    assert "doomed" not in admin.get("/jdl").json()
    assert admin.get("/jdl/doomed").status_code == 404
    archived = list((daemon.data_dir / "jdl-archive").glob("doomed-*.xml"))
    assert len(archived) == 1 and b"Made over HTTP" in archived[0].read_bytes()
    assert_plain_error(admin.delete("/jdl/doomed"), 404)


def test_wrong_methods_are_405(admin):
    for method, path, allow in (("PUT", "/jdl", "POST"), ("POST", "/jdl/echo", "DELETE"),
                                ("DELETE", "/jdl/echo/json", "GET"),
                                ("POST", "/jdl/tmp/echo", "GET"),
                                ("GET", "/jdl/tmp/echo/validate", "POST")):
        r = admin.request(method, path)
        assert r.status_code == 405, (method, path, r.status_code)
        assert allow in r.headers["Allow"]


@pytest.mark.parametrize("who,status", [(None, 401), ("alice", 403)])
def test_not_admin_is_refused(daemon, admin, who, status):
    r = upload(admin, "guarded", description("guarded"))
    assert r.status_code == 303
    c = daemon.client(auth=(who, daemon.tokens[who]) if who else None)
    for r in (upload(c, "guarded2", description("guarded2")),
              c.post("/jdl/tmp/guarded/validate"), c.get("/jdl/tmp/guarded"),
              c.delete("/jdl/echo")):
        assert_plain_error(r, status)
        if status == 401:
            assert "WWW-Authenticate" in r.headers
    assert "echo" in c.get("/jdl").json()
    c.close()


# ---- JSON uploads: the shape of GET /jdl/{name}/json plus "script" ----------

def json_description(c, name, script="printf '%s' \"json-made $text\" > \"$output\"\n",
                     base="echo"):
    r = c.get(f"/jdl/{base}/json")
    assert r.status_code == 200, r.text
    d = r.json()
    d["name"] = name
    d["script"] = script
    return d


def upload_json(c, doc, how="file", name=None):
    text = doc if isinstance(doc, str) else json.dumps(doc)
    data = {"name": name} if name is not None else {}
    if how == "file":
        return c.post("/jdl", data=data, files={"file": ("d.json", text, "application/json")})
    if how == "body":  # the document itself as the request body
        return c.post("/jdl", data=text.encode(), headers={"Content-Type": "application/json"})
    return c.post("/jdl", data={**data, how: text})


@pytest.mark.parametrize("how", ["file", "json", "xml", "body"])
def test_json_upload_validates_and_runs(daemon, admin, how):
    name = f"fromjson_{how}"
    r = upload_json(admin, json_description(admin, name), how)
    assert r.status_code == 303, r.text
    assert r.headers["Location"] == f"{daemon.base}/jdl/tmp/{name}"
    # staged as the VOTable written from it, exactly like an XML upload
    r = admin.get(f"/jdl/tmp/{name}")
    assert r.status_code == 200 and b"<VOTABLE" in r.content and b"json-made" in r.content
    assert name not in admin.get("/jdl").json()
    r = admin.post(f"/jdl/tmp/{name}/validate")
    assert r.status_code == 303, r.text
    assert r.headers["Location"] == f"{daemon.base}/jdl/{name}"
    r = admin.get(f"/jdl/{name}")
    assert r.status_code == 200 and f'name="{name}"'.encode() in r.content
    mine, theirs = admin.get(f"/jdl/{name}/json").json(), admin.get("/jdl/echo/json").json()
    assert mine == {**theirs, "name": name}
    assert admin.get(f"/jdl/{name}/script").text == "printf '%s' \"json-made $text\" > \"$output\"\n"
    url = admin.create(name, data={"text": "hi"}, run=True)
    assert admin.wait_for_phase(url, ("COMPLETED", "ERROR")) == "COMPLETED"
    r = admin.get(url + "/results/output")
    assert r.status_code == 200 and r.text == "json-made hi"


def test_json_name_field_must_agree(admin):
    doc = json_description(admin, "agreed")
    assert upload_json(admin, doc, name="agreed").status_code == 303
    r = upload_json(admin, doc, name="other")
    assert_plain_error(r, 400)
    assert 'name: "agreed" does not match' in r.text
    r = upload_json(admin, json_description(admin, "tmp"))
    assert_plain_error(r, 400)
    assert "name" in r.text


@pytest.mark.parametrize("edit,want", [
    (lambda d: d["parameters"][1].update(datatype="integer"),
     'parameters[1].datatype: unknown type "integer"'),
    (lambda d: d.update(colour="blue"), 'unknown key "colour"'),
    (lambda d: d.pop("script"), "script: missing or empty"),
    (lambda d: d["parameters"][0].update(name="PATH"), '"PATH"'),
    (lambda d: d.update(quote="soon"), "quote: must be a non-negative integer"),
], ids=["datatype", "unknown-key", "no-script", "reserved-name", "quote"])
def test_bad_json_is_400_naming_the_problem(admin, edit, want):
    doc = json_description(admin, "badjson")
    edit(doc)
    r = upload_json(admin, doc)
    assert_plain_error(r, 400)
    assert want in r.text, r.text
    assert admin.get("/jdl/tmp/badjson").status_code == 404


@pytest.mark.parametrize("how", ["file", "json"])
def test_malformed_json_is_400(admin, how):
    r = upload_json(admin, '{"name": "broken", "script": ', how)
    assert_plain_error(r, 400)
    assert "malformed JSON at line 1" in r.text, r.text
    assert admin.get("/jdl/tmp/broken").status_code == 404


@pytest.mark.parametrize("who,status", [(None, 401), ("alice", 403)])
def test_json_upload_not_admin_is_refused(daemon, admin, who, status):
    doc = json_description(admin, "guardedjson")
    c = daemon.client(auth=(who, daemon.tokens[who]) if who else None)
    for how in ("file", "json"):
        r = upload_json(c, doc, how)
        assert_plain_error(r, status)
        if status == 401:
            assert "WWW-Authenticate" in r.headers
    c.close()
    assert admin.get("/jdl/tmp/guardedjson").status_code == 404


def test_xml_document_as_the_body(daemon, admin):
    doc = description("rawxml", script="echo raw-xml")
    r = admin.post("/jdl?name=rawxml", data=doc.encode(),
                   headers={"Content-Type": "application/xml"})
    assert r.status_code == 303, r.text
    assert r.headers["Location"] == f"{daemon.base}/jdl/tmp/rawxml"


def test_document_bodies_elsewhere_are_415(admin):
    r = admin.post("/rest/echo", data=b'{"text": "x"}',
                   headers={"Content-Type": "application/json"})
    assert_plain_error(r, 415)
    r = admin.post("/jdl", data=b"{}", headers={"Content-Type": "application/pdf"})
    assert_plain_error(r, 415)


def test_document_body_with_nul_is_400(admin):
    r = admin.post("/jdl", data=b'{"name": "a\x00b"}',
                   headers={"Content-Type": "application/json"})
    assert_plain_error(r, 400)
