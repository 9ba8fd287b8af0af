"""The SLURM suite: opusd's slurm backend against a REAL single-node cluster.

A session fixture starts the cluster once (scripts/slurm.sh up DIR: installs
munge/slurmctld/slurmd/slurm-client if missing, a cluster of 8 CPUs on
127.0.0.1, ports 6917/6918, everything under DIR) and stops it at the end
(scripts/slurm.sh down DIR: every job cancelled, the daemons stopped). The
daemon harness (Daemon, Client, daemon_factory) is the integration suite's,
loaded from tests/integration/conftest.py.

Run: OPUSD_BIN=$PWD/build/asan/opusd /usr/bin/python3 -m pytest -q tests/slurm
"""
import importlib.util
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
_spec = importlib.util.spec_from_file_location("opus_integration",
                                               REPO / "tests/integration/conftest.py")
it = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(it)

# The harness's fixtures, under their own names.
daemon_factory = it.daemon_factory
_binary_present = it._binary_present
pytest_runtest_makereport = it.pytest_runtest_makereport

SLURM_SH = REPO / "scripts/slurm.sh"
CLUSTER_NAME = "opustest"


class Cluster:
    def __init__(self, base):
        self.base = Path(base)
        self.conf = self.base / "slurm.conf"

    def env(self):
        return {**os.environ, "SLURM_CONF": str(self.conf)}

    def script(self, action):
        r = subprocess.run([str(SLURM_SH), action, str(self.base)], capture_output=True,
                           text=True, timeout=300)
        assert r.returncode == 0, f"slurm.sh {action}: {r.returncode}\n{r.stdout}\n{r.stderr}"

    def forget_everything(self):
        """slurmctld stopped and started afresh (-c: its jobs and jobcomp log
        gone, ids from 1 again) under the running slurmd, whose jobs the new
        controller does not know and has killed."""
        pid = int((self.base / "slurmctld.pid").read_text())
        os.kill(pid, signal.SIGTERM)
        it.wait_until(lambda: not it.process_alive(pid), 30, 0.05, "slurmctld to stop")
        self.script("up")

    def stop_controller(self):
        """Stops slurmctld only (munged and slurmd keep running): the cluster
        no longer answers. start_controller() brings it back."""
        pid = int((self.base / "slurmctld.pid").read_text())
        os.kill(pid, signal.SIGTERM)
        it.wait_until(lambda: not it.process_alive(pid), 30, 0.05, "slurmctld to stop")

    def start_controller(self):
        self.script("up")  # idempotent: starts only what is stopped

    def cmd(self, *argv):
        return subprocess.run(list(argv), capture_output=True, text=True, timeout=60,
                              env=self.env())

    def squeue_ids(self):
        """Ids of the jobs slurmctld still has pending or running."""
        r = self.cmd("squeue", "--noheader", "--states=PD,R,CG,S,CF", "--format=%i")
        assert r.returncode == 0, r.stderr
        return set(r.stdout.split())

    def job_of(self, handle):
        assert handle.startswith(f"slurm:{CLUSTER_NAME}:"), handle
        return handle.rsplit(":", 1)[1]

    def daemon_config(self, **slurm):
        cfg = {"cluster": CLUSTER_NAME, "slurm_conf": str(self.conf), "poll_interval_ms": 200,
               "command_timeout_ms": 20000}
        cfg.update(slurm)
        return {"jobs": {"backend": "slurm"}, "slurm": cfg}


@pytest.fixture(scope="session")
def cluster():
    # A short path of its own: job and log paths go into slurm.conf.
    base = tempfile.mkdtemp(prefix="opusd-slurm-")
    os.chmod(base, 0o755)
    c = Cluster(base)
    c.script("up")
    try:
        yield c
    finally:
        c.script("down")
        shutil.rmtree(base, ignore_errors=True)


class Sshd:
    """Debian's sshd on a loopback port, with a host key, a client key and a
    known_hosts file of its own: a login node for the ssh path."""

    def __init__(self, base):
        self.base = Path(base)
        self.port = it.free_port()
        self.key = self.base / "id"
        self.known_hosts = self.base / "known_hosts"
        self.proc = None

    def start(self):
        b = self.base
        for name in ("host_key", "id"):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(b / name)],
                           check=True, capture_output=True)
        (b / "authorized_keys").write_text((b / "id.pub").read_text())
        host_pub = (b / "host_key.pub").read_text().split()
        self.known_hosts.write_text(f"[127.0.0.1]:{self.port} {host_pub[0]} {host_pub[1]}\n")
        (b / "sshd_config").write_text("\n".join([
            f"Port {self.port}", "ListenAddress 127.0.0.1", f"HostKey {b / 'host_key'}",
            f"PidFile {b / 'sshd.pid'}", f"AuthorizedKeysFile {b / 'authorized_keys'}",
            "PasswordAuthentication no", "KbdInteractiveAuthentication no", "UsePAM no",
            "StrictModes no", "PermitRootLogin prohibit-password", "LogLevel VERBOSE", ""]))
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        self.log = open(b / "sshd.log", "wb")
        self.proc = subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f", str(b / "sshd_config")],
                                     stdout=self.log, stderr=self.log)

        def answers():
            assert self.proc.poll() is None, (b / "sshd.log").read_text()
            r = subprocess.run(["ssh", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
                                "-o", f"UserKnownHostsFile={self.known_hosts}", "-i",
                                str(self.key), "-p", str(self.port), "root@127.0.0.1", "--",
                                "true"], capture_output=True, timeout=30)
            return r.returncode == 0
        it.wait_until(answers, 30, 0.1, "sshd to answer")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.log.close()


@pytest.fixture(scope="session")
def sshd():
    base = tempfile.mkdtemp(prefix="opusd-sshd-")
    s = Sshd(base)
    s.start()
    try:
        yield s
    finally:
        s.stop()
        shutil.rmtree(base, ignore_errors=True)
