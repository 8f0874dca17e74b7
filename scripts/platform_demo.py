#!/usr/bin/env python3
"""The demo path on a converged platform, through its HTTPS entry point:

dag_data_predictions -> dag_training (Airflow REST API) -> promote `candidate` to
Production (MLflow REST API) -> the model server picks it up -> a prediction ->
dag_inference -> dag_model_monitoring; then the URLs and where the logins are.

    python scripts/platform_demo.py --secrets ansible/.secrets/<host> [--url https://127.0.0.1]

Every call goes to the proxy with the host's CA (<secrets>/ca.crt) and the
generated logins: Airflow's admin, MLflow's admin, the API's bearer token.
Needs requests and PyYAML (the tools venv has both).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

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


def group_vars(name: str) -> dict:
    return yaml.safe_load((REPO / f"ansible/group_vars/all/{name}.yml").read_text())


def public_url(host: str = "127.0.0.1") -> str:
    port = int(group_vars("ports")["mlops_public_ports"]["https"])
    return f"https://{host}" + ("" if port == 443 else f":{port}")


class Client(requests.Session):
    """A session bound to one base URL, with its CA, login or bearer token."""

    def __init__(
        self,
        base: str,
        *,
        verify: bool | str = True,
        auth: tuple[str, str] | None = None,
        token: str | None = None,
    ) -> None:
        super().__init__()
        self.base = base.rstrip("/")
        self.verify = verify
        self.auth = auth
        if token:
            self.headers["Authorization"] = f"Bearer {token}"

    def request(
        self, method: str | bytes, url: str | bytes, *args: object, **kwargs: object
    ) -> requests.Response:
        kwargs.setdefault("timeout", 10)
        # per request: requests lets REQUESTS_CA_BUNDLE override a session's verify
        kwargs.setdefault("verify", self.verify)
        return super().request(method, f"{self.base}{url}", *args, **kwargs)


class Platform:
    """The three clients of the demo path, all through the proxy."""

    def __init__(self, url: str, secrets: Path) -> None:
        self.url = url.rstrip("/")
        self.secrets = secrets
        ca = str(secrets / "ca.crt")
        admin = ("admin", self.secret("mlflow_admin"))
        self.mlflow = Client(f"{self.url}/mlflow", verify=ca, auth=admin)
        self.api = Client(f"{self.url}/api", verify=ca, token=self.secret("api_token"))
        self.airflow_client = Client(f"{self.url}/airflow", verify=ca)

    def secret(self, name: str) -> str:
        return (self.secrets / name).read_text().strip()

    def airflow(self, progress: Callable[[str], None] = print) -> Airflow:
        return Airflow(self.airflow_client, "admin", self.secret("airflow_admin"), progress)


class Airflow:
    """Just enough of Airflow 3's REST API: log in, unpause, trigger, wait."""

    # how often a run's state is shown while nothing changes
    PROGRESS_EVERY = 20.0
    LOG_TAIL_LINES = 40

    def __init__(
        self, session: Client, user: str, password: str, progress: Callable[[str], None] = print
    ) -> None:
        token = session.post("/auth/token", json={"username": user, "password": password})
        if token.status_code not in {200, 201}:
            raise DemoError(f"Airflow login failed ({token.status_code}): {token.text[:200]}")
        session.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        self.session = session
        self.progress = progress

    def trigger(self, dag_id: str, timeout: float = 600) -> str:
        """Unpause ``dag_id`` (once the dag-processor has parsed it) and start a run."""
        deadline = time.monotonic() + timeout
        url = f"/api/v2/dags/{dag_id}"
        while self.session.get(url).status_code != 200:
            if time.monotonic() > deadline:
                raise DemoError(f"{dag_id} was never parsed by the dag-processor")
            time.sleep(2)
        self.session.patch(url, json={"is_paused": False}).raise_for_status()
        created = self.session.post(f"{url}/dagRuns", json={"logical_date": None, "conf": {}})
        if created.status_code not in (200, 201):
            raise DemoError(f"cannot trigger {dag_id}: {created.status_code} {created.text[:300]}")
        return created.json()["dag_run_id"]

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        url = f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances"
        return self.session.get(url).json().get("task_instances", [])

    def run_url(self, dag_id: str, run_id: str) -> str:
        """Where a person watches the run in Airflow's UI."""
        return f"{self.session.base}/dags/{dag_id}/runs/{quote(run_id, safe='')}"

    def log_tail(self, dag_id: str, run_id: str, task: dict) -> list[str]:
        """The last lines of a task's log of its latest try (Airflow's structured log)."""
        url = (
            f"/api/v2/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances/"
            f"{task['task_id']}/logs/{max(int(task.get('try_number') or 1), 1)}"
        )
        got = self.session.get(url, params={"full_content": "true"})
        if got.status_code != 200:
            return [f"(no log: {got.status_code} {got.text[:200]})"]
        lines = []
        for entry in got.json().get("content", []):
            if not isinstance(entry, dict):
                lines.append(str(entry))
                continue
            level = f"{entry['level']} " if entry.get("level") else ""
            lines.append(f"{level}{entry.get('event', '')}")
            for error in entry.get("error_detail") or []:
                lines.append(f"  {error.get('exc_type')}: {error.get('exc_value')}")
        return lines[-self.LOG_TAIL_LINES :]

    def describe(self, dag_id: str, run: dict, tasks: list[dict], elapsed: float) -> tuple:
        """(what changed, the line that shows it) of a run in progress."""
        done = sum(t["state"] in {"success", "skipped"} for t in tasks)
        running = [t["task_id"] for t in tasks if t["state"] in {"running", "queued", "scheduled"}]
        now = f", now {', '.join(running)}" if running else ""
        line = (
            f"  {dag_id}: {run['state']} for {elapsed:.0f}s, {done} of {len(tasks)} tasks done"
            f"{now}  (watch: {self.run_url(dag_id, run['dag_run_id'])})"
        )
        return (run["state"], done, tuple(running)), line

    def wait(self, dag_id: str, run_id: str, timeout: float = 600) -> dict:
        """The finished run; DemoError if it failed or is still going after ``timeout``.
        While it waits it reports the run's state, its tasks and where to watch it
        whenever that changes (and every PROGRESS_EVERY seconds); a failure names each
        failed task with the tail of its log."""
        start = time.monotonic()
        shown, shown_at = (), 0.0
        while True:
            run = self.session.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}").json()
            tasks = self.task_instances(dag_id, run_id)
            elapsed = time.monotonic() - start
            state, line = self.describe(dag_id, run, tasks, elapsed)
            if state != shown or elapsed - shown_at >= self.PROGRESS_EVERY:
                self.progress(line)
                shown, shown_at = state, elapsed
            if run["state"] in ("success", "failed"):
                break
            if elapsed > timeout:
                raise DemoError(f"{dag_id} still {run['state']} after {timeout:.0f}s")
            time.sleep(3)
        if run["state"] != "success":
            failed = [t for t in tasks if t["state"] in {"failed", "upstream_failed"}]
            report = [f"{dag_id} run {run_id} failed ({self.run_url(dag_id, run_id)}):"]
            for task in failed:
                report.append(f"- {task['task_id']}: {task['state']}")
                if task["state"] == "failed":
                    report += [f"    {line}" for line in self.log_tail(dag_id, run_id, task)]
            raise DemoError("\n".join(report))
        return run

    def run(self, dag_id: str, timeout: float = 600) -> dict:
        """Trigger one run of ``dag_id`` and wait for it; DemoError if it fails."""
        start = time.monotonic()
        run_id = self.trigger(dag_id, timeout)
        return self.wait(dag_id, run_id, timeout - (time.monotonic() - start))


def aliases(mlflow: Client) -> dict[str, int]:
    got = mlflow.get("/api/2.0/mlflow/registered-models/get", params={"name": MODEL})
    got.raise_for_status()
    return {
        a["alias"]: int(a["version"]) for a in got.json()["registered_model"].get("aliases", [])
    }


def set_alias(mlflow: Client, alias: str, version: int) -> None:
    mlflow.post(
        "/api/2.0/mlflow/registered-models/alias",
        json={"name": MODEL, "alias": alias, "version": str(version)},
    ).raise_for_status()


def wait_serving(server: Client, version: int, timeout: float = 120, in_a_row: int = 10) -> float:
    """Seconds until the model server answers with ``version`` ``in_a_row`` times running.
    Each worker loads a moved alias on its own poll, and a request may reach any of them;
    a worker that has never loaded a model answers 503 until its first poll after the
    promotion."""
    start = time.monotonic()
    streak = 0
    while time.monotonic() - start < timeout:
        try:
            serves = server.get("/model", timeout=5).json().get("version") == version
        except (requests.RequestException, ValueError):
            serves = False
        streak = streak + 1 if serves else 0
        if streak >= in_a_row:
            return time.monotonic() - start
        if not serves:
            time.sleep(1)
    raise DemoError(f"the model server did not serve version {version} within {timeout:.0f}s")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--secrets", type=Path, required=True, help="the host's secrets folder on this controller"
    )
    parser.add_argument("--url", default=public_url(), help="the platform's HTTPS entry point")
    args = parser.parse_args()
    platform = Platform(args.url, args.secrets)
    try:
        airflow = platform.airflow()
        for dag_id in ("dag_data_predictions", "dag_training"):
            print(f"== {dag_id}", flush=True)
            airflow.run(dag_id, timeout=900)
        candidate = aliases(platform.mlflow)["candidate"]
        print(f"== promote: Production -> version {candidate} (the candidate)")
        set_alias(platform.mlflow, "Production", candidate)
        print(f"model server serves it after {wait_serving(platform.api, candidate):.1f}s")
        answer = platform.api.post("/invocations", json=ROW).json()
        print(f"prediction: {json.dumps(answer)}")
        for dag_id in ("dag_inference", "dag_model_monitoring"):
            print(f"== {dag_id}", flush=True)
            airflow.run(dag_id)
    except (DemoError, requests.RequestException) as exc:
        print(f"demo failed: {exc}", file=sys.stderr)
        return 1
    url, secrets = platform.url, args.secrets
    print(f"""
The platform: {url}/  (the landing page lists every UI and its status)
  trust the host's CA in your browser: {secrets}/ca.crt
  MLflow        {url}/mlflow/        user admin, password in {secrets}/mlflow_admin
  Airflow       {url}/airflow/       user admin, password in {secrets}/airflow_admin
  Prometheus    {url}/prometheus/    user admin, password in {secrets}/proxy_admin
  Alertmanager  {url}/alertmanager/  user admin, password in {secrets}/proxy_admin
  model API     {url}/api/invocations  header "Authorization: Bearer $(cat {secrets}/api_token)"
Generated secrets: {secrets}/ (0600, git-ignored)""")
    return 0


if __name__ == "__main__":
    sys.exit(main())
