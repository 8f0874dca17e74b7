"""Run inside the Airflow venv: parse the DAG folder like the dag-processor does,
fail on any import error, then run the named DAGs with ``dag.test()``.

    python tests/airflow_dag_runner.py DAGS_FOLDER dag_id [dag_id ...]
"""

from __future__ import annotations

import sys

EXPECTED = {"dag_data_predictions", "dag_training", "dag_inference", "dag_model_monitoring"}


def main() -> int:
    from airflow.dag_processing.dagbag import DagBag  # noqa: PLC0415 - Airflow venv only

    folder, dag_ids = sys.argv[1], sys.argv[2:]
    bag = DagBag(dag_folder=folder)
    if bag.import_errors:
        for path, error in bag.import_errors.items():
            print(f"IMPORT ERROR {path}: {error}")
        return 1
    if set(bag.dag_ids) != EXPECTED:
        print(f"DAGS FOUND {sorted(bag.dag_ids)}, expected {sorted(EXPECTED)}")
        return 1
    print("PARSED", sorted(bag.dag_ids))
    for dag_id in dag_ids:
        run = bag.get_dag(dag_id).test()
        print("RESULT", dag_id, run.state)
        if str(run.state) != "success":
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
