"""Load iris into app-db: the labelled reference set, then one day's batch of
labelled rows and unlabelled rows to score. Reruns change nothing."""

from __future__ import annotations

from airflow.sdk import dag, task

from dags.common import DAG_DEFAULTS, batch_id


@dag(
    dag_id="dag_data_predictions",
    schedule="0 1 * * *",
    tags=["mlops", "data"],
    doc_md=__doc__,
    **DAG_DEFAULTS,
)
def dag_data_predictions() -> None:
    @task
    def load_reference() -> dict:
        from ml import data  # noqa: PLC0415
        from ml.config import settings  # noqa: PLC0415

        result = data.load_reference(settings().app_db_url)
        return {"batch_id": result.batch_id, "labelled_rows": result.labelled_rows}

    @task
    def load_daily_batch() -> dict:
        from ml import data  # noqa: PLC0415
        from ml.config import settings  # noqa: PLC0415

        result = data.load_batch(settings().app_db_url, batch_id())
        return {
            "batch_id": result.batch_id,
            "labelled_rows": result.labelled_rows,
            "scoring_rows": result.scoring_rows,
        }

    load_reference() >> load_daily_batch()


dag_data_predictions()
