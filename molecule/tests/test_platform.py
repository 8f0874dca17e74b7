"""The converged platform: units up, endpoints healthy, the demo path through
Airflow's REST API, and a restart of mlops.target."""

from __future__ import annotations

import time

import pytest
import requests

MODEL = "iris-classifier"
ROW = {"dataframe_split": {
    "columns": ["sepal_length", "sepal_width", "petal_length", "petal_width"],
    "data": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]}}


def target_units(host) -> list[str]:
    wants = host.check_output("systemctl show mlops.target -p Wants --value").split()
    return sorted(u for u in wants if u.endswith(".service"))


def wait_healthy(ports: dict, timeout: float) -> float:
    """Seconds until every HTTP endpoint answers; fails with what is still down."""
    checks = {
        "mlflow": f"http://127.0.0.1:{ports['mlflow']}/health",
        "airflow": f"http://127.0.0.1:{ports['airflow_api']}/api/v2/monitor/health",
        "model server": f"http://127.0.0.1:{ports['model_server']}/health",
        "tag watcher": f"http://127.0.0.1:{ports['tag_watcher']}/metrics",
    }
    start = time.monotonic()
    down = dict(checks)
    while down and time.monotonic() - start < timeout:
        for name, url in list(down.items()):
            try:
                if requests.get(url, timeout=3).status_code == 200:
                    del down[name]
            except requests.RequestException:
                pass
        time.sleep(1)
    assert not down, f"still down after {timeout}s: {sorted(down)}"
    return time.monotonic() - start


def test_every_unit_of_mlops_target_is_active_and_enabled(host):
    units = target_units(host)
    expected = {"mlflow.service", "mlops-model-server.service", "mlops-tag-watcher.service",
                "airflow-api-server.service", "airflow-scheduler.service",
                "airflow-dag-processor.service", "airflow-triggerer.service"}
    assert expected <= set(units), units
    assert any(u.startswith("postgresql@15-") for u in units)
    for unit in units:
        service = host.service(unit)
        assert service.is_running, f"{unit} is not running"
        assert service.is_enabled, f"{unit} is not enabled"
    assert host.service("mlops.target").is_enabled


def test_endpoints_are_healthy(ports):
    wait_healthy(ports, 120)
    s3 = requests.get(f"http://127.0.0.1:{ports['s3']}/", timeout=5)
    assert s3.status_code in (200, 403)  # an S3 answer, even to an unsigned request


def test_secret_files_are_private(host):
    for path in host.check_output("ls /etc/mlops/*.env").split():
        f = host.file(path)
        assert f.mode == 0o600 and f.user == "root", path


class Airflow:
    def __init__(self, port: int, password: str) -> None:
        self.base = f"http://127.0.0.1:{port}"
        token = requests.post(f"{self.base}/auth/token", timeout=10,
                              json={"username": "admin", "password": password})
        token.raise_for_status()
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token.json()['access_token']}"

    def run(self, dag_id: str, timeout: float = 600) -> dict:
        deadline = time.monotonic() + timeout
        while self.session.get(f"{self.base}/api/v2/dags/{dag_id}", timeout=10).status_code != 200:
            assert time.monotonic() < deadline, f"{dag_id} was never parsed"
            time.sleep(2)
        self.session.patch(f"{self.base}/api/v2/dags/{dag_id}", json={"is_paused": False},
                           timeout=10).raise_for_status()
        created = self.session.post(f"{self.base}/api/v2/dags/{dag_id}/dagRuns", timeout=10,
                                    json={"logical_date": None, "conf": {}})
        assert created.status_code in (200, 201), created.text
        run_id = created.json()["dag_run_id"]
        while True:
            run = self.session.get(f"{self.base}/api/v2/dags/{dag_id}/dagRuns/{run_id}",
                                   timeout=10).json()
            if run["state"] in ("success", "failed"):
                break
            assert time.monotonic() < deadline, f"{dag_id} still {run['state']} after {timeout}s"
            time.sleep(3)
        if run["state"] != "success":
            tis = self.session.get(
                f"{self.base}/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances",
                timeout=10).json()
            pytest.fail(f"{dag_id} failed: {tis}")
        return run


def app_db(host, ports: dict, single: bool, sql: str) -> str:
    port = ports["postgres_single"] if single else ports["postgres_app"]
    return host.check_output(f"runuser -u postgres -- psql -p {port} -d app -tAc \"{sql}\"")


def test_demo_path(host, ports, secrets):
    single = "single" in host.backend.name
    airflow = Airflow(ports["airflow_api"], secrets["airflow_admin"])
    airflow.run("dag_data_predictions")
    airflow.run("dag_training", timeout=900)

    mlflow = f"http://127.0.0.1:{ports['mlflow']}/api/2.0/mlflow"
    model = requests.get(f"{mlflow}/registered-models/get", params={"name": MODEL},
                         timeout=10).json()["registered_model"]
    aliases = {a["alias"]: a["version"] for a in model.get("aliases", [])}
    assert "candidate" in aliases
    requests.post(f"{mlflow}/registered-models/alias", timeout=10, json={
        "name": MODEL, "alias": "Production", "version": aliases["candidate"]}).raise_for_status()

    server = f"http://127.0.0.1:{ports['model_server']}"
    deadline = time.monotonic() + 90
    while requests.get(f"{server}/ready", timeout=5).status_code != 200:
        assert time.monotonic() < deadline, "the model server never loaded Production"
        time.sleep(2)
    answer = requests.post(f"{server}/invocations", json=ROW, timeout=10).json()
    assert answer["model"]["version"] == int(aliases["candidate"])
    assert len(answer["predictions"]) == 2

    airflow.run("dag_inference")
    airflow.run("dag_model_monitoring")
    assert int(app_db(host, ports, single, "SELECT count(*) FROM predictions")) >= 50
    versions = app_db(host, ports, single, "SELECT DISTINCT model_version FROM predictions")
    assert versions.split() == [str(aliases["candidate"])]
    assert int(app_db(host, ports, single, "SELECT count(*) FROM model_evaluations")) >= 2
    assert int(app_db(host, ports, single, "SELECT count(*) FROM feature_drift")) == 4
    deadline = time.monotonic() + 30
    while "Production" not in app_db(host, ports, single,
                                     "SELECT key FROM registry_events WHERE kind = 'alias'"):
        assert time.monotonic() < deadline, "the tag watcher did not record the promotion"
        time.sleep(2)


def test_restart_of_mlops_target_recovers(host, ports):
    host.check_output("systemctl restart mlops.target")
    took = wait_healthy(ports, 300)
    print(f"mlops.target healthy again {took:.0f}s after the restart")
    for unit in target_units(host):
        assert host.service(unit).is_running, unit
    server = f"http://127.0.0.1:{ports['model_server']}"
    deadline = time.monotonic() + 120
    while requests.get(f"{server}/ready", timeout=5).status_code != 200:
        assert time.monotonic() < deadline, "the model server did not reload its model"
        time.sleep(2)
    assert requests.post(f"{server}/invocations", json=ROW, timeout=10).status_code == 200
