"""Train the baseline model families on app-db data, register every model in
MLflow and point alias `candidate` at the best. Never touches `Production`."""

from __future__ import annotations

from airflow.sdk import dag, task

from dags.common import DAG_DEFAULTS, run_id


@dag(
    dag_id="dag_training",
    schedule="0 3 * * 0",
    tags=["mlops", "training"],
    doc_md=__doc__,
    **DAG_DEFAULTS,
)
def dag_training() -> None:
    @task
    def train_candidate() -> dict:
        from ml.training import train_candidate as train  # noqa: PLC0415

        result = train(attempt=run_id())  # a retry keeps what the failed try registered
        return {
            "model_name": result.model_name,
            "candidate_version": result.best.version,
            "candidate_family": result.best.family,
            "versions": {v.family: v.version for v in result.versions},
        }

    train_candidate()


dag_training()
