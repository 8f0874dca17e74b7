"""The grafana_stack role cannot run here (Grafana, Loki and Alloy download from
Grafana's servers), so what can be checked offline is: its Alloy configuration
and its datasources render from the real group_vars, ship the journal of every
platform unit, and point at the platform's real ports with the read-only role."""

from __future__ import annotations

import json
import re
import subprocess

import pytest
import yaml

from tests.harness import REPO

ANSIBLE = REPO / ".venv-tools" / "bin" / "ansible-playbook"
ROLES = REPO / "ansible" / "roles"
PORTS = yaml.safe_load((REPO / "ansible/group_vars/all/ports.yml").read_text())["mlops_ports"]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> tuple[str, list[dict]]:
    if not ANSIBLE.exists():
        pytest.fail("no tools venv: run `make venvs` (the test command does)")
    out = tmp_path_factory.mktemp("grafana_stack")
    vars_files = [
        *sorted((REPO / "ansible/group_vars/all").glob("*.yml")),
        ROLES / "grafana_stack/defaults/main.yml",
        ROLES / "grafana_stack/vars/main.yml",
    ]
    play = [
        {
            "hosts": "localhost",
            "gather_facts": False,
            "vars_files": [str(p) for p in vars_files],
            "vars": {"mlops_secrets_dir": str(out / "secrets")},
            "tasks": [
                {
                    "ansible.builtin.template": {
                        "src": str(ROLES / "grafana_stack/templates/config.alloy.j2"),
                        "dest": str(out / "config.alloy"),
                    }
                },
                {
                    "ansible.builtin.copy": {
                        "content": "{{ __grafana_stack_datasources | to_json }}",
                        "dest": str(out / "datasources.json"),
                    }
                },
            ],
        }
    ]
    (out / "play.yml").write_text(yaml.safe_dump(play))
    done = subprocess.run(
        [
            str(ANSIBLE),
            "-i",
            "localhost,",
            "-c",
            "local",
            "-e",
            "ansible_python_interpreter=/usr/bin/python3",
            str(out / "play.yml"),
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return (out / "config.alloy").read_text(), json.loads((out / "datasources.json").read_text())


def test_alloy_ships_the_journal_of_every_platform_unit_to_loki(rendered):
    config, _ = rendered
    keep = re.search(r'regex\s*=\s*"(.*)"\s*\n\s*action\s*=\s*"keep"', config)
    assert keep, config
    units = re.compile(keep.group(1).replace("\\\\", "\\"))  # River string -> regex
    for unit in (
        "mlflow.service",
        "airflow-scheduler.service",
        "mlops-model-server.service",
        "mlops-tag-watcher.service",
        "postgresql@15-app.service",
        "seaweedfs.service",
        "nginx.service",
        "mlops-postgres-exporter@app.service",
    ):
        assert units.fullmatch(unit), unit
    for unit in ("ssh.service", "cron.service", "mlflowXservice"):
        assert not units.fullmatch(unit), unit
    assert 'target_label  = "unit"' in config
    assert f"http://127.0.0.1:{PORTS['loki']}/loki/api/v1/push" in config


def test_datasources_point_at_the_platform_with_the_read_only_role(rendered):
    _, sources = rendered
    by_uid = {s["uid"]: s for s in sources}
    assert set(by_uid) == {"mlops-prometheus", "mlops-loki", "mlops-appdb"}
    assert by_uid["mlops-prometheus"]["url"] == f"http://127.0.0.1:{PORTS['prometheus']}/prometheus"
    appdb = by_uid["mlops-appdb"]
    assert appdb["user"] == "dashboards_reader"
    assert appdb["url"] == f"127.0.0.1:{PORTS['postgres_app']}"
    assert len(appdb["secureJsonData"]["password"]) == 40
