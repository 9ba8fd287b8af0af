"""Issue 11, job descriptions: names that only look like environment names
load and run (item 1); the start logs one "loaded N" line (item 20)."""
import re

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
