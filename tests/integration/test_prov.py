"""Provenance over HTTP (issue 12): ProvSAP, a job's prov URLs, /store, Link headers.

One daemon for the module with two users and an admin. alice runs a chain of three
jobs, A (echo) -> B (chain, uses A's result by reference) -> C (chain, uses B's), and D,
which uploads the bytes of A's result again (recognised: the same entity). bob uploads
the same bytes too (never linked to alice's). Each ProvSAP parameter is checked against
what it must change; PROV-JSON and PROV-XML are loaded with python prov (Debian's
python3-prov) and compared, checked against the W3C schemas (tests/schemas/prov/), and
PROV-N goes through the grammar checker at the end of this file (checked on its own by
the test_provn_checker_* tests).
"""
import base64
import hashlib
import io
import json
import re
import secrets
import struct
import zlib
from pathlib import Path
from types import SimpleNamespace

import pytest
from lxml import etree

from conftest import PROV_LINKS, REPO, assert_plain_error, iso_utc, validate_uws

PROV_SCHEMAS = REPO / "tests" / "schemas" / "prov"
HAS_PROV = "http://www.w3.org/ns/prov#has_provenance"
JOB_RE = re.compile(r"(?<![0-9a-f])[0-9a-f]{32}(?![0-9a-f])")
ENTITY_RE = re.compile(r"(?<![0-9a-f])e[0-9a-f]{32}(?![0-9a-f])")
JSON_ACCEPT = {"Accept": "application/json"}
FINAL = ("COMPLETED", "ERROR", "ABORTED")

CHAIN_JDL = """<?xml version="1.0" encoding="UTF-8"?>
<VOTABLE xmlns="http://www.ivoa.net/xml/VOTable/v1.3" version="1.3">
  <RESOURCE ID="chain" name="chain" type="meta" utype="voprov:ActivityDescription">
    <DESCRIPTION>Chain step: appends a line to its input</DESCRIPTION>
    <PARAM name="doculink" value="https://example.org/chain" arraysize="*" datatype="char" utype="voprov:ActivityDescription.doculink"/>
    <PARAM name="type" value="test" arraysize="*" datatype="char" utype="voprov:ActivityDescription.type"/>
    <PARAM name="subtype" value="chain" arraysize="*" datatype="char" utype="voprov:ActivityDescription.subtype"/>
    <PARAM name="version" value="3" arraysize="*" datatype="char" utype="voprov:ActivityDescription.version"/>
    <PARAM name="contact_name" value="chain-admin" arraysize="*" datatype="char" utype="voprov:Agent.name"/>
    <PARAM name="contact_email" value="chain@example.org" arraysize="*" datatype="char" utype="voprov:Agent.email"/>
    <PARAM name="executionDuration" value="20" datatype="int" utype="uws:Job.executionDuration"/>
    <PARAM name="script" value="cat &quot;$data&quot; &gt; out.txt&#10;echo &quot;step $label&quot; &gt;&gt; out.txt&#10;" arraysize="*" datatype="char"/>
    <GROUP name="InputParams">
      <PARAM ID="label" name="label" datatype="char" value="default-label" arraysize="*">
        <DESCRIPTION>A label appended to the output</DESCRIPTION>
      </PARAM>
    </GROUP>
    <GROUP name="Used">
      <GROUP name="data" utype="voprov:UsedDescription">
        <DESCRIPTION>The file this step reads</DESCRIPTION>
        <PARAM name="multiplicity" value="1" arraysize="*" datatype="char"/>
        <PARAM name="content_type" value="" arraysize="*" datatype="char"/>
        <PARAM name="url" value="" arraysize="*" datatype="char"/>
      </GROUP>
    </GROUP>
    <GROUP name="Generated">
      <GROUP name="out" utype="voprov:WasGeneratedBy">
        <DESCRIPTION>The input and one line more</DESCRIPTION>
        <PARAM name="default" value="out.txt" arraysize="*" datatype="char"/>
        <PARAM name="content_type" value="text/plain" arraysize="*" datatype="char"/>
      </GROUP>
    </GROUP>
  </RESOURCE>
</VOTABLE>
"""


# ---------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def daemon(module_factory):
    d = module_factory(users=[("alice", False), ("bob", False), ("boss", True)], start=False)
    (d.jdl_dir / "chain.xml").write_text(CHAIN_JDL)
    d.start()
    return d


def user(daemon, name):
    return daemon.client((name, daemon.tokens[name]))


@pytest.fixture(scope="module")
def alice(daemon):
    c = user(daemon, "alice")
    yield c
    c.close()


@pytest.fixture(scope="module")
def bob(daemon):
    c = user(daemon, "bob")
    yield c
    c.close()


@pytest.fixture(scope="module")
def boss(daemon):
    c = user(daemon, "boss")
    yield c
    c.close()


def job_id(url):
    return url.rstrip("/").rsplit("/", 1)[1]


def job_json(client, url):
    r = client.get(url, headers=JSON_ACCEPT)
    assert r.status_code == 200, r.text
    return r.json()


def run(client, jobdef, data=None, files=None, phases=FINAL):
    url = client.create(jobdef, data=data, files=files, run=True)
    phase = client.wait_for_phase(url, phases, timeout=30)
    return url, phase


def completed(client, jobdef, data=None, files=None):
    url, phase = run(client, jobdef, data, files)
    assert phase == "COMPLETED", client.get(url + "/error").text
    return url


def result(client, url, rid):
    """A result of a job's JSON (entity_id, sha256, href...)."""
    for res in job_json(client, url)["results"]:
        if res["id"] == rid:
            return res
    raise AssertionError(f"{url} has no result {rid}")


def used_entity(client, url):
    """The one stored entity a job used (its PROV-JSON at DEPTH=1, 'used' relations)."""
    doc = prov_json(client, ID=job_id(url), DEPTH=1)
    used = set()
    for rec in doc.get("used", {}).values():
        used |= set(ENTITY_RE.findall(str(rec.get("prov:entity", ""))))
    assert len(used) == 1, f"{url} used {used}: {json.dumps(doc)[:3000]}"
    return used.pop()


@pytest.fixture(scope="module")
def chain(alice):
    tok = secrets.token_hex(8)
    a = completed(alice, "echo", {"text": f"alpha {tok}"})
    b = completed(alice, "chain", {"data": f"{job_id(a)}/output", "label": f"b-{tok}"})
    c = completed(alice, "chain", {"data": f"{job_id(b)}/out", "label": f"c-{tok}"})
    a_bytes = alice.get(a + "/results/output").content
    assert a_bytes == f"alpha {tok}".encode()
    d = completed(alice, "upload", files={"input": ("again.txt", a_bytes)})
    return SimpleNamespace(tok=tok, a=a, b=b, c=c, d=d, a_bytes=a_bytes,
                           a_out=result(alice, a, "output"), b_out=result(alice, b, "out"),
                           c_out=result(alice, c, "out"))


# ----------------------------------------------------------------- helpers

def provsap(client, expect=200, **params):
    r = client.get("/provsap", params=params)
    assert r.status_code == expect, f"/provsap {params}: {r.status_code} {r.text[:1000]!r}"
    return r


def prov_json(client, **params):
    params.setdefault("RESPONSEFORMAT", "PROV-JSON")
    r = provsap(client, **params)
    assert r.headers["Content-Type"].startswith("application/"), r.headers["Content-Type"]
    return r.json()


def activities(doc):
    """The job ids of a PROV-JSON document's activities."""
    return {m for k in doc.get("activity", {}) for m in JOB_RE.findall(k)}


def entities(doc):
    """The stored entities (entity-store ids) of a PROV-JSON document."""
    return {m for k in doc.get("entity", {}) for m in ENTITY_RE.findall(k)}


def records(doc):
    return sum(len(v) for k, v in doc.items() if k != "prefix" and isinstance(v, dict))


def attributes(doc):
    return sum(len(rec) for k, v in doc.items() if k != "prefix" and isinstance(v, dict)
               for rec in (v.values()) if isinstance(rec, dict))


def load_prov(content, fmt):
    from prov.model import ProvDocument
    if fmt == "xml":
        return ProvDocument.deserialize(source=io.BytesIO(content), format="xml")
    return ProvDocument.deserialize(content=content, format=fmt)


def json_schema_validator():
    import jsonschema
    schema = json.loads((PROV_SCHEMAS / "prov-json.schema.json").read_text())
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def prov_xsd():
    parser = etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False)
    return etree.XMLSchema(etree.parse(str(PROV_SCHEMAS / "prov.xsd"), parser))


def parse_xml(content):
    return etree.fromstring(content, etree.XMLParser(no_network=True, resolve_entities=False,
                                                     load_dtd=False))


def link_targets(r):
    """The URLs of the response's Link header whose rel is prov#has_provenance."""
    out = []
    for part in r.headers.get("Link", "").split(","):
        m = re.fullmatch(r'\s*<([^>]*)>\s*;\s*rel="([^"]*)"\s*', part)
        if m and m.group(2) == HAS_PROV:
            out.append(m.group(1))
    return out


# --------------------------------------------------------- formats agree

def test_prov_json_and_xml_load_and_are_the_same_document(alice, chain):
    params = {"ID": job_id(chain.c), "DEPTH": "ALL"}
    rj = provsap(alice, RESPONSEFORMAT="PROV-JSON", **params)
    rx = provsap(alice, RESPONSEFORMAT="PROV-XML", **params)
    assert "xml" in rx.headers["Content-Type"], rx.headers["Content-Type"]
    dj, dx = load_prov(rj.text, "json"), load_prov(rx.content, "xml")
    assert dj.records, "python prov read no record from the PROV-JSON"
    assert dj == dx, f"PROV-JSON and PROV-XML differ:\n{dj.get_provn()}\n---\n{dx.get_provn()}"
    # python prov writes back what it read: the round trip keeps the document
    assert load_prov(dj.serialize(format="json"), "json") == dj


def test_prov_json_is_valid_against_the_schema(alice, chain):
    v = json_schema_validator()
    for q in ({"DEPTH": "ALL"}, {"DEPTH": "ALL", "MODEL": "W3C"}, {"DESCRIPTIONS": "2"},
              {"DEPTH": "ALL", "DIRECTION": "FORTH", "ID": job_id(chain.a)}):
        doc = prov_json(alice, **{"ID": job_id(chain.c), **q})
        errors = sorted(v.iter_errors(doc), key=str)
        assert not errors, f"{q}: {[e.message for e in errors[:5]]}"


def test_prov_xml_is_valid_against_the_xsd(alice, chain):
    xsd = prov_xsd()
    for q in ({"DEPTH": "ALL"}, {"DEPTH": "ALL", "MODEL": "W3C"}, {"DESCRIPTIONS": "2"}):
        r = provsap(alice, ID=job_id(chain.c), RESPONSEFORMAT="PROV-XML", **q)
        root = parse_xml(r.content)
        assert xsd.validate(root), f"{q}: {xsd.error_log}\n{r.text[:3000]}"


def test_prov_n_follows_the_grammar_with_the_same_identifiers(alice, chain):
    params = {"ID": job_id(chain.c), "DEPTH": "ALL"}
    r = provsap(alice, RESPONSEFORMAT="PROV-N", **params)
    assert r.headers["Content-Type"].startswith("text/"), r.headers["Content-Type"]
    parsed = provn_check(r.text)
    doc = prov_json(alice, **params)
    for kind in ("entity", "activity", "agent"):
        assert parsed.declared[kind] == set(doc.get(kind, {})), kind


# ---------------------------------------------------------------- DEPTH

def test_depth_counts_steps_of_the_graph(alice, chain):
    a, b, c = job_id(chain.a), job_id(chain.b), job_id(chain.c)
    d0 = prov_json(alice, ID=c, DEPTH=0)
    assert activities(d0) == {c} and not entities(d0)
    d1 = prov_json(alice, ID=c, DEPTH=1)
    assert activities(d1) == {c}
    assert {chain.b_out["entity_id"], chain.c_out["entity_id"]} <= entities(d1)
    assert chain.a_out["entity_id"] not in entities(d1)
    assert activities(prov_json(alice, ID=c, DEPTH=2)) == {b, c}
    d3 = prov_json(alice, ID=c, DEPTH=3)
    assert activities(d3) == {b, c} and chain.a_out["entity_id"] in entities(d3)
    assert activities(prov_json(alice, ID=c, DEPTH=4)) == {a, b, c}
    assert activities(prov_json(alice, ID=c)) == activities(d1), "DEPTH defaults to 1"


def test_depth_all_is_the_cap(alice, chain):
    c = job_id(chain.c)
    full = prov_json(alice, ID=c, DEPTH="ALL")
    assert activities(full) == {job_id(chain.a), job_id(chain.b), c}
    assert prov_json(alice, ID=c, DEPTH=10**6) == full, "a DEPTH past the cap is the cap"


def test_depth_from_an_entity(alice, chain):
    e = chain.b_out["entity_id"]
    d0 = prov_json(alice, ID=e, DEPTH=0)
    assert entities(d0) == {e} and not activities(d0)
    assert activities(prov_json(alice, ID=e, DEPTH=1)) == {job_id(chain.b)}
    assert activities(prov_json(alice, ID=e, DEPTH=1, DIRECTION="FORTH")) == \
        {job_id(chain.c)}


# ------------------------------------------------------------ DIRECTION

def test_direction_back_and_forth(alice, chain):
    a, b, c = job_id(chain.a), job_id(chain.b), job_id(chain.c)
    assert activities(prov_json(alice, ID=a, DEPTH="ALL")) == {a}
    fwd = prov_json(alice, ID=a, DEPTH="ALL", DIRECTION="FORTH")
    assert {a, b, c, job_id(chain.d)} <= activities(fwd), "the re-upload's job uses A's result"
    assert prov_json(alice, ID=a, DEPTH="ALL", DIRECTION="FORWARD") == fwd
    assert prov_json(alice, ID=a, DEPTH="ALL", DIRECTION="BACK") == \
        prov_json(alice, ID=a, DEPTH="ALL")
    assert activities(prov_json(alice, ID=c, DEPTH="ALL", DIRECTION="FORTH")) == {c}


def test_ids_are_merged_into_one_document(alice, chain):
    a, c = job_id(chain.a), job_id(chain.c)
    r = alice.get("/provsap", params=[("ID", a), ("ID", c), ("DEPTH", "0"),
                                      ("RESPONSEFORMAT", "PROV-JSON")])
    assert r.status_code == 200, r.text
    assert activities(r.json()) == {a, c}


def test_parameter_names_are_case_insensitive(alice, chain):
    c = job_id(chain.c)
    lower = provsap(alice, id=c, depth="all", responseformat="prov-json", Direction="back")
    assert lower.json() == prov_json(alice, ID=c, DEPTH="ALL")


# ---------------------------------------------------------------- MODEL

def test_model_w3c_uses_prov_terms_only(alice, chain):
    c = job_id(chain.c)
    ivoa = prov_json(alice, ID=c, DEPTH="ALL", DESCRIPTIONS=2)
    w3c = prov_json(alice, ID=c, DEPTH="ALL", DESCRIPTIONS=2, MODEL="W3C")
    assert "voprov:" in json.dumps(ivoa), "MODEL=IVOA (the default) uses voprov terms"
    assert "voprov" not in json.dumps(w3c), "MODEL=W3C must use PROV terms only"
    assert "voprov" not in w3c.get("prefix", {})
    assert activities(w3c) == activities(ivoa) and entities(w3c) == entities(ivoa)
    assert prov_json(alice, ID=c, MODEL="IVOA") == prov_json(alice, ID=c)


# ---------------------------------------------- AGENT, CONFIGURATION, ...

def test_agent_shows_who_ran_it(alice, chain):
    c = job_id(chain.c)
    with_agents = prov_json(alice, ID=c, AGENT="true")
    assert with_agents.get("agent") and with_agents.get("wasAssociatedWith")
    assert "alice" in json.dumps(with_agents["agent"])
    assert prov_json(alice, ID=c) == with_agents, "AGENT is on by default"
    without = prov_json(alice, ID=c, AGENT="false")
    assert not without.get("agent") and not without.get("wasAssociatedWith")
    assert prov_json(alice, ID=c, AGENTS="false") == without, "AGENTS is AGENT"


def test_configuration_shows_the_parameters(alice, chain):
    c = job_id(chain.c)
    label = f"c-{chain.tok}"
    on = prov_json(alice, ID=c)
    assert label in json.dumps(on), "the parameter values are shown by default"
    off = prov_json(alice, ID=c, CONFIGURATION="false")
    assert label not in json.dumps(off)
    assert records(off) < records(on)


def test_configuration_marks_defaults(alice, chain):
    url = completed(alice, "chain", {"data": f"{job_id(chain.a)}/output"})
    text = json.dumps(prov_json(alice, ID=job_id(url)))
    assert "default-label" in text, "a default value is part of the configuration"


def test_descriptions_levels(alice, chain):
    c = job_id(chain.c)
    docs = [prov_json(alice, ID=c, DESCRIPTIONS=n) for n in (0, 1, 2)]
    assert prov_json(alice, ID=c) == docs[0], "DESCRIPTIONS defaults to 0"
    texts = [json.dumps(d) for d in docs]
    assert "Chain step: appends a line" not in texts[0]
    assert "Chain step: appends a line" in texts[1], "level 1: the ActivityDescription"
    assert "The input and one line more" in texts[2], "level 2: Usage/Generation descriptions"
    assert records(docs[0]) < records(docs[1]) < records(docs[2])
    assert prov_json(alice, ID=c, DESCRIPTION=2) == docs[2], "DESCRIPTION is DESCRIPTIONS"


def test_attributes_off_keeps_the_records(alice, chain):
    c = job_id(chain.c)
    on, off = prov_json(alice, ID=c, DEPTH=2), prov_json(alice, ID=c, DEPTH=2,
                                                         ATTRIBUTES="false")
    assert activities(on) == activities(off) and entities(on) == entities(off)
    assert attributes(off) < attributes(on)
    assert chain.c_out["sha256"] in json.dumps(on)


def test_graph_direction_changes_only_the_picture(alice, chain):
    c = job_id(chain.c)
    lr = provsap(alice, ID=c, RESPONSEFORMAT="DOT").text
    tb = provsap(alice, ID=c, RESPONSEFORMAT="DOT", GD="TB").text
    assert "rankdir" in lr and lr != tb and re.search(r"rankdir\s*=\s*\"?TB", tb)
    assert prov_json(alice, ID=c, GD="TB") == prov_json(alice, ID=c)


# ------------------------------------------------------------ pictures

def test_svg_is_well_formed_and_the_default(alice, chain):
    c = job_id(chain.c)
    r = provsap(alice, ID=c, DEPTH="ALL")
    assert r.headers["Content-Type"].startswith("image/svg+xml"), r.headers["Content-Type"]
    root = parse_xml(r.content)
    assert etree.QName(root).localname == "svg"
    # nodes link to the job pages
    assert job_id(chain.a) in r.text and f"/rest/echo/{job_id(chain.a)}" in r.text


def test_png_decodes(alice, chain):
    r = provsap(alice, ID=job_id(chain.c), RESPONSEFORMAT="PROV-PNG")
    assert r.headers["Content-Type"] == "image/png"
    data = r.content
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13
    width, height = struct.unpack(">II", data[16:24])
    assert width > 0 and height > 0
    assert zlib.crc32(data[12:29]) == struct.unpack(">I", data[29:33])[0]
    try:
        from PIL import Image
    except ImportError:
        return
    img = Image.open(io.BytesIO(data))
    img.load()
    assert img.size == (width, height)


# ------------------------------------------------- the job's own URLs

def test_job_prov_urls(alice, chain):
    c = job_id(chain.c)
    want = prov_json(alice, ID=c, DEPTH=2)
    r = alice.get(chain.c + "/prov", params={"DEPTH": 2, "RESPONSEFORMAT": "PROV-JSON"})
    assert r.status_code == 200 and r.json() == want
    r = alice.get(chain.c + "/provjson", params={"DEPTH": 2})
    assert r.status_code == 200 and r.json() == want
    assert alice.get(chain.c + "/provjson", params={"RESPONSEFORMAT": "PROV-XML"}).json() == \
        prov_json(alice, ID=c), "the URL's format wins"
    xml = alice.get(chain.c + "/provxml")
    assert xml.status_code == 200 and load_prov(xml.content, "xml") == \
        load_prov(alice.get(chain.c + "/provjson").text, "json")
    svg = alice.get(chain.c + "/provsvg")
    assert svg.status_code == 200 and etree.QName(parse_xml(svg.content)).localname == "svg"
    assert alice.get(chain.c + "/prov").headers["Content-Type"].startswith("image/svg+xml")
    provn_check(alice.get(chain.c + "/provn").text)


def test_job_prov_refuses_id(alice, chain):
    r = alice.get(chain.c + "/prov", params={"ID": job_id(chain.a)})
    assert_plain_error(r, 400)
    assert "ID" in r.text


def test_job_prov_of_another_description_or_user(alice, bob, chain):
    other = chain.c.replace("/rest/chain/", "/rest/echo/")
    assert alice.get(other + "/prov").status_code == 404
    assert bob.get(chain.c + "/provjson").status_code == 403, "as /rest does for the job"


def test_results_list_shows_the_provenance_documents(alice, chain):
    d = job_json(alice, chain.c)
    links = {r["id"]: r for r in d["results"] if r["id"] in PROV_LINKS}
    assert set(links) == set(PROV_LINKS)
    for rid, res in links.items():
        assert res["href"] == f"{chain.c}/results/{rid}"
        got = alice.get(res["href"])
        assert got.status_code == 200, (rid, got.text[:300])
        assert got.headers["Content-Type"].split(";")[0] == res["mime-type"], rid
    assert alice.get(links["provjson"]["href"]).json() == alice.get(chain.c + "/provjson").json()
    root = validate_uws(alice.get(chain.c).content)
    ids = [e.get("id") for e in root.iterfind("{*}results/{*}result")]
    assert set(PROV_LINKS) <= set(ids)


def test_pending_job_shows_no_provenance_links(alice):
    url = alice.create("echo")
    assert not [r for r in job_json(alice, url)["results"] if r["id"] in PROV_LINKS]


def test_result_links_setting_turns_them_off(daemon_factory):
    d = daemon_factory({"provenance": {"result_links": "false"}})
    c = d.client()
    url = c.create("echo", run=True)
    c.wait_for_phase(url, "COMPLETED")
    ids = {r["id"] for r in job_json(c, url)["results"]}
    assert "output" in ids and not ids & set(PROV_LINKS)
    assert c.get(url + "/results/provjson").status_code == 404
    assert c.get(url + "/provjson").status_code == 200, "the job's own URL stays"


# -------------------------------------------- results carry their entity

def test_results_carry_entity_id_and_sha256(alice, chain):
    for res in (chain.a_out, chain.b_out, chain.c_out):
        assert ENTITY_RE.fullmatch(res["entity_id"]), res
        assert re.fullmatch(r"[0-9a-f]{64}", res["sha256"]), res
    assert chain.a_out["sha256"] == hashlib.sha256(chain.a_bytes).hexdigest()
    assert len({chain.a_out["entity_id"], chain.b_out["entity_id"],
                chain.c_out["entity_id"]}) == 3
    r = alice.get(chain.a)
    root = validate_uws(r.content)  # the custom attributes keep it valid
    custom = "{urn:uwscustom}"
    out = next(e for e in root.iterfind("{*}results/{*}result") if e.get("id") == "output")
    assert out.get(custom + "entity_id") == chain.a_out["entity_id"]
    assert out.get(custom + "sha256") == chain.a_out["sha256"]
    for e in root.iterfind("{*}results/{*}result"):
        if e.get("id") in PROV_LINKS:
            assert e.get(custom + "entity_id") is None


def test_job_json_shows_metrics(alice, chain):
    m = job_json(alice, chain.a)["metrics"]
    assert m is not None and m["exit_code"] == 0
    assert m["wall_time_ms"] >= 0 and m["cpu_time_ms"] >= 0 and m["peak_memory_kb"] > 0
    url, phase = run(alice, "failer")
    assert phase == "ERROR"
    assert job_json(alice, url)["metrics"]["exit_code"] == 3
    assert job_json(alice, alice.create("echo"))["metrics"] is None


# ------------------------------------------- recognition and isolation

def test_reupload_is_recognised(alice, chain):
    assert used_entity(alice, chain.d) == chain.a_out["entity_id"]
    back = prov_json(alice, ID=job_id(chain.d), DEPTH="ALL")
    assert job_id(chain.a) in activities(back), "the lineage crosses the re-upload"


def test_another_users_identical_upload_is_not_linked(alice, bob, chain):
    e = completed(bob, "upload", files={"input": ("same.txt", chain.a_bytes)})
    used = used_entity(bob, e)
    assert used != chain.a_out["entity_id"]
    doc = prov_json(bob, ID=job_id(e), DEPTH="ALL")
    assert activities(doc) == {job_id(e)}
    assert "alice" not in json.dumps(doc)
    # and alice's lineage does not see bob's job
    fwd = prov_json(alice, ID=job_id(chain.a), DEPTH="ALL", DIRECTION="FORTH")
    assert job_id(e) not in activities(fwd)


def test_another_users_provenance_is_404_like_unknown(alice, bob, boss, chain):
    unknown_job, unknown_entity = "0" * 32, "e" + "0" * 32
    answers = []
    for ident in (job_id(chain.a), chain.a_out["entity_id"], unknown_job, unknown_entity):
        r = bob.get("/provsap", params={"ID": ident, "RESPONSEFORMAT": "PROV-JSON"})
        answers.append((r.status_code, r.text.replace(ident, "X")))
    assert answers[0] == answers[2] and answers[1] == answers[3], answers
    assert answers[0][0] == 404 and answers[1][0] == 404
    anon = alice.__class__(alice.base)
    assert anon.get("/provsap", params={"ID": job_id(chain.a)}).status_code == 404
    anon.close()
    assert activities(prov_json(boss, ID=job_id(chain.c), DEPTH="ALL")) == \
        {job_id(chain.a), job_id(chain.b), job_id(chain.c)}, "an admin sees every owner's"


# ---------------------------------------------------------------- /store

def test_store_serves_the_bytes_with_their_digest(alice, chain):
    e = chain.a_out["entity_id"]
    r = alice.get("/store", params={"ID": e})
    assert r.status_code == 200, r.text
    digest = hashlib.sha256(r.content).digest()
    assert r.content == chain.a_bytes
    assert hashlib.sha256(r.content).hexdigest() == chain.a_out["sha256"]
    b64 = base64.b64encode(digest).decode()
    assert r.headers["Repr-Digest"] == f"sha-256=:{b64}:"
    assert r.headers["Digest"] == f"sha-256={b64}"
    assert r.headers["Content-Length"] == str(len(chain.a_bytes))
    assert r.headers["Content-Type"].startswith("text/plain")
    assert link_targets(r) == [f"{alice.base}/provsap?ID={e}"]
    # the sha256 the provenance records is the digest of those bytes
    doc = prov_json(alice, ID=e, DEPTH=0)
    rec = next(v for k, v in doc["entity"].items() if e in k)
    assert hashlib.sha256(r.content).hexdigest() in json.dumps(rec)
    # OPUS's form
    r2 = alice.get(f"/store/{e}/output.txt")
    assert r2.status_code == 200 and r2.content == r.content
    assert r2.headers["Repr-Digest"] == r.headers["Repr-Digest"]
    h = alice.head("/store", params={"ID": e})
    assert h.status_code == 200 and h.headers["Content-Length"] == str(len(chain.a_bytes))


def test_store_is_404_for_another_user_like_unknown(alice, bob, boss, chain):
    e = chain.a_out["entity_id"]
    unknown = "e" + "0" * 32
    mine, other = bob.get("/store", params={"ID": e}), bob.get("/store", params={"ID": unknown})
    assert mine.status_code == other.status_code == 404
    assert mine.text.replace(e, "X") == other.text.replace(unknown, "X")
    assert bob.get(f"/store/{e}/output.txt").status_code == 404
    assert boss.get("/store", params={"ID": e}).content == chain.a_bytes, "admin"
    assert alice.get("/store", params={"ID": "not-an-id"}).status_code == 404
    assert_plain_error(alice.get("/store"), 400)
    assert alice.post("/store", params={"ID": e}).status_code in (403, 405)


# ------------------------------------------------------- Link headers

def test_job_and_result_answers_link_their_provenance(alice, chain):
    want = f"{chain.c}/prov"
    for path in ("", "/phase", "/results", "/parameters"):
        r = alice.get(chain.c + path)
        assert r.status_code == 200 and link_targets(r) == [want], (path, r.headers)
    r = alice.get(chain.c, headers=JSON_ACCEPT)
    assert link_targets(r) == [want]
    r = alice.get(chain.c + "/results/out")
    assert link_targets(r) == [f"{alice.base}/provsap?ID={chain.c_out['entity_id']}"]
    target = alice.get(want, params={"RESPONSEFORMAT": "PROV-JSON"})
    assert target.status_code == 200 and job_id(chain.c) in activities(target.json())
    assert alice.get(chain.c + "/nonesuch").headers.get("Link") is None, "no Link on a 404"


# ------------------------------------------------- every final job has it

def test_error_and_aborted_jobs_have_provenance(alice):
    url, phase = run(alice, "failer")
    assert phase == "ERROR"
    doc = prov_json(alice, ID=job_id(url))
    assert activities(doc) == {job_id(url)}
    assert "boom" in json.dumps(doc) or "exit" in json.dumps(doc), "the error summary"
    url = alice.create("sleeper", {"secs": 30}, run=True)
    alice.wait_for_phase(url, "EXECUTING")
    alice.set_phase(url, "ABORT")
    alice.wait_for_phase(url, "ABORTED")
    r = alice.get("/provsap", params={"ID": job_id(url), "RESPONSEFORMAT": "PROV-JSON"})
    assert r.status_code == 200 and activities(r.json()) == {job_id(url)}
    never = alice.create("echo")
    alice.set_phase(never, "ABORT")
    alice.wait_for_phase(never, "ABORTED")
    assert activities(prov_json(alice, ID=job_id(never))) == {job_id(never)}


def test_deleted_job_keeps_its_provenance(alice, chain):
    url = completed(alice, "chain", {"data": f"{job_id(chain.a)}/output", "label": "gone"})
    ent = result(alice, url, "out")["entity_id"]
    jid = job_id(url)
    before = prov_json(alice, ID=jid, DEPTH="ALL")
    assert alice.delete(url).status_code == 303
    assert alice.get(url).status_code == 404
    after = prov_json(alice, ID=jid, DEPTH="ALL")
    assert activities(after) == activities(before) == {jid, job_id(chain.a)}
    r = alice.get(url + "/provjson")
    assert r.status_code == 200 and activities(r.json()) == {jid}
    gone = alice.get("/store", params={"ID": ent})
    assert gone.status_code == 410 and "provsap" in gone.text
    assert "wasInvalidatedBy" in json.dumps(prov_json(alice, ID=ent, DEPTH=1))
    # A's result is still held by the other jobs: still served
    assert alice.get("/store", params={"ID": chain.a_out["entity_id"]}).status_code == 200


def test_archived_job_keeps_its_provenance(alice):
    url = completed(alice, "echo", {"text": "to be archived " + secrets.token_hex(4)})
    ent = result(alice, url, "output")["entity_id"]
    jid = job_id(url)
    r = alice.post(url + "/destruction", data={"DESTRUCTION": iso_utc(0)})
    assert r.status_code == 303
    alice.wait_for_phase(url, "ARCHIVED", timeout=20)
    d = alice.job(url)  # validated
    assert d["phase"] == "ARCHIVED" and d["results"] == []
    assert job_json(alice, url)["results"] == []
    assert alice.get(url + "/results/output").status_code == 404
    assert jid in alice.list_ids("echo", {"PHASE": "ARCHIVED"})
    assert jid not in alice.list_ids("echo")
    doc = prov_json(alice, ID=jid)
    assert activities(doc) == {jid} and ent in entities(doc)
    assert alice.get(url + "/prov").status_code == 200
    assert alice.get("/store", params={"ID": ent}).status_code == 410


# ------------------------------------------------------ bad parameters

@pytest.mark.parametrize("name,value", [
    ("DEPTH", "-1"), ("DEPTH", "one"), ("DEPTH", ""), ("DIRECTION", "SIDEWAYS"),
    ("MODEL", "OPM"), ("AGENT", "maybe"), ("CONFIGURATION", "2x"), ("DESCRIPTIONS", "3"),
    ("ATTRIBUTES", "perhaps"), ("MEMBERS", "x"), ("GD", "XY"), ("RESPONSEFORMAT", "PDF"),
])
def test_bad_parameter_is_400_naming_it(alice, chain, name, value):
    r = alice.get("/provsap", params={"ID": job_id(chain.c), name: value})
    assert_plain_error(r, 400)
    assert name in r.text, r.text
    r = alice.get(chain.c + "/prov", params={name: value})
    assert_plain_error(r, 400)
    assert name in r.text, r.text


def test_bad_ids_and_repeats(alice, chain):
    assert_plain_error(alice.get("/provsap"), 400)
    assert "ID" in alice.get("/provsap").text
    r = alice.get("/provsap", params=[("ID", job_id(chain.c)), ("DEPTH", "1"), ("DEPTH", "2")])
    assert_plain_error(r, 400)
    assert "DEPTH" in r.text
    for bad in ("../etc", "0" * 31, "E" + "0" * 32):
        assert alice.get("/provsap", params={"ID": bad}).status_code in (400, 404), bad
    r = alice.get("/provsap", params={"ID": job_id(chain.c)},
                  headers={"Accept": "application/json"})
    assert r.status_code == 200
    err = alice.get("/provsap", params={"ID": job_id(chain.c), "DEPTH": "x"}, headers=JSON_ACCEPT)
    assert err.status_code == 400 and err.json()["fields"][0]["name"] == "DEPTH"
    assert alice.post("/provsap", data={"ID": job_id(chain.c)}).status_code in (403, 405)


# ========================================================= PROV-N checker
#
# A recursive-descent checker of the W3C PROV-N grammar (REC 2013-04-30, section 3)
# for the productions a PROV document of opusd uses: document/endDocument, prefix
# and default declarations, bundles, the element and relation expressions with
# their optional identifier ("id;"), markers "-", times, attribute lists and the
# literals (typed strings, language strings, integers, quoted qualified names).
# Every prefix used must be declared (prov and xsd are predefined).

PN_CHARS_ESC = r"\\[=\'(),\-:;\[\].]"
PN_OTHERS = r"(?:[/@~&+*?#$!]|%[0-9A-Fa-f]{2}|" + PN_CHARS_ESC + ")"
PN_LOCAL = r"(?:[A-Za-z0-9_]|" + PN_OTHERS + r")(?:(?:[A-Za-z0-9_.\-]|" + PN_OTHERS + \
    r")*(?:[A-Za-z0-9_\-]|" + PN_OTHERS + r"))?"
PN_PREFIX = r"[A-Za-z](?:[A-Za-z0-9_.\-]*[A-Za-z0-9_\-])?"
TOKENS = [
    ("ws", r"\s+|//[^\n]*|/\*.*?\*/"),
    ("iri", r"<[^<>\"{}|^`\\\s]*>"),
    ("string", r'"""(?:[^"\\]|\\.|"(?!""))*"""|"(?:[^"\\\n]|\\.)*"'),
    ("time", r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})?"),
    ("qnlit", r"'(?:" + PN_PREFIX + ":)?" + PN_LOCAL + "'"),
    ("typemark", r"%%"),
    ("lang", r"@[A-Za-z]+(?:-[A-Za-z0-9]+)*"),
    ("int", r"-?\d+(?![A-Za-z0-9_.:\-])"),
    ("qname", r"(?:" + PN_PREFIX + r":(?:" + PN_LOCAL + r")?|" + PN_LOCAL + ")"),
    ("punct", r"[()\[\],;=\-]"),
]
TOKEN_RE = re.compile("|".join(f"(?P<{n}>{p})" for n, p in TOKENS), re.S)

# name: (fewest, most positional arguments, time positions (0-based), takes "id;")
EXPRESSIONS = {
    "entity": (1, 1, (), False),
    "activity": (1, 3, (1, 2), False),
    "agent": (1, 1, (), False),
    "wasGeneratedBy": (1, 3, (2,), True),
    "used": (1, 3, (2,), True),
    "wasInformedBy": (2, 2, (), True),
    "wasStartedBy": (1, 4, (3,), True),
    "wasEndedBy": (1, 4, (3,), True),
    "wasInvalidatedBy": (1, 3, (2,), True),
    "wasDerivedFrom": (2, 5, (), True),
    "wasAttributedTo": (2, 2, (), True),
    "wasAssociatedWith": (1, 3, (), True),
    "actedOnBehalfOf": (2, 3, (), True),
    "wasInfluencedBy": (2, 2, (), True),
    "specializationOf": (2, 2, (), False),
    "alternateOf": (2, 2, (), False),
    "hadMember": (2, 2, (), False),
}
NO_ATTRIBUTES = ("specializationOf", "alternateOf", "hadMember")


class ProvNError(AssertionError):
    pass


def provn_tokens(text):
    pos, out = 0, []
    while pos < len(text):
        m = TOKEN_RE.match(text, pos)
        if not m or m.end() == pos:
            raise ProvNError(f"PROV-N: cannot read {text[pos:pos + 60]!r} at offset {pos}")
        if m.lastgroup != "ws":
            out.append((m.lastgroup, m.group(), pos))
        pos = m.end()
    out.append(("eof", "", pos))
    return out


class ProvN:
    def __init__(self, text):
        self.toks = provn_tokens(text)
        self.i = 0
        self.prefixes = {"prov", "xsd"}
        self.default = False
        self.declared = {"entity": set(), "activity": set(), "agent": set()}
        self.statements = 0

    def peek(self, k=0):
        return self.toks[min(self.i + k, len(self.toks) - 1)]

    def fail(self, what):
        kind, val, pos = self.peek()
        raise ProvNError(f"PROV-N: expected {what}, got {kind} {val!r} at offset {pos}")

    def take(self, kind, value=None):
        t = self.peek()
        if t[0] != kind or (value is not None and t[1] != value):
            self.fail(value or kind)
        self.i += 1
        return t[1]

    def at(self, kind, value=None):
        t = self.peek()
        return t[0] == kind and (value is None or t[1] == value)

    def qname(self):
        name = self.take("qname")
        if ":" in name:
            prefix = name.split(":", 1)[0]
            if prefix not in self.prefixes:
                raise ProvNError(f"PROV-N: prefix {prefix!r} of {name!r} is not declared")
        elif not self.default:
            raise ProvNError(f"PROV-N: {name!r} has no prefix and there is no default namespace")
        return name

    def document(self):
        self.take("qname", "document")
        self.namespaces()
        while not self.at("qname", "endDocument"):
            if self.at("qname", "bundle"):
                self.bundle()
            else:
                self.expression()
        self.take("qname", "endDocument")
        self.take("eof")
        return self

    def namespaces(self):
        while True:
            if self.at("qname", "prefix"):
                self.i += 1
                p = self.take("qname")
                if ":" in p or not re.fullmatch(PN_PREFIX, p):
                    raise ProvNError(f"PROV-N: bad prefix {p!r}")
                self.take("iri")
                self.prefixes.add(p)
            elif self.at("qname", "default"):
                self.i += 1
                self.take("iri")
                self.default = True
            else:
                return

    def bundle(self):
        self.take("qname", "bundle")
        self.qname()
        self.namespaces()
        while not self.at("qname", "endBundle"):
            self.expression()
        self.take("qname", "endBundle")

    def expression(self):
        name = self.take("qname")
        if name not in EXPRESSIONS:
            raise ProvNError(f"PROV-N: unknown expression {name!r}")
        fewest, most, times, takes_id = EXPRESSIONS[name]
        self.take("punct", "(")
        if takes_id and self.peek(1)[1] == ";":
            if not self.at("punct", "-"):
                self.qname()
            else:
                self.i += 1
            self.take("punct", ";")
        args = [self.argument(0, times)]
        if args[0] == "-":
            raise ProvNError(f"PROV-N: {name}: the first argument cannot be a marker")
        while self.at("punct", ",") and not self.peek(1)[1] == "[":
            self.i += 1
            args.append(self.argument(len(args), times))
        if not fewest <= len(args) <= most:
            raise ProvNError(f"PROV-N: {name} takes {fewest}..{most} arguments, {len(args)} given")
        if name in ("wasGeneratedBy", "used", "wasInvalidatedBy") and len(args) == 2:
            raise ProvNError(f"PROV-N: {name} takes 1 or 3 arguments")
        if self.at("punct", ","):
            if name in NO_ATTRIBUTES:
                self.fail(")")
            self.i += 1
            self.attributes()
        elif self.at("punct", "[") and name in ("entity", "agent", "activity"):
            self.fail(", before the attributes")
        self.take("punct", ")")
        if name in self.declared:
            self.declared[name].add(args[0])
        self.statements += 1

    def argument(self, k, times):
        if self.at("punct", "-"):
            self.i += 1
            return "-"
        if k in times:
            return self.take("time")
        return self.qname()

    def attributes(self):
        self.take("punct", "[")
        if self.at("punct", "]"):
            self.i += 1
            return
        while True:
            self.qname()
            self.take("punct", "=")
            self.literal()
            if self.at("punct", "]"):
                self.i += 1
                return
            self.take("punct", ",")

    def literal(self):
        if self.at("string"):
            self.i += 1
            if self.at("typemark"):
                self.i += 1
                self.qname()
            elif self.at("lang"):
                self.i += 1
        elif self.at("int") or self.at("qnlit"):
            q = self.take(self.peek()[0])
            if q.startswith("'") and ":" in q:
                prefix = q[1:].split(":", 1)[0]
                if prefix not in self.prefixes:
                    raise ProvNError(f"PROV-N: prefix {prefix!r} of {q} is not declared")
        else:
            self.fail("a literal")


def provn_check(text):
    """Parses a PROV-N document; raises ProvNError (an AssertionError) when it does not
    follow the grammar; returns the parser (declared identifiers, statement count)."""
    return ProvN(text).document()


GOOD_PROVN = """document
  prefix ex <http://example.org/>
  prefix opus_job <http://127.0.0.1:8080/rest/>
  default <http://example.org/default/>
  // a comment
  entity(ex:e1, [prov:type='prov:Plan', ex:size=12, ex:sha256="ab12" %% xsd:string])
  entity(ex:a\\=b/c)
  activity(opus_job:j0123, 2026-12-02T00:00:00.123Z, -, [prov:label="copy"@en])
  activity(plain)
  agent(ex:alice, [prov:type='prov:Person'])
  wasGeneratedBy(ex:e1, opus_job:j0123, 2026-12-02T00:00:01Z)
  used(ex:u1; opus_job:j0123, ex:e1, -, [prov:role="data"])
  used(opus_job:j0123, ex:e1, -)
  wasAssociatedWith(-; opus_job:j0123, ex:alice, -, [prov:role="owner"])
  wasDerivedFrom(ex:e1, ex:e2)
  wasInformedBy(opus_job:j0123, opus_job:j0124)
  hadMember(ex:c, ex:e1)
  bundle ex:b
    entity(ex:in_bundle)
  endBundle
endDocument
"""


def test_provn_checker_accepts_the_grammar():
    p = provn_check(GOOD_PROVN)
    assert p.declared["activity"] == {"opus_job:j0123", "plain"}
    assert p.declared["entity"] == {"ex:e1", "ex:a\\=b/c", "ex:in_bundle"}
    assert p.statements == 13


@pytest.mark.parametrize("bad", [
    "entity(ex:e)\nendDocument",                                         # no document
    "document\nentity(ex:e)\n",                                          # no endDocument
    "document\nentity(nope:e)\nendDocument",                             # undeclared prefix
    "document\nprefix ex <http://x/>\nentity(ex:e\nendDocument",         # unclosed
    "document\nprefix ex <http://x/>\nentty(ex:e)\nendDocument",         # unknown expression
    "document\nprefix ex <http://x/>\nused(ex:a, ex:e)\nendDocument",    # used takes 1 or 3
    "document\nprefix ex <http://x/>\nactivity(ex:a, yesterday, -)\nendDocument",  # time
    "document\nprefix ex <http://x/>\nentity(ex:e, [ex:k=])\nendDocument",         # literal
    "document\nprefix ex <http://x/>\nentity(ex:e [ex:k=\"v\"])\nendDocument",     # comma
    "document\nprefix ex <http://x/>\nentity(ex:a b)\nendDocument",       # two names
    "document\nprefix ex <http://x/>\nentity(ex:a\\/b)\nendDocument",     # '/' is no escape
    "document\nprefix ex <http://x/>\nentity(ex:a.)\nendDocument",        # ends with '.'
    "document\nprefix ex <http://x/>\nentity(ex:e, [ex:k=\"v])\nendDocument",      # string
    "document\nprefix ex <http://x/>\nwasInformedBy(ex:a)\nendDocument",  # arity
    "document\nprefix ex <http://x/>\nentity(e)\nendDocument",           # no default ns
    "document\nprefix ex <http://x/>\nentity(-)\nendDocument",           # marker as id
])
def test_provn_checker_refuses_what_is_not_prov_n(bad):
    with pytest.raises(ProvNError):
        provn_check(bad)


def test_cross_site_clients_may_read_the_provenance_headers(daemon_factory):
    origin = "https://app.example.org"
    d = daemon_factory({"server": {"cors_origins": origin}})
    c = d.client()
    url = c.create("echo")
    r = c.get(url, headers={"Origin": origin})
    assert r.status_code == 200 and link_targets(r) == [f"{url}/prov"]
    exposed = {h.strip() for h in r.headers["Access-Control-Expose-Headers"].split(",")}
    assert {"Link", "Repr-Digest", "Digest", "Location"} <= exposed
