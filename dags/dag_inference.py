"""Score every unscored batch with the model behind the serving alias
(default `Production`); predictions record the model version that made them."""

from __future__ import annotations

from airflow.sdk import dag, task

from dags.common import DAG_DEFAULTS


@dag(
    dag_id="dag_inference",
    schedule="30 1 * * *",
    tags=["mlops", "inference"],
    doc_md=__doc__,
    **DAG_DEFAULTS,
)
def dag_inference() -> None:
    @task
    def run_inference() -> dict:
        from airflow.sdk.exceptions import AirflowFailException  # noqa: PLC0415

        from ml.inference import run_inference as score  # noqa: PLC0415
        from ml.registry import AliasNotSetError  # noqa: PLC0415

        try:
            result = score()
        except AliasNotSetError as exc:  # retrying cannot help until a person promotes
            raise AirflowFailException(str(exc)) from exc
        return {
            "model_version": result.model_version,
            "alias": result.model_alias,
            "batches": result.batches,
            "rows": result.rows,
        }

    run_inference()


dag_inference()
