"""The four DAGs parse and run in a real Airflow 3 (LocalExecutor metadata on
PostgreSQL), calling the real ml code against the real MLflow and app-db."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import psycopg
import pytest

from ml import promote, registry
from tests.harness import REPO

AIRFLOW_VENV = Path(os.environ.get("MLOPS_AIRFLOW_VENV", REPO / ".venv-airflow"))
pytestmark = pytest.mark.airflow


@pytest.fixture(scope="module")
def airflow_env(platform):
    python = AIRFLOW_VENV / "bin" / "python"
    if not python.exists():
        pytest.fail(f"no Airflow venv at {AIRFLOW_VENV}: run `make venvs` (the test command does)")
    cfg = platform.settings("dag-model")
    home = tempfile.mkdtemp(prefix="mlops-airflow-")
    env = {
        **os.environ,
        **platform.env(cfg),
        "AIRFLOW_HOME": home,
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": platform.airflow_db_url.replace(
            "postgresql://", "postgresql+psycopg2://"
        ),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "PYTHONPATH": str(REPO),
    }
    migrate = subprocess.run(
        [str(AIRFLOW_VENV / "bin" / "airflow"), "db", "migrate"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert migrate.returncode == 0, migrate.stdout[-3000:] + migrate.stderr[-3000:]
    return cfg, env


def run_dags(env: dict, *dag_ids: str) -> str:
    proc = subprocess.run(
        [
            str(AIRFLOW_VENV / "bin" / "python"),
            str(REPO / "tests" / "airflow_dag_runner.py"),
            str(REPO / "dags"),
            *dag_ids,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    return out


def test_dags_parse_and_run(airflow_env, platform):
    cfg, env = airflow_env
    out = run_dags(env, "dag_data_predictions", "dag_training")
    assert "RESULT dag_data_predictions success" in out
    assert "RESULT dag_training success" in out
    # the reference set and one day's batch; every family fit on the first, tested on the other
    assert rows(cfg, "SELECT count(*) FROM labelled_rows") == 150 + 30
    assert rows(cfg, "SELECT count(*) FROM scoring_rows") == 50
    client = registry.client(cfg.tracking_uri)
    candidate = registry.version_for_alias(client, cfg.model_name, "candidate")
    versions = client.search_model_versions(f"name='{cfg.model_name}'")
    assert len(versions) == 5
    for version in versions:  # each tagged by the DAG run's attempt, with its window
        assert version.tags["split"] == "time" and version.tags["test_rows"] == "30"
        assert version.tags["training_key"] and version.tags["fit_through"]
    promote.promote(
        "Production", version=candidate, model_name=cfg.model_name, tracking_uri=cfg.tracking_uri
    )

    out = run_dags(env, "dag_inference", "dag_model_monitoring")
    assert "RESULT dag_inference success" in out
    assert "RESULT dag_model_monitoring success" in out
    made_by = "SELECT count(*) FROM predictions WHERE model_version = %s AND model_alias = %s"
    assert rows(cfg, made_by, (candidate, "Production")) == 50
    assert rows(cfg, "SELECT count(*) FROM predictions") == 50
    # candidate and Production (the same version), each on the day's 30 unseen rows
    assert rows(cfg, "SELECT count(*) FROM model_evaluations WHERE n_rows = 30") == 2
    assert rows(cfg, "SELECT count(*) FROM model_evaluations") == 2
    assert rows(cfg, "SELECT count(*) FROM feature_drift WHERE current_rows = 50") == 4
    experiment = client.get_experiment_by_name(cfg.monitoring_experiment)
    assert experiment is not None
    assert len(client.search_runs([experiment.experiment_id])) == 1


def rows(cfg, sql: str, params: tuple = ()) -> int:
    with psycopg.connect(cfg.app_db_url) as conn:
        return conn.execute(sql, params).fetchone()[0]
