"""The optional sshd hardening (`ssh_hardening_enabled`): on in the default scenario, off
(its default) in single-postgres. On, sshd's effective settings are the hardened ones and
the playbook's own key login still works: the converge went on over SSH after sshd
reloaded, and so did every site.yml run since (idempotence, check mode, the redeploys).
From the controller, a login without the key is refused with only `publickey` offered
(no password is ever asked), a cipher outside the list is refused, and so is root. Off,
there is no drop-in and sshd runs as the image set it up."""

from __future__ import annotations

import subprocess

import local_vm
import pytest
import yaml

DROPIN = "/etc/ssh/sshd_config.d/00-mlops-hardening.conf"


def enabled(scenario: str) -> bool:
    inventory = yaml.safe_load((local_vm.REPO / "molecule" / scenario / "vm.yml").read_text())
    return bool(inventory["all"]["children"]["mlops"]["hosts"]["mlops-vm"].get(
        "ssh_hardening_enabled", False))  # fmt: skip


def sshd_settings(host) -> dict[str, list[str]]:
    """`sshd -T`: the effective configuration, keyword -> values (some repeat)."""
    settings: dict[str, list[str]] = {}
    for line in host.check_output("/usr/sbin/sshd -T").splitlines():
        keyword, _, value = line.partition(" ")
        settings.setdefault(keyword, []).append(value)
    return settings


def ssh(scenario: str, user: str, *options: str) -> subprocess.CompletedProcess:
    """A login from the controller to the local VM with its recorded host key."""
    state = local_vm.state_dir(scenario)
    return subprocess.run(
        ["ssh", "-p", str(local_vm.ssh_port()), "-o", "BatchMode=yes",
         "-o", "StrictHostKeyChecking=yes", "-o", f"UserKnownHostsFile={state / 'known_hosts'}",
         "-o", "ConnectTimeout=10", *options, f"{user}@127.0.0.1", "id", "-un"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


@pytest.fixture
def key(scenario) -> list[str]:
    return ["-o", "IdentitiesOnly=yes", "-i", str(local_vm.state_dir(scenario) / "id_ed25519")]


def test_sshd_is_hardened_when_asked_and_the_key_login_stays(host, scenario, key):
    if not enabled(scenario):
        assert not host.file(DROPIN).exists, f"{DROPIN} is there with the hardening off"
        assert ssh(scenario, local_vm.SSH_USER, *key).stdout.strip() == local_vm.SSH_USER
        return
    assert host.file(DROPIN).mode == 0o644
    settings = sshd_settings(host)
    expected = {
        "permitrootlogin": "no", "passwordauthentication": "no",
        "kbdinteractiveauthentication": "no", "authenticationmethods": "publickey",
        "maxauthtries": "3", "x11forwarding": "no", "allowtcpforwarding": "no",
        "allowagentforwarding": "no", "permittunnel": "no", "loglevel": "VERBOSE",
    }  # fmt: skip
    assert {k: settings[k][0] for k in expected} == expected
    assert "aes128-cbc" not in settings["ciphers"][0].split(",")

    login = ssh(scenario, local_vm.SSH_USER, *key)
    assert login.returncode == 0 and login.stdout.strip() == local_vm.SSH_USER, login
    without_key = ssh(scenario, local_vm.SSH_USER, "-o", "PubkeyAuthentication=no",
                      "-o", "PreferredAuthentications=password,keyboard-interactive")  # fmt: skip
    assert without_key.returncode == 255, without_key
    assert "Permission denied (publickey)." in without_key.stderr, without_key.stderr
    old_cipher = ssh(scenario, local_vm.SSH_USER, *key, "-c", "aes128-cbc")
    assert old_cipher.returncode == 255 and "no matching cipher" in old_cipher.stderr, old_cipher
    # root with the very key that logs the playbook in: refused all the same
    host.check_output(f"install -d -m 0700 /root/.ssh && cp /home/{local_vm.SSH_USER}/.ssh/"
                      "authorized_keys /root/.ssh/authorized_keys")  # fmt: skip
    try:
        as_root = ssh(scenario, "root", *key)
    finally:
        host.check_output("rm -f /root/.ssh/authorized_keys")
    assert as_root.returncode == 255 and "Permission denied" in as_root.stderr, as_root
