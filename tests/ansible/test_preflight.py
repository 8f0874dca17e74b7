"""site.yml refuses inconsistent settings before it changes anything: the real
playbook's preflight phase, run against this machine (Debian 12) with bad
overrides, must fail in an assert that names the setting."""

from __future__ import annotations

import json
import subprocess

import pytest
import yaml

from tests.harness import REPO

PORTS = yaml.safe_load((REPO / "ansible/group_vars/all/ports.yml").read_text())["mlops_ports"]

ANSIBLE = REPO / ".venv-tools" / "bin" / "ansible-playbook"


def preflight(tmp_path, **overrides) -> subprocess.CompletedProcess:
    if not ANSIBLE.exists():
        pytest.fail("no tools venv: run `make venvs` (the test command does)")
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(
        json.dumps(
            {
                "all": {
                    "children": {
                        "mlops": {
                            "hosts": {
                                "preflight-test": {
                                    "ansible_connection": "local",
                                    "ansible_python_interpreter": "/usr/bin/python3",
                                }
                            }
                        }
                    }
                }
            }
        )
    )
    extra = tmp_path / "extra.json"
    extra.write_text(json.dumps(overrides))
    return subprocess.run(
        [
            str(ANSIBLE),
            "-i",
            str(inventory),
            "site.yml",
            "--tags",
            "preflight",
            "-e",
            f"@{extra}",
            "-e",
            f"mlops_secrets_dir={tmp_path}/secrets",
            # Mitogen's become always runs sudo, which this machine lacks; a real host
            # has it (passwordless sudo is a requirement of the inventory)
            "-e",
            "mlops_ansible_strategy=linear",
        ],
        cwd=REPO / "ansible",
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={
            "PATH": f"{ANSIBLE.parent}:/usr/bin:/bin",
            "ANSIBLE_NOCOLOR": "1",
            "HOME": str(tmp_path),
        },
    )


def test_defaults_pass(tmp_path):
    result = preflight(tmp_path)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "failed=0" in result.stdout


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"mlops_ports": {**PORTS, "mlflow": PORTS["model_server"]}},
            f"{PORTS['model_server']} is used by mlflow and model_server",
        ),
        ({"object_store_backend": "ceph"}, "object_store_backend must be 'seaweedfs'"),
        ({"object_store_backend": "minio"}, "object_store_minio_binary_src"),
        ({"mlops_public_hostname": ""}, "mlops_public_hostname must be set"),
        ({"mlops_data_dir": "var/lib/mlops"}, "mlops_data_dir must be an absolute path"),
        ({"postgres_single_instance": "maybe"}, "postgres_single_instance must be true or false"),
        ({"mlops_ports": {**PORTS, "mlflow": 80}}, "mlops_ports.mlflow must be a port number"),
        (
            {"mlops_public_ports": {"https": PORTS["mlflow"], "http": 80}},
            "mlops_public_ports.https must be a free port number",
        ),
        ({"proxy_tls_mode": "letsencrypt"}, "proxy_tls_mode must be 'selfsigned'"),
        (
            {"proxy_tls_mode": "acme", "proxy_acme_email": "ops@example.org"},
            "mlops_public_hostname must be a public DNS name",
        ),
        (
            {"proxy_tls_mode": "acme", "mlops_public_hostname": "mlops.example.org"},
            "proxy_acme_email an e-mail address",
        ),
        (
            {"backup_remote_bucket": "offsite", "backup_remote_access_key_id": "AKIA0"},
            "set backup_remote_access_key_id and",
        ),
    ],
)
def test_bad_settings_fail_early_naming_the_setting(tmp_path, overrides, message):
    result = preflight(tmp_path, **overrides)
    assert result.returncode != 0
    assert message in result.stdout, result.stdout[-3000:]
    assert "preflight" in result.stdout
