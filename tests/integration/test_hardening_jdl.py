"""Issue 11, job descriptions: names that only look like environment names
load and run (item 1); an OPUS site's description folder (votable/, json/,
wadl/, scripts/) loads as it is, and reloads on SIGHUP (item 5); the start
logs one "loaded N" line (item 20)."""
import json
import re
import shutil
import signal

import pytest

from conftest import REPO, wait_until

ENV_LIKE = """<VOTABLE xmlns="http://www.ivoa.net/xml/VOTable/v1.3" version="1.3">
  <RESOURCE ID="envlike" name="envlike" type="meta" utype="voprov:ActivityDescription">
    <DESCRIPTION>Parameters named like bash and libc variables, in lower case</DESCRIPTION>
    <PARAM name="executionDuration" value="10" datatype="int"/>
    <PARAM name="script" value="printf &apos;%s|%s|%s|%s|%s&apos; &quot;$seconds&quot; \
&quot;$user&quot; &quot;$home&quot; &quot;$tz&quot; &quot;$HOME&quot; &gt; &quot;$output&quot;&#10;" \
arraysize="*" datatype="char"/>
    <GROUP name="InputParams">
      <PARAM name="seconds" datatype="int" value="5"/>
      <PARAM name="user" datatype="char" arraysize="*" value="nobody"/>
      <PARAM name="home" datatype="char" arraysize="*" value="/nowhere"/>
      <PARAM name="tz" datatype="char" arraysize="*" value="UTC"/>
    </GROUP>
    <GROUP name="Generated">
      <GROUP name="output">
        <PARAM name="default" value="output.txt" arraysize="*" datatype="char"/>
        <PARAM name="content_type" value="text/plain" arraysize="*" datatype="char"/>
      </GROUP>
    </GROUP>
  </RESOURCE>
</VOTABLE>
"""


def test_env_like_names_load_and_reach_the_script(daemon_factory, tmp_path):
    jdl = tmp_path / "jdl"
    jdl.mkdir()
    (jdl / "envlike.xml").write_text(ENV_LIKE)
    d = daemon_factory({"paths": {"jdl_dir": jdl}})
    c = d.client()
    assert c.get("/jdl").json() == ["envlike"], d.log_tail()
    # parameter names are case-insensitive on input: SECONDS sets `seconds`
    url = c.create("envlike", {"SECONDS": "42", "user": "ada", "Home": "/h", "tz": "CET"},
                   run=True)
    assert c.wait_for_phase(url, ("COMPLETED", "ERROR")) == "COMPLETED", c.job(url)
    seconds, user, home, tz, env_home = c.get(url + "/results/output").text.split("|")
    assert (seconds, user, home, tz) == ("42", "ada", "/h", "CET")
    # the job's own HOME is untouched: the job directory
    assert env_home == str(d.job_dir(url.rsplit("/", 1)[1]))


def test_one_loaded_line_at_start(daemon_factory):
    d = daemon_factory()
    lines = [ln for ln in d.log_text().splitlines()
             if re.search(r"loaded .*job description|job descriptions? loaded", ln)]
    assert len(lines) == 1, lines
    n = len(list(d.jdl_dir.glob("*.xml")))
    assert f"loaded {n} job description(s) from {d.jdl_dir}" in lines[0], lines


# ------------------------------------------- an OPUS site's folder (item 5)

SITE = REPO / "tests" / "data" / "opus-site"
SITE_NAMES = ["json_only", "shadowed", "vot_embedded", "vot_script", "wadl_only"]


def run_output(c, jobdef, data=None, files=None):
    url = c.create(jobdef, data, files=files, run=True)
    assert c.wait_for_phase(url, ("COMPLETED", "ERROR"), timeout=30) == "COMPLETED", \
        c.get(url + "/error").text
    return c.get(url + "/results/output").text


@pytest.fixture
def site(daemon_factory, tmp_path):
    jdl = tmp_path / "opus-jdl"
    shutil.copytree(SITE, jdl)
    d = daemon_factory({"paths": {"jdl_dir": jdl}, "jobs": {"max_running": 3}})
    d.site = jdl
    return d


def test_opus_site_folder_loads_and_runs(site):
    c = site.client()
    assert c.get("/jdl").json() == SITE_NAMES, site.log_tail()
    assert "skipped" not in site.log_text()
    assert run_output(c, "vot_embedded", {"text": "embedded"}) == "embedded\n"
    assert run_output(c, "vot_script", {"text": "appended"},
                      files={"input": ("in.txt", b"uploaded\n", "text/plain")}) \
        == "uploaded\nappended\n"
    assert run_output(c, "json_only", {"word": "ab", "times": "3", "sep": "+"}) == "ab+ab+ab+"
    assert run_output(c, "wadl_only", {"n": "4", "mode": "slow"}) == "hello 4 slow 0.5 no"
    assert run_output(c, "shadowed") == "votable Hello World\n"
    # OPUS's own checks hold for its JSON and WADL too
    r = c.post("/rest/wadl_only", data={"mode": "medium"})
    assert r.status_code == 400 and "mode" in r.text
    # each is served as a VOTable that carries its script
    vot = c.get("/jdl/wadl_only")
    assert vot.status_code == 200 and b"<VOTABLE" in vot.content
    assert c.get("/jdl/wadl_only/script").text == (SITE / "scripts" / "wadl_only.sh").read_text()
    form = c.get("/jdl/json_only/json").json()
    assert [p["name"] for p in form["parameters"]] == ["word", "times", "sep"]


def test_opus_site_reload(site):
    c = site.client()
    before = c.create("wadl_only", {"text": "old"})
    (site.site / "scripts" / "wadl_only.sh").write_text('echo "v2 $text" > "$output"\n')
    (site.site / "votable" / "shadowed_vot.xml").unlink()
    (site.site / "json" / "added.json").write_text(
        json.dumps({"name": "added", "annotation": "Added", "script": "echo added > $output",
                    "generated": {"output": {"default": "out.txt"}}}, indent=4))
    site.signal(signal.SIGHUP)
    wait_until(lambda: "added" in c.get("/jdl").json(), 10, what="the reload")
    assert c.get("/jdl").json() == sorted(SITE_NAMES + ["added"])
    assert run_output(c, "wadl_only", {"text": "new"}) == "v2 new\n"
    assert run_output(c, "shadowed") == "json Hello World\n"
    assert run_output(c, "added") == "added\n"
    # a job created before the reload runs the version it was created with
    c.set_phase(before, "RUN")
    assert c.wait_for_phase(before, ("COMPLETED", "ERROR"), timeout=30) == "COMPLETED"
    assert c.get(before + "/results/output").text == "old 3 fast 0.5 no"


# OPUS's ctbin names its output file with a parameter and a result both called
# `outfile` (wadl/ctbin.wadl): the result is the file the parameter names.
CTBIN_WADL = """<?xml version="1.0" standalone="yes"?>
<application xmlns="http://wadl.dev.java.net/2009/02">
  <resources base="https://example.org/">
    <resource id="joblist" path="ctbinlike">
      <doc title="description">Writes a file named by a parameter</doc>
      <method id="create_job" name="POST">
        <request id="create_job_parameters">
          <param style="query" name="PHASE" type="xs:string" required="false" fixed="RUN"/>
          <param style="query" name="outfile" type="xs:string" required="false" default="cntmap.fits">
            <doc>Output counts map</doc>
          </param>
        </request>
      </method>
      <resource id="job" path="{job-id}">
        <param style="template" name="result-id" type="xs:string" required="true">
          <option value="outfile" mediaType="text/plain" default="cntmap.fits"/>
        </param>
      </resource>
    </resource>
  </resources>
</application>
"""


def test_result_named_like_a_parameter_is_the_file_it_names(daemon_factory, tmp_path):
    site = tmp_path / "site"
    (site / "wadl").mkdir(parents=True)
    (site / "scripts").mkdir()
    (site / "wadl" / "ctbinlike.wadl").write_text(CTBIN_WADL)
    (site / "scripts" / "ctbinlike.sh").write_text('echo counts > "$outfile"\n')
    d = daemon_factory({"paths": {"jdl_dir": site}})
    c = d.client()
    assert c.get("/jdl").json() == ["ctbinlike"], d.log_tail()
    url = c.create("ctbinlike", {"outfile": "mine.txt"}, run=True)
    assert c.wait_for_phase(url, ("COMPLETED", "ERROR")) == "COMPLETED", c.job(url)
    assert c.get(url + "/results/outfile").text == "counts\n"
    assert (d.job_dir(url.rsplit("/", 1)[1]) / "mine.txt").exists()
    # the default names it when the parameter is not given
    url = c.create("ctbinlike", run=True)
    assert c.wait_for_phase(url, ("COMPLETED", "ERROR")) == "COMPLETED", c.job(url)
    assert c.get(url + "/results/outfile").text == "counts\n"
    assert (d.job_dir(url.rsplit("/", 1)[1]) / "cntmap.fits").exists()
    # a value that is no plain file name of the job directory is not followed
    url = c.create("ctbinlike", {"outfile": "../escape.txt"}, run=True)
    assert c.wait_for_phase(url, ("COMPLETED", "ERROR")) in ("COMPLETED", "ERROR")
    assert c.get(url + "/results/outfile").status_code == 404
