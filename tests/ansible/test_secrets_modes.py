"""The generated secrets stay readable by their owner only: the common role's secrets
steps, run on this machine (the controller, where the secrets live) against a secrets
folder someone opened by hand, close the folder (0700) and every secret's file (0600),
create the missing secrets 0600, leave files that are not secrets alone, and change
nothing on a second run."""

from __future__ import annotations

import stat
import subprocess

import pytest

from tests.harness import REPO

ANSIBLE = REPO / ".venv-tools" / "bin" / "ansible-playbook"

PLAYBOOK = """\
- name: The common role's secrets steps
  hosts: all
  gather_facts: false
  tasks:
    - name: Secrets
      ansible.builtin.import_role:
        name: common
        tasks_from: secrets
"""


def run(tmp_path, secrets) -> subprocess.CompletedProcess:
    if not ANSIBLE.exists():
        pytest.fail("no tools venv: run `make venvs` (the test command does)")
    (tmp_path / "play.yml").write_text(PLAYBOOK)
    return subprocess.run(
        [str(ANSIBLE), "-i", "controller,", "-c", "local", str(tmp_path / "play.yml"),
         "-e", f"@{REPO / 'ansible/group_vars/all/secrets.yml'}",
         "-e", f"mlops_secrets_dir={secrets}",
         "-e", "ansible_python_interpreter=/usr/bin/python3"],
        capture_output=True, text=True, timeout=300, check=False,
        env={"PATH": f"{ANSIBLE.parent}:/usr/bin:/bin", "ANSIBLE_NOCOLOR": "1",
             "HOME": str(tmp_path), "ANSIBLE_ROLES_PATH": str(REPO / "ansible/roles")},
    )  # fmt: skip


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_secrets_opened_by_hand_are_closed_again(tmp_path):
    secrets = tmp_path / "secrets"
    secrets.mkdir(mode=0o755)
    secrets.chmod(0o755)
    (secrets / "api_token").write_text("t" * 48)
    (secrets / "api_token").chmod(0o644)
    (secrets / "proxy_admin").write_text("p" * 24)
    (secrets / "proxy_admin").chmod(0o640)
    (secrets / "notes.txt").write_text("not a secret")
    (secrets / "notes.txt").chmod(0o644)

    first = run(tmp_path, secrets)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-2000:]
    assert mode(secrets) == 0o700
    assert mode(secrets / "api_token") == 0o600
    assert mode(secrets / "proxy_admin") == 0o600
    assert (secrets / "api_token").read_text() == "t" * 48, "an existing secret is kept"
    assert mode(secrets / "notes.txt") == 0o644, "a file that is not a secret is left alone"
    generated = secrets / "airflow_fernet_key"
    assert generated.is_file() and mode(generated) == 0o600, "a missing secret is created 0600"
    assert "changed=1" in first.stdout, first.stdout[-2000:]

    second = run(tmp_path, secrets)
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-2000:]
    assert "changed=0" in second.stdout, second.stdout[-2000:]
