"""Load iris into app-db: the labelled reference set, then one day's batch of
labelled rows and unlabelled rows to score. Reruns change nothing."""

from __future__ import annotations

from airflow.sdk import dag, task

from dags.common import DEFAULT_ARGS, START, batch_id


@dag(
    dag_id="dag_data_predictions",
    schedule="0 1 * * *",
    start_date=START,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["mlops", "data"],
    doc_md=__doc__,
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
