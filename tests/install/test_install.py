"""The build as a Debian package would use it: `make install` with PREFIX and
DESTDIR installs the daemon, its man page, the example configuration, the
example job descriptions and the web client, and nothing else; the build
honours dpkg-buildflags (the binary carries the hardening); -Werror in the test flavours only; the
man page renders without warnings and says what the README and the binary say.

Builds into a temporary directory (BUILD=...), so build/ is left alone.
"""
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
JOBDEFS = sorted(p.name for p in (REPO / "jobdefs").glob("*.xml"))
# The web client's files (paths.web_dir), hidden ones left out.
WEB = sorted(str(p.relative_to(REPO)) for p in (REPO / "web").rglob("*")
             if p.is_file() and not any(part.startswith(".") for part in p.relative_to(REPO).parts))
# Where the release build installs each file, relative to PREFIX.
TREE = {"sbin/opusd", "share/man/man8/opusd.8", "share/doc/opusd/examples/opusd.conf"} | \
    {f"share/opusd/jobdefs/{n}" for n in JOBDEFS} | {f"share/opusd/{w}" for w in WEB}
# Values --check-config prints resolved; the example carries the raw default.
DERIVED = {"base_url": "", "max_running": "0"}


def make(*args, check=True):
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    r = subprocess.run(["make", "-C", str(REPO), "--no-print-directory", *args], env=env,
                       capture_output=True, text=True, timeout=600)
    if check:
        assert r.returncode == 0, f"make {' '.join(args)}: {r.returncode}\n{r.stdout}\n{r.stderr}"
    return r


def buildflags():
    env = dict(os.environ, DEB_BUILD_MAINT_OPTIONS="hardening=+all")
    flags = []
    for v in ("CFLAGS", "CPPFLAGS", "LDFLAGS"):
        r = subprocess.run(["dpkg-buildflags", "--get", v], env=env, check=True,
                           capture_output=True, text=True)
        flags.append(f"{v}={r.stdout.strip()}")
    return flags


@pytest.fixture(scope="module")
def inst(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("install")
    root = tmp / "root"
    make("-j2", "FLAVOUR=rel", f"BUILD={tmp}/build", *buildflags(), "install", f"DESTDIR={root}")
    return {"tmp": tmp, "root": root, "prefix": root / "usr/local"}


def tree(top):
    return {str(p.relative_to(top)) for p in top.rglob("*") if not p.is_dir()}


def run_bin(inst, *args):
    return subprocess.run([str(inst["prefix"] / "sbin/opusd"), *args], capture_output=True,
                          text=True, timeout=30, cwd=inst["tmp"])


def test_install_tree_under_default_prefix(inst):
    assert tree(inst["root"]) == {f"usr/local/{f}" for f in TREE}
    assert os.access(inst["prefix"] / "sbin/opusd", os.X_OK)
    for n in JOBDEFS:
        assert (inst["prefix"] / "share/opusd/jobdefs" / n).read_bytes() == \
            (REPO / "jobdefs" / n).read_bytes()
    assert "web/index.html" in WEB
    for w in WEB:
        assert (inst["prefix"] / "share/opusd" / w).read_bytes() == (REPO / w).read_bytes()


def test_install_honours_prefix(inst):
    root = inst["tmp"] / "root-usr"
    make("FLAVOUR=rel", f"BUILD={inst['tmp']}/build", *buildflags(), "install",
         "PREFIX=/usr", f"DESTDIR={root}")
    assert tree(root) == {f"usr/{f}" for f in TREE}
    man = (root / "usr/share/man/man8/opusd.8").read_text()
    assert "/usr/share/opusd/jobdefs" in man and "/usr/share/doc/opusd/examples" in man
    assert "/usr/share/opusd/web" in man
    assert "/usr/local" not in man


def test_installed_daemon_reads_the_example_configuration(inst):
    example = inst["prefix"] / "share/doc/opusd/examples/opusd.conf"
    plain, loaded = run_bin(inst, "--check-config"), run_bin(inst, "--config", str(example),
                                                             "--check-config")
    assert plain.returncode == 0 and loaded.returncode == 0, plain.stderr + loaded.stderr
    assert loaded.stdout == plain.stdout


def check_config_lines(inst):
    """--check-config's output with the derived values put back to their defaults."""
    out = run_bin(inst, "--check-config").stdout.splitlines()
    for i, ln in enumerate(out):
        k = ln.split(" = ", 1)[0]
        if k in DERIVED:
            out[i] = f"{k} = {DERIVED[k]}".rstrip()
    return out


def test_example_configuration_is_every_key_with_its_default(inst):
    """Regenerate etc/opusd.conf with `make example-config` when a key changes."""
    lines = (REPO / "etc/opusd.conf").read_text().splitlines()
    body = lines[next(i for i, ln in enumerate(lines) if ln.startswith("[")):]
    assert body == check_config_lines(inst)


def settings(inst):
    return [ln.rstrip() for ln in check_config_lines(inst)
            if ln and not ln.startswith(("#", "["))]


def test_man_page_and_readme_document_every_key_with_its_default(inst):
    man = (REPO / "docs/opusd.8").read_text()
    readme = (REPO / "README.md").read_text()
    for kv in settings(inst):
        assert f"\n.B {kv}\n" in man, f"docs/opusd.8 lacks {kv!r}"
        assert re.search(rf"^{re.escape(kv)}(\s|$)", readme, re.M), f"README lacks {kv!r}"


def words(text):
    return " ".join(text.replace("\u2010", "-").split())


def test_man_synopsis_is_the_readme_command_line_and_the_usage(inst):
    readme = (REPO / "README.md").read_text().split("## Command line", 1)[1]
    block = [ln.strip() for ln in readme.splitlines() if ln.startswith("    opusd ")]
    usage = run_bin(inst, "--help").stdout.replace("usage:", "").splitlines()
    page = render_man(inst).stdout
    synopsis = page.split("SYNOPSIS", 1)[1].split("DESCRIPTION", 1)[0]
    assert len(block) == 8  # the daemon, the user, app, import-opus and db copy commands
    assert [words(u) for u in usage] == block
    assert words(synopsis) == " ".join(block)


def render_man(inst):
    env = dict(os.environ, MANWIDTH="80", LC_ALL="C.UTF-8")
    r = subprocess.run(["man", "--warnings", "-l", str(inst["prefix"] / "share/man/man8/opusd.8")],
                       capture_output=True, text=True, timeout=60, env=env)
    r.stdout = re.sub(".\b", "", r.stdout)  # the overstrikes of bold and underline
    return r


def test_man_page_renders_without_warnings(inst):
    r = render_man(inst)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    assert "OPUSD(8)" in r.stdout and "CONFIGURATION" in r.stdout
    if shutil.which("mandoc"):
        lint = subprocess.run(["mandoc", "-T", "lint", "-W", "warning", str(REPO / "docs/opusd.8")],
                              capture_output=True, text=True, timeout=60)
        assert lint.returncode == 0, lint.stdout + lint.stderr


def readelf(inst, *args):
    return subprocess.run(["readelf", "-W", *args, str(inst["prefix"] / "sbin/opusd")],
                          capture_output=True, text=True, check=True).stdout


def test_binary_has_the_dpkg_buildflags_hardening(inst):
    assert "Type:                              DYN" in readelf(inst, "-h"), "not PIE"
    assert "GNU_RELRO" in readelf(inst, "-l"), "no RELRO (LDFLAGS not honoured?)"
    dyn = readelf(inst, "-d")
    assert "BIND_NOW" in dyn or re.search(r"FLAGS.*\bNOW\b", dyn), "no BIND_NOW (LDFLAGS)"
    syms = readelf(inst, "--dyn-syms")
    assert "__stack_chk_fail" in syms, "no stack protector (CFLAGS not honoured?)"
    assert re.search(r"__\w+_chk\b", syms.replace("__stack_chk_fail", "")), \
        "no fortified calls (CPPFLAGS -D_FORTIFY_SOURCE not honoured?)"


def compile_line(flavour, tmp):
    out = make("-n", "-B", f"FLAVOUR={flavour}", f"BUILD={tmp}/n-{flavour}",
               f"{tmp}/n-{flavour}/obj/main.o").stdout
    return next(ln for ln in out.splitlines() if " -c " in ln)


def test_werror_in_test_flavours_only(inst):
    assert "-Werror" not in compile_line("rel", inst["tmp"]).split()
    assert "-Werror" in compile_line("asan", inst["tmp"]).split()
    assert "-Werror" in compile_line("tsan", inst["tmp"]).split()
    assert "-fsanitize=thread" in compile_line("tsan", inst["tmp"]).split()
