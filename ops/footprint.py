"""Idle memory of every service on this host, per systemd unit: PSS (each shared
page split among the processes that map it, so the column adds up to what the
host really holds) and RSS, summed over every process of the unit's cgroup.
Standard library only; run as root on the VM, from the deployed code:

    cd /opt/mlops/app && sudo python3 -m ops.footprint               # the table
    cd /opt/mlops/app && sudo python3 -m ops.footprint --baselines   # and the defaults beside

--baselines also starts, for the time of the measurement, what our settings
replace, as transient units beside the running stack:
- `mlflow server` with MLflow's defaults (its worker count, its job runner, a
  SQLite store in a scratch state directory), against our mlflow.service;
- a second Airflow scheduler with Airflow's default parallelism (32) and
  otherwise our environment, against our airflow-scheduler.service. Two
  schedulers on one PostgreSQL metadata database is a supported (HA) setup.
Each is measured once its process count has been steady for 5 s, then stopped.
Ours are measured before the defaults start: a library page the two share counts
in full for ours and half for the default, so ours/default errs against ours.
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path

VENVS = Path("/opt/mlops/venvs")
# the platform's unit registry as installed on this host (ansible/group_vars/all/units.yml)
REGISTRY = Path("/etc/mlops/units.json")
BASELINES = {
    "mlflow.service": "footprint-default-mlflow.service",
    "airflow-scheduler.service": "footprint-default-airflow-scheduler.service",
}


@dataclass
class Unit:
    name: str
    processes: int
    pss_mb: float
    rss_mb: float
    ours: bool


def unit_of(pid: str) -> str | None:
    """The .service whose cgroup holds the process (cgroup v1 or v2, any nesting)."""
    try:
        lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        hierarchy, _, path = line.split(":", 2)
        if hierarchy in ("0", "name=systemd") or "memory" in hierarchy.split(","):
            leaf = path.rstrip("/").rsplit("/", 1)[-1]
            if leaf.endswith(".service"):
                return leaf
    return None


def rollup_kb(pid: str) -> tuple[int, int]:
    """(PSS, RSS) in kB of one process; (0, 0) if it is gone or a kernel thread."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0, 0
    fields = dict(line.split(":", 1) for line in text.splitlines()[1:] if ":" in line)
    return int(fields.get("Pss", "0 kB").split()[0]), int(fields.get("Rss", "0 kB").split()[0])


def measure(ours: set[str]) -> dict[str, Unit]:
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or not (unit := unit_of(entry.name)):
            continue
        pss, rss = rollup_kb(entry.name)
        if pss or rss:
            total = totals[unit]
            total[0] += 1
            total[1] += pss
            total[2] += rss
    return {
        name: Unit(name, n, pss / 1024, rss / 1024, name in ours)
        for name, (n, pss, rss) in totals.items()
    }


def stack_units(registry: Path = REGISTRY) -> set[str]:
    try:
        units = json.loads(registry.read_text())
    except FileNotFoundError:
        raise SystemExit(f"{registry} not found: run ansible-playbook site.yml first") from None
    return {u["name"] for u in units if u["name"].endswith(".service")}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def settle(unit: str, timeout: float = 120) -> None:
    """Until the unit's process count has not changed for 5 s (workers forked)."""
    seen, since, start = -1, time.monotonic(), time.monotonic()
    while time.monotonic() - start < timeout:
        count = measure(set()).get(unit, Unit(unit, 0, 0, 0, False)).processes
        if count != seen:
            seen, since = count, time.monotonic()
        elif count and time.monotonic() - since >= 5:
            return
        time.sleep(1)
    raise SystemExit(f"{unit} did not settle within {timeout:.0f} s: systemctl status {unit}")


def wait_http(url: str, unit: str, timeout: float = 180) -> None:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        try:
            with urllib.request.urlopen(url, timeout=3) as answer:  # noqa: S310 (loopback)
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(1)
    raise SystemExit(f"{unit} did not answer {url} within {timeout:.0f} s")


def start_baselines() -> None:
    """MLflow's and Airflow's defaults as transient units (see the module's text)."""
    port = free_port()
    mlflow = BASELINES["mlflow.service"]
    state = mlflow.removesuffix(".service")
    subprocess.run(
        ["systemd-run", "--quiet", f"--unit={mlflow}", "-p", "DynamicUser=yes",
         "-p", f"StateDirectory={state}", "-p", f"WorkingDirectory=/var/lib/{state}",
         f"--setenv=HOME=/var/lib/{state}", str(VENVS / "mlflow/bin/mlflow"), "server",
         "--host", "127.0.0.1", "--port", str(port)],
        check=True,
    )  # fmt: skip
    # our environment file, then the default parallelism on top of it (env runs after it)
    airflow_env = Path("/etc/mlops/airflow.env").read_text().splitlines()
    home = next(line.split("=", 1)[1] for line in airflow_env if line.startswith("AIRFLOW_HOME="))
    subprocess.run(
        ["systemd-run", "--quiet", f"--unit={BASELINES['airflow-scheduler.service']}",
         "-p", "User=airflow", "-p", "Group=airflow",
         "-p", "EnvironmentFile=/etc/mlops/airflow.env",
         "-p", f"WorkingDirectory={home}", "/usr/bin/env", "AIRFLOW__CORE__PARALLELISM=32",
         str(VENVS / "airflow/bin/airflow"), "scheduler", "--skip-serve-logs"],
        check=True,
    )  # fmt: skip
    wait_http(f"http://127.0.0.1:{port}/health", mlflow)
    for unit in BASELINES.values():
        settle(unit)


def stop_baselines() -> None:
    for unit in BASELINES.values():
        subprocess.run(["systemctl", "stop", unit], check=False, capture_output=True)
        subprocess.run(["systemctl", "reset-failed", unit], check=False, capture_output=True)


def report(units: dict[str, Unit], baselines: bool) -> dict:
    ours = [u for u in units.values() if u.ours]
    others = [u for u in units.values() if not u.ours and u.name not in BASELINES.values()]
    print(f"{'unit':46} {'procs':>5} {'PSS MB':>8} {'RSS MB':>8}")
    for unit in sorted(ours, key=lambda u: -u.pss_mb):
        print(f"{unit.name:46} {unit.processes:>5} {unit.pss_mb:>8.0f} {unit.rss_mb:>8.0f}")
    stack = sum(u.pss_mb for u in ours)
    rest = sum(u.pss_mb for u in others)
    print(f"{'the stack (' + str(len(ours)) + ' units)':46} {'':>5} {stack:>8.0f}")
    print(f"{'the rest of the host (' + str(len(others)) + ' units)':46} {'':>5} {rest:>8.0f}")
    summary = {"units": [asdict(u) for u in units.values()], "stack_pss_mb": stack,
               "rest_pss_mb": rest, "baselines": {}}  # fmt: skip
    if baselines:
        print(f"\n{'defaults against ours':46} {'PSS MB':>8} {'RSS MB':>8} {'ours/def PSS':>12}")
        for mine, default in BASELINES.items():
            a, b = units[mine], units[default]
            print(f"{default:46} {b.pss_mb:>8.0f} {b.rss_mb:>8.0f}")
            print(f"{mine:46} {a.pss_mb:>8.0f} {a.rss_mb:>8.0f} {a.pss_mb / b.pss_mb:>12.2f}")
            summary["baselines"][mine] = {"default": asdict(b), "ours": asdict(a),
                                          "ours_over_default_pss": a.pss_mb / b.pss_mb}  # fmt: skip
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baselines", action="store_true", help="also measure the defaults")
    parser.add_argument("--json", type=Path, help="write the figures here too")
    args = parser.parse_args()
    units = measure(stack_units())
    if args.baselines:
        try:
            start_baselines()
            defaults = measure(set())
        finally:
            stop_baselines()
        units |= {name: defaults[name] for name in BASELINES.values()}
    summary = report(units, args.baselines)
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
