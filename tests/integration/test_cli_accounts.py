"""The account commands (issue 13 item 7) against a running daemon's store:
`opusd user add|list|rotate|roles|deactivate|activate|delete` and `opusd app
add --run`, each seen at once by the daemon (SQLite WAL), each change in the
audit log with the actor "cli", bad input refused with exit 1 (or 2 for a bad
command line) and nothing changed.
"""

import pytest

from conftest import assert_plain_error


def cli(d, *args):
    return d.run_cli(*args, "--config", str(d.config_path), "--data-dir", str(d.data_dir))


def ok(d, *args):
    r = cli(d, *args)
    assert r.returncode == 0, f"opusd {' '.join(args)}: {r.returncode} {r.stderr}"
    return r.stdout


def token_of(out):
    words = out.split()
    assert len(words) == 1 and len(words[0]) == 64, out
    int(words[0], 16)
    return words[0]


def audit(d):
    return d.db_query("SELECT action, target, actor FROM audit ORDER BY id")


def users(d):
    return {ln.split("\t")[0]: ln.split("\t")[1:] for ln in ok(d, "user", "list").splitlines()}


@pytest.fixture
def d(daemon_factory):
    return daemon_factory(users=[("root", True)])


def test_user_add_works_while_the_daemon_runs(d):
    tok = token_of(ok(d, "user", "add", "alice"))
    c = d.client(auth=("alice", tok))
    url = c.create("echo", {"text": "cli"})
    assert c.job(url)["ownerId"] == "alice"
    assert users(d)["alice"] == ["active", "user", "-"]
    # again: a new token, the old one refused at once
    tok2 = token_of(ok(d, "user", "add", "alice"))
    assert tok2 != tok
    assert_plain_error(c.get("/rest/echo"), 401)
    assert d.client(auth=("alice", tok2)).get("/rest/echo").status_code == 200
    assert ("user.create", "alice", "cli") in audit(d)
    assert ("user.rotate", "alice", "cli") in audit(d)


def test_user_add_with_roles_and_admin(d):
    tok = token_of(ok(d, "user", "add", "ann", "--roles", "user", "--admin"))
    assert users(d)["ann"][1] == "user,admin"
    # an admin sees the others' jobs
    bob = token_of(ok(d, "user", "add", "bob"))
    url = d.client(auth=("bob", bob)).create("echo")
    assert d.client(auth=("ann", tok)).job(url)["ownerId"] == "bob"
    # --admin on an existing account adds the role, keeps the others
    ok(d, "user", "add", "bob", "--admin")
    assert users(d)["bob"][1] == "user,admin"


@pytest.mark.parametrize("args,why", [
    (("user", "add", "no good"), "[A-Za-z0-9._@-]"),
    (("user", "add", "x" * 65), "[A-Za-z0-9._@-]"),
    (("user", "add", "eve", "--roles", "user,ghost"), "no such role"),
    (("user", "rotate", "ghost"), "no such account"),
    (("user", "roles", "ghost", "user"), "no such account"),
    (("user", "deactivate", "ghost"), "no such account"),
    (("user", "delete", "ghost"), "no such account"),
    (("app", "add", "root", "--run", "*"), "taken"),
])
def test_refusals_exit_1_and_change_nothing(d, args, why):
    before = audit(d)
    r = cli(d, *args)
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    assert why in r.stderr, r.stderr
    assert r.stdout == ""
    assert audit(d) == before
    assert set(users(d)) == {"root"}


@pytest.mark.parametrize("args", [
    ("user",), ("user", "add"), ("user", "frobnicate", "x"), ("user", "roles", "root"),
    ("app", "add", "front"), ("user", "list", "extra"), ("app", "list")])
def test_bad_command_lines_exit_2(d, args):
    r = cli(d, *args)
    assert r.returncode == 2, (args, r.returncode, r.stderr)
    assert "usage:" in r.stderr


def test_roles_deactivate_activate_delete(d):
    tok = token_of(ok(d, "user", "add", "carol"))
    c = d.client(auth=("carol", tok))
    url = c.create("echo", {"text": "mine"})
    ok(d, "user", "roles", "carol", "admin,user")
    assert users(d)["carol"][1] == "admin,user"
    ok(d, "user", "roles", "carol", "user")
    ok(d, "user", "deactivate", "carol")
    assert users(d)["carol"][0] == "deactivated"
    r = c.get("/rest/echo")
    assert_plain_error(r, 401)
    assert "deactivated" in r.text
    ok(d, "user", "activate", "carol")
    assert c.get("/rest/echo").status_code == 200
    ok(d, "user", "delete", "carol")
    assert "carol" not in users(d)
    assert_plain_error(c.get("/rest/echo"), 401)
    # the job stays, owned by the deleted name; admins see it
    assert d.client(auth=("root", d.tokens["root"])).job(url)["ownerId"] == "carol"
    actions = [a for a, t, _ in audit(d) if t == "carol"]
    assert actions == ["user.create", "user.roles", "user.roles", "user.deactivate",
                       "user.activate", "user.delete"]


def test_app_add(d):
    tok = token_of(ok(d, "app", "add", "front", "--run", "echo choices"))
    alice = token_of(ok(d, "user", "add", "alice"))
    r = d.client().post("/rest/echo", data={"text": "via front"},
                        headers={"Authorization": f"Bearer {tok}", "X-Opus-On-Behalf-Of": "alice"})
    assert r.status_code == 303, r.text
    assert d.client(auth=("alice", alice)).job(r.headers["Location"])["ownerId"] == "alice"
    assert ("app.create", "front", "cli") in audit(d)
    # an application's name is taken for accounts too
    r = cli(d, "user", "add", "front")
    assert r.returncode == 1 and "taken" in r.stderr
