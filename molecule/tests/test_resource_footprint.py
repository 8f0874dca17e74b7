"""Idle memory of the stack (the footprint benchmark): `ops.footprint
--baselines` on the converged host, after the demo path and the fault tests, so
every service holds what it holds in use. It prints PSS and RSS per unit and
MLflow's and Airflow's defaults beside ours.

Asserted: every service of mlops.target is measured; the whole stack stays under
3 GB PSS, the budget that lets it run on a 4 GB VM; the defaults were really
started (the default scheduler with its 32 executor workers) and are gone again.
The ratios are printed, not asserted."""

from __future__ import annotations

import json

from platform_state import target_units

BUDGET_MB = 3 * 1024


def test_the_idle_stack_fits_a_4_gb_vm(host, default_scenario_only):
    out = host.run(
        "cd /opt/mlops/app && python3 -m ops.footprint --baselines --json /tmp/footprint.json"
    )
    print(out.stdout)
    assert out.rc == 0, out.stdout + out.stderr
    summary = json.loads(host.file("/tmp/footprint.json").content_string)
    units = {u["name"]: u for u in summary["units"]}
    for unit in target_units(host):
        assert units[unit]["pss_mb"] > 0 and units[unit]["ours"], unit
    assert summary["stack_pss_mb"] < BUDGET_MB, f"{summary['stack_pss_mb']:.0f} MB"

    defaults = summary["baselines"]
    scheduler = defaults["airflow-scheduler.service"]["default"]
    assert scheduler["processes"] > 32  # scheduler + its 32 LocalExecutor workers
    assert defaults["mlflow.service"]["default"]["pss_mb"] > 0
    leftover = host.check_output("systemctl list-units --all --plain --no-legend 'footprint-*'")
    assert not leftover.strip(), leftover
