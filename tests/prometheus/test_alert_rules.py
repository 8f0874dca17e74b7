"""The alert rules pass `promtool check rules` and their unit tests
(`promtool test rules`, mlops-alerts.test.yml): each alert fires on the series
that mean trouble and stays quiet on a healthy platform."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.harness import REPO

HERE = Path(__file__).parent
RULES = REPO / "ansible/roles/prometheus/files/mlops-alerts.yml"


@pytest.fixture(scope="module")
def promtool() -> str:
    found = os.environ.get("MLOPS_PROMTOOL") or shutil.which("promtool")
    if not found:
        pytest.fail(
            "promtool not found: `make promtool` unpacks Debian's (without starting a Prometheus) "
            "and the Makefile passes it as MLOPS_PROMTOOL"
        )
    return found


def promtool_run(promtool: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([promtool, *args], cwd=HERE, capture_output=True, text=True, check=False)


def test_rules_are_valid(promtool):
    result = promtool_run(promtool, "check", "rules", str(RULES))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_rule_unit_tests_pass(promtool):
    result = promtool_run(promtool, "test", "rules", "mlops-alerts.test.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_has_a_unit_test():
    rules = yaml.safe_load(RULES.read_text())
    alerts = {r["alert"] for g in rules["groups"] for r in g["rules"]}
    tests = yaml.safe_load((HERE / "mlops-alerts.test.yml").read_text())["tests"]
    firing = {
        t["alertname"] for case in tests for t in case.get("alert_rule_test", []) if t["exp_alerts"]
    }
    assert alerts == firing, f"alerts without a firing test: {sorted(alerts - firing)}"
