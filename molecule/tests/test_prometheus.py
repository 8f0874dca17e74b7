"""Prometheus on the converged host, after the demo path: every target of the
stack up, the alert rules loaded with none firing, and Airflow's DAG runs
visible as metrics from the Postgres exporter's queries."""

from __future__ import annotations

import time

from platform_demo import ROW
from platform_state import wait_targets_up

JOBS = {"prometheus", "alertmanager", "node", "process", "model-server", "tag-watcher",
        "object-store", "postgres"}  # fmt: skip


def query(prometheus, promql: str) -> list[dict]:
    answer = prometheus.get("/api/v1/query", params={"query": promql}).json()
    assert answer["status"] == "success", answer
    return answer["data"]["result"]


def test_every_target_is_up(prometheus, host):
    clusters = len(host.check_output("ls /etc/mlops/ | grep postgres-exporter-").split())
    wait_targets_up(prometheus, 90)
    targets = prometheus.get("/api/v1/targets").json()["data"]["activeTargets"]
    assert {t["labels"]["job"] for t in targets} == JOBS
    postgres = [t for t in targets if t["labels"]["job"] == "postgres"]
    assert len(postgres) == clusters, "one exporter per PostgreSQL cluster"
    assert all(float(r["value"][1]) == 1 for r in query(prometheus, "pg_up")), "pg_up"


def test_alert_rules_are_loaded_and_quiet(prometheus):
    groups = prometheus.get("/api/v1/rules").json()["data"]["groups"]
    alerts = {r["name"]: r["state"] for g in groups for r in g["rules"]}
    assert {"ModelServerDown", "PostgresDown", "DagFailingRepeatedly", "DiskFillingUp"} <= set(
        alerts
    )
    firing = {name: state for name, state in alerts.items() if state == "firing"}
    assert not firing, f"alerts firing on a healthy platform: {firing}"


def test_airflow_dag_runs_are_metrics(prometheus):
    deadline = time.monotonic() + 60
    while not (runs := query(prometheus, 'airflow_dag_runs_count{state="success"}')):
        assert time.monotonic() < deadline, "no airflow_dag_runs_count series"
        time.sleep(5)
    dags = {r["metric"]["dag_id"] for r in runs}
    assert {"dag_data_predictions", "dag_training", "dag_inference"} <= dags, dags
    durations = query(prometheus, "airflow_dag_last_run_duration_seconds")
    assert durations and all(float(r["value"][1]) > 0 for r in durations)


def test_model_server_metrics_reach_prometheus(prometheus, platform):
    loaded = query(prometheus, "mlops_model_loaded == 1")
    assert loaded and {r["metric"]["alias"] for r in loaded} == {"Production"}
    # a request of its own: the restart test before this reset the server's counters
    assert platform.api.post("/invocations", json=ROW).status_code == 200
    deadline = time.monotonic() + 60  # four scrape intervals
    while not query(prometheus, 'sum(mlops_http_requests_total{endpoint="/invocations"}) > 0'):
        assert time.monotonic() < deadline, "the prediction did not reach Prometheus"
        time.sleep(5)
