"""bench/provisioning.py --quick on the converged host: the no-change run of the
base host and code roles with Ansible's defaults and with ours (pipelining and Mitogen's
strategy, which the script checks was loaded), side by side. The script exits
non-zero if either run fails or changes anything; the times and their ratio are
printed, not asserted (the full run's figures are in the README)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import local_vm

REPO = Path(__file__).resolve().parents[2]


def test_the_quick_provisioning_benchmark_times_both_runs(default_scenario_only, scenario,
                                                          tmp_path):  # fmt: skip
    out = tmp_path / "provisioning.json"
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "provisioning.py"),
         *local_vm.inventory_args(scenario), "--quick", "--out", str(out)],
        capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip
    print(done.stdout)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    result = json.loads(out.read_text())
    for run in (result["baseline"], result["ours"]):
        assert run["seconds"] > 0 and run["tasks_ok"] > 10 and run["slowest"], run
    assert "Mitogen" in result["ours"]["config"] and "defaults" in result["baseline"]["config"]


def test_ssh_costs_no_more_than_docker_exec(default_scenario_only, host, scenario, tmp_path):
    """The same no-change run (base host and code) over the inventory's SSH and over
    `docker exec` into the same container, as the same user with the same sudo,
    alternating: a no-change run over SSH was once measured at twice the time of one over
    Docker's connection. A ratio of side-by-side runs, so a slow machine moves both."""
    out = tmp_path / "transports.json"
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "provisioning.py"),
         *local_vm.inventory_args(scenario), "--quick", "--docker", host.backend.get_hostname(),
         "--rounds", "2", "--out", str(out)],
        capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip
    print(done.stdout)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    result = json.loads(out.read_text())
    assert all(run["tasks_ok"] > 10 for runs in result["runs"].values() for run in runs), result
    assert result["ssh_over_docker_time"] < 1.5, result["median_seconds"]
