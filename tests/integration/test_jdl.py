"""Job descriptions over HTTP: /jdl lists the names, /jdl/{name} serves the
OPUS VOTable, /jdl/{name}/json what a form needs (with MIN/MAX and OPTIONs,
from jobdefs/choices.xml) and /jdl/{name}/script the script with LF line
ends. Unknown names, unknown views and path tricks are plain-text 404s.
"""
from conftest import assert_plain_error, parse_xml

VOT_NS = "http://www.ivoa.net/xml/VOTable/v1.3"


def test_index_lists_names(client):
    r = client.get("/jdl")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/json")
    names = r.json()
    assert names == sorted(names)
    assert {"choices", "echo", "sleeper"} <= set(names)


def test_index_detail_carries_what_a_list_shows(client):
    """?detail=true: one request gives a list page every description's
    card (the same values as /jdl/{name}/json)."""
    rows = client.get("/jdl", params={"detail": "true"}).json()
    assert [o["name"] for o in rows] == client.get("/jdl").json()
    keys = ("description", "version", "type", "subtype", "contact_name",
            "contact_email", "doculink")
    for o in rows:
        assert set(o) == {"name", "enabled", *keys}
        full = client.get(f"/jdl/{o['name']}/json").json()
        assert {k: o[k] for k in keys} == {k: full[k] for k in keys}
    choices = next(o for o in rows if o["name"] == "choices")
    assert choices["enabled"] is True
    assert choices["doculink"] == "https://example.org/choices"


def test_description_is_the_votable(client):
    r = client.get("/jdl/choices")
    assert r.status_code == 200
    assert "xml" in r.headers["Content-Type"]
    root = parse_xml(r.content)
    assert root.tag == f"{{{VOT_NS}}}VOTABLE"
    res = root.find(f"{{{VOT_NS}}}RESOURCE")
    assert res.get("name") == "choices"
    assert res.get("utype") == "voprov:ActivityDescription"


def test_json_has_what_a_form_needs(client):
    r = client.get("/jdl/choices/json")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/json")
    d = r.json()
    assert d["name"] == "choices"
    assert d["description"] == "Bounded and enumerated parameters, for form clients"
    assert d["doculink"] == "https://example.org/choices"
    assert (d["type"], d["subtype"], d["version"]) == ("test", "form", "2")
    assert (d["contact_name"], d["contact_email"]) == ("opus-admin", "admin@opus")
    assert (d["executionDuration"], d["quote"]) == (30, 2)
    params = {p["name"]: p for p in d["parameters"]}
    assert [p["name"] for p in d["parameters"]] == ["count", "colour", "ra"]
    count = params["count"]
    assert (count["datatype"], count["default"], count["required"]) == ("int", "5", False)
    assert (count["min"], count["max"], count["options"]) == ("1", "9", [])
    assert count["description"] == "How many, 1 to 9"
    assert count["unit"] is None and count["ucd"] is None and count["utype"] is None
    colour = params["colour"]
    assert colour["options"] == ["red", "green", "blue"]
    assert colour["min"] is None and colour["max"] is None
    assert colour["arraysize"] == "*"
    ra = params["ra"]
    assert (ra["datatype"], ra["required"], ra["default"]) == ("double", True, None)
    assert (ra["unit"], ra["ucd"]) == ("deg", "pos.eq.ra")
    assert d["used"] == [{"name": "input", "description": "A text file", "role": None,
                          "multiplicity": "1", "default": "input.txt",
                          "content_type": "text/plain", "url": "file://$ID"}]
    assert d["generated"] == [{"name": "output", "description": "Output file", "role": None,
                               "multiplicity": None, "default": "output.txt",
                               "content_type": "text/plain", "url": None}]


def test_json_of_a_description_without_bounds(client):
    d = client.get("/jdl/echo/json").json()
    assert d["doculink"] is None
    assert d["used"] == []
    assert all(p["options"] == [] and p["min"] is None for p in d["parameters"])


def test_script_is_plain_text_with_lf(client):
    r = client.get("/jdl/choices/script")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/plain")
    assert r.content == (b'echo "$count $colour $ra" > "$output"\n'
                         b'cat "$input" >> "$output"\n')


def test_head_on_views(client):
    for path in ("/jdl/choices/json", "/jdl/choices/script"):
        assert client.head(path).status_code == 200


def test_unknown_names_and_views_are_404(client):
    for path in ("/jdl/nosuch", "/jdl/nosuch/json", "/jdl/nosuch/script",
                 "/jdl/choices/xml", "/jdl/choices/json/more", "/jdl/..%2Fevil",
                 "/jdl/..%2Fevil/json", "/jdl/choices%2F..%2Fecho"):
        r = client.get(path)
        assert r.status_code == 404, f"{path}: {r.status_code}"
        if r.content:
            assert_plain_error(r, 404)


def test_post_is_405(client):
    assert client.post("/jdl/choices/json").status_code == 405
