"""The start banner names the configured listen address and a first request on
a description that is loaded (copy when there is one, else another, else a word
on how to add one), and the request it suggests works; the last log line says
shutdown completed.
"""
import re
import shutil

from conftest import REPO, wait_until


def banner(d):
    """The banner's two lines (logged just after the daemon starts answering)."""
    def lines():
        text = d.log_text().splitlines()
        listening = [ln for ln in text if "listening on" in ln]
        hint = [ln for ln in text if "try: curl" in ln or "no job descriptions in" in ln]
        return (listening[-1], hint[-1]) if listening and hint else None
    return wait_until(lines, 10, what=f"the start banner in {d.log_path}")


def test_banner_names_listen_address_and_public_url(daemon_factory):
    d = daemon_factory({"server": {"base_url": "http://opus.example.org/uws"}})
    listening, _ = banner(d)
    assert f"listening on 127.0.0.1:{d.port}," in listening, listening
    assert "http://opus.example.org/uws" in listening, listening


def test_hint_without_copy_names_a_loaded_description_and_works(daemon_factory):
    d = daemon_factory()  # the test descriptions have no `copy`
    _, hint = banner(d)
    c = d.client()
    names = c.get("/jdl").json()
    m = re.search(r"try: curl (\S+)/jdl/(\w+)/json .*curl -i -d PHASE=RUN (\S+)/rest/(\w+)$",
                  hint)
    assert m, hint
    assert m.group(1) == m.group(3) == d.base and m.group(2) == m.group(4), hint
    assert m.group(2) in names, f"{hint} names no loaded description ({names})"
    assert c.get(f"/jdl/{m.group(2)}/json").status_code == 200


def test_hint_with_copy_runs_the_readme_example(daemon_factory):
    d = daemon_factory(start=False)
    shutil.copy(REPO / "jobdefs" / "copy.xml", d.jdl_dir / "copy.xml")
    d.start()
    _, hint = banner(d)
    assert hint.endswith(f"try: curl -i -d text=hello -d PHASE=RUN {d.base}/rest/copy"), hint
    c = d.client()
    r = c.post("/rest/copy", data={"text": "hello", "PHASE": "RUN"})
    assert r.status_code == 303, r.text
    url = r.headers["Location"]
    assert c.wait_for_phase(url, "COMPLETED", timeout=30) == "COMPLETED"
    assert c.get(url + "/results/output").text.strip() == "hello"


def test_hint_without_descriptions_says_how_to_add_one(daemon_factory):
    d = daemon_factory(start=False)
    shutil.rmtree(d.jdl_dir)
    d.jdl_dir.mkdir()
    d.start()
    _, hint = banner(d)
    assert f"no job descriptions in {d.jdl_dir}" in hint and "SIGHUP" in hint, hint


def test_last_log_line_says_shutdown_completed(daemon_factory):
    d = daemon_factory()
    d.stop()
    last = d.log_text().rstrip("\n").splitlines()[-1]
    assert last.endswith("opusd stopped"), last
