"""Validation of submitted jobs (issue 3, item 2): one accepted and one refused
value per rule, at create and at a parameter change; required parameters at
RUN; defaults fill absent optional parameters. A refused request gets 400
naming the field and changes nothing. The OPUS example descriptions load and
run unchanged.
"""
import shutil
from pathlib import Path

import pytest

from conftest import assert_plain_error

REPO = Path(__file__).resolve().parents[2]

# (parameter, accepted value, refused value, words of the reason)
RULES = [
    ("b", "true", "maybe", "true or false"),
    ("s", "-32768", "32768", "-32768 and 32767"),
    ("i", "10", "11", "10"),          # MAX
    ("i", "1", "0", "1"),             # MIN
    ("i", "7", "7.5", "integer"),     # type
    ("l", "-9223372036854775808", "9223372036854775808", "integer"),
    ("f", "1e3", "1e99", "finite"),
    ("d", "-90", "-90.5", "90"),      # MIN on a double
    ("d", "45.5", "nan", "number"),
    ("u", "https://example.org/a", "no scheme here", "URI"),
    ("c", "green", "blue", "one of"),  # OPTION
]


def job_count(client):
    return len(client.list_ids("rules"))


@pytest.mark.parametrize("name,good,bad,why", RULES)
def test_rule_at_create(client, name, good, bad, why):
    url = client.create("rules", {name: good, "req": "x"})
    assert client.job(url)["parameters"][name]["value"] == good
    n = job_count(client)
    r = client.post("/rest/rules", data={name: bad, "req": "x"})
    assert_plain_error(r, 400)
    assert r.text.startswith(f"{name}: "), r.text
    assert why.lower() in r.text.lower(), r.text
    assert job_count(client) == n, "a refused create made a job"


@pytest.mark.parametrize("name,good,bad,why", RULES)
def test_rule_at_parameter_change(client, name, good, bad, why):
    url = client.create("rules", {"req": "x"})
    r = client.post(url + "/parameters", data={name: good})
    assert r.status_code == 303, r.text
    r = client.post(url + "/parameters", data={name: bad})
    assert_plain_error(r, 400)
    assert r.text.startswith(f"{name}: "), r.text
    assert client.job(url)["parameters"][name]["value"] == good


def test_every_bad_field_is_named(client):
    r = client.post("/rest/rules", data={"i": "0", "c": "blue", "nosuch": "1", "PHASE": "RUN"})
    assert_plain_error(r, 400)
    names = sorted(line.split(":")[0] for line in r.text.strip().splitlines())
    assert names == ["c", "i", "nosuch", "req"], r.text


def test_required_checked_at_run(client):
    url = client.create("rules")
    r = client.post(url + "/phase", data={"PHASE": "RUN"})
    assert_plain_error(r, 400)
    assert "req: required parameter missing" in r.text
    assert client.phase(url) == "PENDING"
    assert client.post(url + "/parameters", data={"req": "here"}).status_code == 303
    client.set_phase(url, "RUN")
    assert client.wait_for_phase(url, ("COMPLETED", "ERROR")) == "COMPLETED"


def test_defaults_fill_absent_optional_parameters(client):
    url = client.create("rules", {"req": "x"}, run=True)
    params = client.job(url)["parameters"]
    got = {k: v["value"] for k, v in params.items()}
    assert got == {"req": "x", "b": "false", "s": "1", "i": "5", "l": "0", "f": "0.5",
                   "d": "0", "c": "red"}, got
    assert client.wait_for_phase(url, ("COMPLETED", "ERROR")) == "COMPLETED"
    out = client.get(url + "/results/out").text
    assert "i=5\n" in out and "c=red\n" in out and "req=x\n" in out, out


# ------------------------------------------------------ OPUS's own examples

@pytest.fixture(scope="module")
def opus(module_factory, tmp_path_factory):
    root = tmp_path_factory.mktemp("opus-inputs")
    (root / "input.txt").write_text("from a file ID\n")
    d = module_factory({"inputs": {"file_roots": str(root)}, "jobs": {"max_running": 3}},
                       start=False, name="opus")
    for f in (REPO / "tests" / "data" / "opus-jdl").glob("*_vot.xml"):
        shutil.copy(f, d.jdl_dir / f.name.replace("_vot", ""))
    d.start()
    d.input_root = root
    return d


def test_opus_examples_run_unchanged(opus):
    c = opus.client()
    one = c.create("test_activity_1", run=True)
    two = c.create("test_activity_2", {"text": "appended"},
                   files={"input": ("in.txt", b"uploaded\n", "text/plain")}, run=True)
    three = c.create("test_activity_2", {"input": f"{opus.input_root}/input.txt"}, run=True)
    for url in (one, two, three):
        assert c.wait_for_phase(url, ("COMPLETED", "ERROR"), timeout=30) == "COMPLETED", \
            c.get(url + "/error").text
    assert c.get(one + "/results/output").text == "Hello World\n"
    assert c.get(two + "/results/output").text == "uploaded\nappended\n"
    assert c.get(three + "/results/output").text == "from a file ID\n!\n"
