"""First contact over SSH, as a user's `ansible-playbook site.yml` makes it with a new VM.

A real sshd (Debian's openssh-server, started here on a free 127.0.0.1 port) stands
for the VM. The play runs with site.yml's own strategy keyword (Mitogen by default),
the project's ansible.cfg (host_key_checking on, StrictHostKeyChecking=accept-new)
and an empty known_hosts file: the unknown key must be accepted once and recorded,
and a changed key must be refused, under Mitogen and under Ansible's linear strategy.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.harness import REPO, free_port, stop_process, wait_for

TOOLS_BIN = REPO / ".venv-tools" / "bin"
SSHD = Path("/usr/sbin/sshd")
SITE_PLAY = yaml.safe_load((REPO / "ansible/site.yml").read_text())[0]
STRATEGIES = ["mitogen_linear", "linear"]


class Sshd:
    """sshd on 127.0.0.1:port with its own host key, key login for the current user."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.client_key = root / "id_ed25519"
        keygen(self.client_key)
        (root / "authorized_keys").write_text(self.client_key.with_suffix(".pub").read_text())

    def start(self, host_key_name: str) -> None:
        host_key = self.root / host_key_name
        if not host_key.exists():
            keygen(host_key)
        config = self.root / "sshd_config"
        config.write_text(
            "\n".join(
                [
                    f"Port {self.port}",
                    "ListenAddress 127.0.0.1",
                    f"HostKey {host_key}",
                    f"PidFile {self.root}/sshd.pid",
                    f"AuthorizedKeysFile {self.root}/authorized_keys",
                    "PermitRootLogin prohibit-password",
                    "PasswordAuthentication no",
                    "KbdInteractiveAuthentication no",
                    "UsePAM no",
                    "StrictModes no",
                    "",
                ]
            )
        )
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        log = (self.root / "sshd.log").open("a")
        self.proc = subprocess.Popen(
            [str(SSHD), "-D", "-e", "-f", str(config)], stderr=log, start_new_session=True
        )

        def listening() -> bool:
            assert self.proc is not None and self.proc.poll() is None, "sshd exited"
            return (
                subprocess.run(
                    ["ssh-keyscan", "-p", str(self.port), "127.0.0.1"],
                    capture_output=True,
                    timeout=5,
                    check=False,
                ).stdout.strip()
                != b""
            )

        wait_for(listening, 20, "sshd", self.root / "sshd.log")

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None


def known_host_entry(known_hosts: Path, port: int) -> str:
    """The recorded key of [127.0.0.1]:port (Debian's ssh_config hashes host names)."""
    return subprocess.run(
        ["ssh-keygen", "-F", f"[127.0.0.1]:{port}", "-f", str(known_hosts)],
        capture_output=True,
        text=True,
        check=False,
    ).stdout


def keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)


@pytest.fixture
def sshd(tmp_path: Path) -> Iterator[Sshd]:
    for tool in (SSHD, TOOLS_BIN / "ansible-playbook"):
        if not tool.exists():
            pytest.fail(
                f"{tool} missing: `make deps venvs` installs it (openssh-server, the tools)"
            )
    server = Sshd(tmp_path)
    yield server
    server.stop()


def play(
    server: Sshd, strategy: str, known_hosts: Path, control_dir: str = "cp"
) -> subprocess.CompletedProcess:
    """A one-task play with site.yml's strategy keyword, over SSH to the sshd."""
    root = server.root
    inventory = root / "hosts.yml"
    host = {
        "ansible_host": "127.0.0.1",
        "ansible_port": server.port,
        "ansible_user": subprocess.run(
            ["id", "-un"], capture_output=True, text=True, check=True
        ).stdout.strip(),
        "ansible_ssh_private_key_file": str(server.client_key),
        # ssh reads ~/.ssh from the password database, not $HOME: name the file
        "ansible_ssh_common_args": f"-o UserKnownHostsFile={known_hosts}",
        "ansible_python_interpreter": "/usr/bin/python3",
    }
    inventory.write_text(json.dumps({"all": {"children": {"mlops": {"hosts": {"vm": host}}}}}))
    playbook = root / "first_contact.yml"
    playbook.write_text(
        yaml.safe_dump(
            [
                {
                    "name": "first contact",
                    "hosts": "mlops",
                    "gather_facts": False,
                    "strategy": SITE_PLAY["strategy"],
                    "tasks": [{"name": "run a command", "ansible.builtin.command": "uname -n"}],
                }
            ]
        )
    )
    return subprocess.run(
        [
            str(TOOLS_BIN / "ansible-playbook"),
            "-i",
            str(inventory),
            str(playbook),
            "-e",
            f"mlops_ansible_strategy={strategy}",
        ],
        cwd=REPO / "ansible",
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        env={
            "PATH": f"{TOOLS_BIN}:/usr/bin:/bin",
            "HOME": str(root),
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_CONFIG": str(REPO / "ansible/ansible.cfg"),
            # the playbook lives outside ansible/: point Ansible at the shim there
            "ANSIBLE_STRATEGY_PLUGINS": str(REPO / "ansible/strategy_plugins"),
            "ANSIBLE_SSH_CONTROL_PATH_DIR": str(root / control_dir),
        },
    )


def test_site_yml_runs_mitogen_by_default():
    assert SITE_PLAY["strategy"] == "{{ mlops_ansible_strategy | default('mitogen_linear') }}"


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_new_host_key_is_accepted_once_and_a_changed_one_refused(sshd, strategy, tmp_path):
    known_hosts = tmp_path / "known_hosts"
    sshd.start("host_key_a")
    first = play(sshd, strategy, known_hosts)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-2000:]
    assert "ok=1" in first.stdout and "unreachable=0" in first.stdout
    if strategy == "mitogen_linear":
        assert "Mitogen is not importable" not in first.stderr, first.stderr[-2000:]
    recorded = known_hosts.read_text()
    assert known_host_entry(known_hosts, sshd.port), recorded

    again = play(sshd, strategy, known_hosts)
    assert again.returncode == 0, again.stdout[-3000:]
    assert known_hosts.read_text() == recorded, "a known key was recorded twice"

    # the "VM" comes back with another host key: a man in the middle, as far as ssh knows
    sshd.stop()
    sshd.start("host_key_b")
    # (a later run: the linear strategy's ControlPersist master of the first runs, still
    # logged in to the old server for 60 s, would be reused without any key check)
    changed = play(sshd, strategy, known_hosts, control_dir="cp-later")
    assert changed.returncode != 0, changed.stdout[-3000:]
    assert "unreachable=1" in changed.stdout, changed.stdout[-3000:]
    assert "changed=0" in changed.stdout
    assert "verification failed" in (changed.stdout + changed.stderr).lower() or (
        "mismatching host key" in changed.stdout
    ), changed.stdout[-3000:]
    assert known_hosts.read_text() == recorded, "the changed key replaced the known one"
