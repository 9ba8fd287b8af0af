"""The command line: --check-config accepts a good file (exit 0) and rejects a
bad file or value (exit 2 with a message naming the problem); command-line
flags override the config file (--listen, --data-dir, --jdl-dir); `opusd user
add` prints one token line and the token authenticates.
"""
import subprocess

import pytest

from conftest import Daemon, opusd_bin


def run(*args, cwd=None):
    return subprocess.run([str(opusd_bin()), *args], capture_output=True, text=True,
                          timeout=30, cwd=cwd)


def test_check_config_good(tmp_path):
    d = Daemon(tmp_path / "d", {"jobs": {"max_running": 2, "default_destruction": 3600},
                                "server": {"wait_cap": 5, "allow_anonymous": "false"}}, register=False)
    r = run("--config", str(d.config_path), "--check-config")
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("section,key,value", [
    ("server", "listen", "not-an-address"), ("server", "listen", "127.0.0.1:99999"),
    ("server", "max_form_body", "lots"), ("server", "max_form_body", "-1"),
    ("server", "wait_cap", "abc"), ("server", "allow_anonymous", "maybe"),
    ("server", "log_level", "chatty"), ("jobs", "max_running", "-1"),
    ("jobs", "max_running", "two"), ("jobs", "kill_grace_ms", "-5"),
    ("jobs", "default_execution_duration", "1.5"),
])
def test_check_config_bad_value(tmp_path, section, key, value):
    d = Daemon(tmp_path / "d", {section: {key: value}}, register=False)
    r = run("--config", str(d.config_path), "--check-config")
    assert r.returncode == 2, f"{section}.{key}={value}: exit {r.returncode}\n{r.stderr}"
    msg = (r.stderr + r.stdout).lower()
    assert key.lower() in msg, f"error message does not name {key!r}: {r.stderr!r}"


def test_check_config_malformed_file(tmp_path):
    p = tmp_path / "bad.ini"
    p.write_text("[server\nlisten = 127.0.0.1:1\n")
    r = run("--config", str(p), "--check-config")
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip() or r.stdout.strip()


def test_check_config_missing_file(tmp_path):
    r = run("--config", str(tmp_path / "missing.ini"), "--check-config")
    assert r.returncode == 2, r.stderr


def test_flags_override_config(daemon_factory, tmp_path):
    d = daemon_factory(start=False)
    # the config names a port and dirs that are wrong; the flags win
    d.config["server"]["listen"] = "127.0.0.1:1"
    d.config["paths"]["data_dir"] = str(tmp_path / "unused-data")
    d.config["paths"]["jdl_dir"] = str(tmp_path / "no-such-jdl-dir")
    d.write_config()
    d.extra_args = ["--listen", f"127.0.0.1:{d.port}", "--data-dir", str(d.data_dir),
                    "--jdl-dir", str(d.jdl_dir)]
    d.start()
    c = d.client()
    url = c.create("echo", {"text": "flags"}, run=True)
    assert url.startswith(f"http://127.0.0.1:{d.port}/")
    assert c.wait_for_phase(url, ("COMPLETED", "ERROR")) == "COMPLETED"
    assert d.job_dir(url.rsplit("/", 1)[1]).is_dir(), "--data-dir was not used"
    assert not (tmp_path / "unused-data" / "jobs").exists()
    c.close()


def test_user_add_prints_token(daemon_factory):
    d = daemon_factory(start=False)
    tok = d.add_user("carol")
    assert len(tok) >= 16 and " " not in tok
    admin_tok = d.add_user("dave", admin=True)
    assert admin_tok != tok
    d.start()
    c = d.client(auth=("carol", tok))
    assert c.get("/rest/echo").status_code == 200
    assert d.client(auth=("carol", tok + "x")).get("/rest/echo").status_code == 401
    assert d.client(auth=("dave", admin_tok)).get("/rest/echo").status_code == 200
