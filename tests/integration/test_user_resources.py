"""The resources a job asks for itself at creation (partition, account, gres,
nodes, tasksPerNode, cpusPerTask; README "Running jobs on SLURM"): refused
with 400 unless [slurm] user_resources lists them, checked (400 with the
reason), kept as parameters of the job, never in the script's environment;
a description's own parameter of that name stays an ordinary parameter.
No cluster: the local backend ignores the resources (tests/slurm shows them
reaching SLURM).
"""
import pytest

from conftest import Daemon, assert_plain_error

# env.txt: the script's environment, to show what reached it
ENVDUMP = """<VOTABLE version="1.3">
<RESOURCE name="envdump" utype="voprov:ActivityDescription">
<PARAM name="script" value="env &gt; env.txt&#10;" datatype="char" arraysize="*"/>
<GROUP name="InputParams">
<PARAM name="text" datatype="char" arraysize="*" value="x"/>
</GROUP>
</RESOURCE></VOTABLE>
"""
# a description whose own parameter is called partition
NAMED = """<VOTABLE version="1.3">
<RESOURCE name="named" utype="voprov:ActivityDescription">
<PARAM name="script" value="env &gt; env.txt&#10;" datatype="char" arraysize="*"/>
<GROUP name="InputParams">
<PARAM name="partition" datatype="char" arraysize="*" value="none"/>
</GROUP>
</RESOURCE></VOTABLE>
"""


def _with_jobdefs(factory, config):
    d = factory(config, start=False)
    (d.jdl_dir / "envdump.xml").write_text(ENVDUMP)
    (d.jdl_dir / "named.xml").write_text(NAMED)
    return d.start()


@pytest.fixture(scope="module")
def closed(module_factory):
    """The default configuration: no resource of the job's own."""
    return _with_jobdefs(module_factory, None)


@pytest.fixture(scope="module")
def open_(module_factory):
    return _with_jobdefs(module_factory,
                         {"slurm": {"user_resources": "partition, cpusPerTask"}})


def _env_of(daemon, url):
    job_id = url.rsplit("/", 1)[-1]
    files = list(daemon.job_dir(job_id).rglob("env.txt"))
    assert len(files) == 1, f"env.txt of {job_id}: {files}"
    return dict(line.split("=", 1) for line in files[0].read_text().splitlines()
                if "=" in line)


@pytest.mark.parametrize("name,value", [("partition", "debug"), ("account", "astro"),
                                        ("gres", "gpu:1"), ("nodes", "1"),
                                        ("tasksPerNode", "2"), ("CPUSPERTASK", "2")])
def test_refused_unless_configured(closed, name, value):
    c = closed.client()
    before = c.get("/rest/envdump").text
    r = c.create("envdump", {name: value}, expect=400)
    assert_plain_error(r, 400)
    assert "not allowed by the server configuration" in r.text, r.text
    assert c.get("/rest/envdump").text == before  # no job made


@pytest.mark.parametrize("name", ["account", "gres", "nodes", "tasksPerNode"])
def test_only_the_listed_ones(open_, name):
    r = open_.client().create("envdump", {name: "1"}, expect=400)
    assert_plain_error(r, 400)
    assert f"{name}: not allowed by the server configuration" in r.text, r.text


@pytest.mark.parametrize("name,value,reason", [
    ("partition", "a b", "[A-Za-z0-9_.:,=-]"),
    ("partition", "$(id)", "[A-Za-z0-9_.:,=-]"),
    ("partition", "", "[A-Za-z0-9_.:,=-]"),
    ("partition", "p" * 65, "1 to 64 characters"),
    ("cpusPerTask", "0", "1 to 100000"),
    ("cpusPerTask", "two", "1 to 100000"),
    ("cpusPerTask", "100001", "1 to 100000"),
])
def test_bad_values_are_400_with_the_reason(open_, name, value, reason):
    r = open_.client().create("envdump", {name: value}, expect=400)
    assert_plain_error(r, 400)
    assert r.text.startswith(f"{name}: ") and reason in r.text, r.text


def test_accepted_shown_and_kept_out_of_the_environment(open_):
    c = open_.client()
    url = c.create("envdump", {"partition": "debug", "cpuspertask": "2", "text": "t"},
                   run=True)
    assert c.wait_for_phase(url, ("COMPLETED", "ERROR")) == "COMPLETED"
    params = c.job(url)["parameters"]
    assert params["partition"]["value"] == "debug"
    assert params["cpusPerTask"]["value"] == "2"  # the PARAM's spelling
    env = _env_of(open_, url)
    assert env.get("text") == "t"  # the description's parameter does reach it
    assert "partition" not in env and "cpusPerTask" not in env, env


def test_a_description_parameter_of_that_name_wins(closed):
    c = closed.client()
    url = c.create("named", {"partition": "mine"}, run=True)
    assert c.wait_for_phase(url, ("COMPLETED", "ERROR")) == "COMPLETED"
    assert c.job(url)["parameters"]["partition"]["value"] == "mine"
    assert _env_of(closed, url).get("partition") == "mine"


@pytest.mark.parametrize("value,code", [("partition,memory", 2), ("partition,,Gres", 0),
                                        ("", 0)])
def test_configuration_names_are_checked(tmp_path, value, code):
    d = Daemon(tmp_path / "d", {"slurm": {"user_resources": value}}, register=False)
    r = d.run_cli("--config", str(d.config_path), "--check-config")
    assert r.returncode == code, r.stderr
    if code:
        assert "slurm.user_resources" in r.stderr and "memory" in r.stderr, r.stderr
