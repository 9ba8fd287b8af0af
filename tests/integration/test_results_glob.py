"""Generated patterns: a Generated entity whose default is a glob (jobdefs/
globber.xml, `*.fits`) makes every regular file of the job directory's top
level that matches it a result, named after the file, with the entity's
content type. Never a dotfile, a symlink (l.fits -> /etc/passwd), a directory
(d.fits) or a name unfit for a URL segment ("sp ace.fits").
"""
from conftest import NS, PROV_LINKS, validate_uws


def test_pattern_results(client):
    url = client.create("globber", run=True)
    assert client.wait_for_phase(url, ("COMPLETED", "ERROR")) == "COMPLETED", \
        client.get(url + "/error").text
    job = client.job(url)  # validated against UWS-1.1.xsd
    ids = [r["id"] for r in job["results"] if r["id"] not in PROV_LINKS]
    assert sorted(ids) == ["a.fits", "b.fits", "stderr", "stdout"], ids
    assert [i for i in ids if i.endswith(".fits")] == ["a.fits", "b.fits"]  # by name
    sizes = {"a.fits": b"aaa", "b.fits": b"bbbbb"}
    for r in job["results"]:
        if r["id"] not in sizes:
            continue
        assert r["mime-type"] == "application/fits", r
        assert r["size"] == str(len(sizes[r["id"]])), r
        assert r["href"].endswith(f"/results/{r['id']}"), r
        got = client.get(url + f"/results/{r['id']}")
        assert got.status_code == 200
        assert got.content == sizes[r["id"]]
        assert got.headers["Content-Type"].startswith("application/fits")


def test_pattern_results_document(client):
    url = client.create("globber", run=True)
    client.wait_for_phase(url, ("COMPLETED", "ERROR"))
    r = client.get(url + "/results")
    assert r.status_code == 200
    root = validate_uws(r.content)
    ids = [e.get("id") for e in root.iterfind("uws:result", NS) if e.get("id") not in PROV_LINKS]
    assert sorted(ids) == ["a.fits", "b.fits", "stderr", "stdout"], ids


def test_excluded_files_are_not_served(client, daemon):
    url = client.create("globber", run=True)
    client.wait_for_phase(url, ("COMPLETED", "ERROR"))
    for name in ("l.fits", ".hidden.fits", "c.txt", "d.fits", "sp%20ace.fits"):
        assert client.get(url + f"/results/{name}").status_code == 404, name
    job_id = url.rsplit("/", 1)[1]
    assert any(job_id in line and "matching a result pattern skipped" in line
               for line in daemon.log_text().splitlines()), "unsafe name not logged"
