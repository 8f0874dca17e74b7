"""Evaluate every aliased model version on the newest labelled batches ingested after
its fit window (never on rows it was fit on; no figure until there are some) and
compute input drift (PSI per feature); figures go to MLflow and app-db."""

from __future__ import annotations

from airflow.sdk import dag, task

from dags.common import DAG_DEFAULTS


@dag(
    dag_id="dag_model_monitoring",
    schedule="0 2 * * *",
    tags=["mlops", "monitoring"],
    doc_md=__doc__,
    **DAG_DEFAULTS,
)
def dag_model_monitoring() -> None:
    @task
    def evaluate_models() -> dict:
        from ml.training import evaluate_models as evaluate  # noqa: PLC0415

        result = evaluate()
        return {
            "data_batch": result.data_batch,
            "evaluations": {
                e.alias: {
                    "version": e.version,
                    "rows": e.n_rows,
                    "data_batches": list(e.data_batches),
                    **e.metrics,
                }
                for e in result.evaluations
            },
            "psi": result.drift,
        }

    evaluate_models()


dag_model_monitoring()
