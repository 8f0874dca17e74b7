#!/usr/bin/env python3
"""The demo path on a converged platform, through its real APIs:

dag_data_predictions -> dag_training (Airflow REST API) -> promote `candidate` to
Production (MLflow REST API) -> the model server picks it up -> a prediction ->
dag_inference -> dag_model_monitoring; then the URLs and where the passwords are.

    python scripts/platform_demo.py --secrets ansible/.secrets/<host> [--host 127.0.0.1]

Needs requests and PyYAML (the tools venv has both).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import requests
import yaml

REPO = Path(__file__).resolve().parent.parent
MODEL = "iris-classifier"
ROW = {
    "dataframe_split": {
        "columns": ["sepal_length", "sepal_width", "petal_length", "petal_width"],
        "data": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]],
    }
}


class DemoError(RuntimeError):
    pass


def ports() -> dict[str, int]:
    return yaml.safe_load((REPO / "ansible/group_vars/all/ports.yml").read_text())["mlops_ports"]


class Airflow:
    """Just enough of Airflow 3's REST API: log in, unpause, trigger, wait."""

    def __init__(self, base: str, user: str, password: str) -> None:
        self.base = base
        token = requests.post(
            f"{base}/auth/token", json={"username": user, "password": password}, timeout=10
        )
        if token.status_code not in {200, 201}:
            raise DemoError(f"Airflow login failed ({token.status_code}): {token.text[:200]}")
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token.json()['access_token']}"

    def run(self, dag_id: str, timeout: float = 600) -> dict:
        """Trigger one run of ``dag_id`` and wait for it; DemoError if it fails."""
        deadline = time.monotonic() + timeout
        url = f"{self.base}/api/v2/dags/{dag_id}"
        while self.session.get(url, timeout=10).status_code != 200:
            if time.monotonic() > deadline:
                raise DemoError(f"{dag_id} was never parsed by the dag-processor")
            time.sleep(2)
        self.session.patch(url, json={"is_paused": False}, timeout=10).raise_for_status()
        created = self.session.post(
            f"{url}/dagRuns", json={"logical_date": None, "conf": {}}, timeout=10
        )
        if created.status_code not in (200, 201):
            raise DemoError(f"cannot trigger {dag_id}: {created.status_code} {created.text[:300]}")
        run_id = created.json()["dag_run_id"]
        while True:
            run = self.session.get(f"{url}/dagRuns/{run_id}", timeout=10).json()
            if run["state"] in ("success", "failed"):
                break
            if time.monotonic() > deadline:
                raise DemoError(f"{dag_id} still {run['state']} after {timeout:.0f}s")
            time.sleep(3)
        if run["state"] != "success":
            tasks = self.session.get(f"{url}/dagRuns/{run_id}/taskInstances", timeout=10).json()
            states = {t["task_id"]: t["state"] for t in tasks.get("task_instances", [])}
            raise DemoError(f"{dag_id} run {run_id} failed: {states}")
        return run


def aliases(mlflow: str) -> dict[str, int]:
    got = requests.get(
        f"{mlflow}/api/2.0/mlflow/registered-models/get", params={"name": MODEL}, timeout=10
    )
    got.raise_for_status()
    return {
        a["alias"]: int(a["version"]) for a in got.json()["registered_model"].get("aliases", [])
    }


def set_alias(mlflow: str, alias: str, version: int) -> None:
    requests.post(
        f"{mlflow}/api/2.0/mlflow/registered-models/alias",
        timeout=10,
        json={"name": MODEL, "alias": alias, "version": str(version)},
    ).raise_for_status()


def wait_serving(server: str, version: int, timeout: float = 120) -> float:
    """Seconds until the model server answers with ``version``."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        try:
            if requests.get(f"{server}/model", timeout=5).json().get("version") == version:
                return time.monotonic() - start
        except requests.RequestException:
            pass
        time.sleep(1)
    raise DemoError(f"the model server did not serve version {version} within {timeout:.0f}s")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--secrets", type=Path, required=True, help="the host's secrets folder on this controller"
    )
    parser.add_argument("--host", default="127.0.0.1", help="where the platform's ports answer")
    args = parser.parse_args()
    p = ports()
    mlflow = f"http://{args.host}:{p['mlflow']}"
    server = f"http://{args.host}:{p['model_server']}"
    password = (args.secrets / "airflow_admin").read_text().strip()
    try:
        airflow = Airflow(f"http://{args.host}:{p['airflow_api']}", "admin", password)
        for dag_id in ("dag_data_predictions", "dag_training"):
            print(f"== {dag_id}", flush=True)
            airflow.run(dag_id, timeout=900)
        candidate = aliases(mlflow)["candidate"]
        print(f"== promote: Production -> version {candidate} (the candidate)")
        set_alias(mlflow, "Production", candidate)
        print(f"model server serves it after {wait_serving(server, candidate):.1f}s")
        answer = requests.post(f"{server}/invocations", json=ROW, timeout=10).json()
        print(f"prediction: {json.dumps(answer)}")
        for dag_id in ("dag_inference", "dag_model_monitoring"):
            print(f"== {dag_id}", flush=True)
            airflow.run(dag_id)
    except (DemoError, requests.RequestException) as exc:
        print(f"demo failed: {exc}", file=sys.stderr)
        return 1
    print(f"""
The platform (all on {args.host}; an HTTPS entry point comes with the proxy role):
  MLflow       {mlflow}/
  Airflow      http://{args.host}:{p["airflow_api"]}/   user admin,
               password in {args.secrets}/airflow_admin
  model server {server}/invocations   (/ready, /model, /metrics)
  tag watcher  http://{args.host}:{p["tag_watcher"]}/metrics
Generated secrets: {args.secrets}/ (0600, git-ignored)""")
    return 0


if __name__ == "__main__":
    sys.exit(main())
