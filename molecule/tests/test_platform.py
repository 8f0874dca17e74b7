"""The converged platform: units up, endpoints healthy, the demo path through
Airflow's REST API, and a restart of mlops.target."""

from __future__ import annotations

import re
import time

import requests
from platform_demo import ROW, Client, aliases, set_alias, wait_serving
from platform_state import model_server_env, record, target_units, wait_healthy


def test_every_unit_of_mlops_target_is_active_and_enabled(host):
    units = target_units(host)
    expected = {
        "mlflow.service",
        "mlops-model-server.service",
        "mlops-tag-watcher.service",
        "airflow-api-server.service",
        "airflow-scheduler.service",
        "airflow-dag-processor.service",
        "airflow-triggerer.service",
    }
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


# the model server's is its group's too: gunicorn's master reads it again at a reload
GROUP_READABLE_ENV = {"/etc/mlops/model-server.env": "mlops-model"}


def test_secret_files_are_private(host):
    for path in host.check_output("ls /etc/mlops/*.env").split():
        f = host.file(path)
        group = GROUP_READABLE_ENV.get(path)
        if group:
            assert (f.mode, f.user, f.group) == (0o640, "root", group), path
        else:
            assert f.mode == 0o600 and f.user == "root", path


def app_db(host, ports: dict, single: bool, sql: str) -> str:
    port = ports["postgres_single"] if single else ports["postgres_app"]
    return host.check_output(f'runuser -u postgres -- psql -p {port} -d app -tAc "{sql}"')


def test_demo_path(host, ports, platform):
    """The README's demo, through the HTTPS entry point with the generated logins."""
    single = "single" in host.backend.get_hostname()
    shown = []

    def progress(line: str) -> None:
        print(line)
        shown.append(line)

    airflow = platform.airflow(progress)
    airflow.run("dag_data_predictions")
    airflow.run("dag_training", timeout=900)
    # while it waits, the demo shows the run's state, its tasks and where to watch it
    training = [line for line in shown if line.startswith("  dag_training: ")]
    assert len(training) >= 2, shown
    assert any(re.search(r"running for \d+s, \d+ of [1-9]\d* tasks done, now \w", line)
               for line in training), training  # fmt: skip
    assert all("/airflow/dags/dag_training/runs/" in line for line in training), training
    assert "success" in training[-1], training

    candidate = aliases(platform.mlflow)["candidate"]
    set_alias(platform.mlflow, "Production", candidate)
    took = wait_serving(platform.api, candidate, timeout=90)
    print(f"model server serves version {candidate} {took:.1f}s after the promotion")
    # each worker follows the alias on its own poll; wait_serving saw ten answers in a row
    deadline = time.monotonic() + 30
    while (ready := platform.api.get("/ready")).status_code != 200:
        assert time.monotonic() < deadline, f"not every worker is ready: {ready.text}"
        time.sleep(1)
    answer = platform.api.post("/invocations", json=ROW).json()
    assert answer["model"]["version"] == candidate
    assert len(answer["predictions"]) == 2
    # the services on the host call MLflow as its read-only user: it cannot move an alias
    reader = Client(
        f"http://127.0.0.1:{ports['mlflow']}/mlflow",
        auth=("mlops-reader", model_server_env(host, "MLFLOW_TRACKING_PASSWORD")),
    )
    assert aliases(reader)["Production"] == candidate
    denied = reader.post(
        "/api/2.0/mlflow/registered-models/alias",
        json={"name": "iris-classifier", "alias": "Production", "version": "1"},
    )
    assert denied.status_code == 403, denied.text

    airflow.run("dag_inference")
    airflow.run("dag_model_monitoring")
    assert int(app_db(host, ports, single, "SELECT count(*) FROM predictions")) >= 50
    versions = app_db(host, ports, single, "SELECT DISTINCT model_version FROM predictions")
    assert versions.split() == [str(candidate)]
    assert int(app_db(host, ports, single, "SELECT count(*) FROM model_evaluations")) >= 2
    # every figure stands on at least 10 rows of a batch newer than the version's fit window
    seen = app_db(
        host,
        ports,
        single,
        "SELECT count(*) FROM model_evaluations e"
        " LEFT JOIN labelled_batches b ON b.batch_id = e.data_batch"
        " WHERE e.n_rows < 10 OR e.fit_through IS NULL OR b.ingested_at IS NULL"
        " OR b.ingested_at <= e.fit_through",
    )
    assert int(seen) == 0, "an evaluation stands on rows its version could have been fit on"
    # one PSI row per feature for the latest evaluation. Not a total: the DAGs start
    # unpaused, so monitoring's own scheduled run (failed: no model yet) may succeed on
    # a retry once this test has trained and scored, and write its rows too
    latest = (
        "SELECT count(*) FROM feature_drift"
        " WHERE evaluated_at = (SELECT max(evaluated_at) FROM feature_drift)"
    )
    assert int(app_db(host, ports, single, latest)) == 4
    # the demo's batches are generated with no shift: no feature may be flagged
    flagged = app_db(
        host,
        ports,
        single,
        "SELECT count(*) FILTER (WHERE drifted), count(*) FILTER (WHERE threshold > 0)"
        " FROM feature_drift WHERE evaluated_at = (SELECT max(evaluated_at) FROM feature_drift)",
    )
    assert flagged.strip() == "0|4", flagged
    deadline = time.monotonic() + 30
    while "Production" not in app_db(
        host, ports, single, "SELECT key FROM registry_events WHERE kind = 'alias'"
    ):
        assert time.monotonic() < deadline, "the tag watcher did not record the promotion"
        time.sleep(2)


def test_restart_of_mlops_target_recovers(host, ports, platform):
    before = record(host, platform)
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
    assert record(host, platform) == before
