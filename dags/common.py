"""Shared DAG settings: retries with exponential back-off, no catch-up.

Kept free of heavy imports: the dag-processor parses these files often.
"""

from __future__ import annotations

from datetime import datetime, timedelta

START = datetime(2026, 1, 1)

DEFAULT_ARGS = {
    "owner": "mlops",
    "retries": 3,
    "retry_delay": timedelta(seconds=30),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=10),
}


# Arguments every DAG of the platform shares: no catch-up, one run at a time.
DAG_DEFAULTS = {
    "start_date": START,
    "catchup": False,
    "max_active_runs": 1,
    "default_args": DEFAULT_ARGS,
}


def batch_id() -> str:
    """The data batch of this run: its logical date (or, for manual runs, when it ran)."""
    from airflow.sdk import get_current_context  # noqa: PLC0415

    context = get_current_context()
    when = context.get("logical_date") or context["dag_run"].run_after
    return when.strftime("%Y-%m-%d")


def run_id() -> str:
    """This DAG run's id: the same for every try of its tasks."""
    from airflow.sdk import get_current_context  # noqa: PLC0415

    return str(get_current_context()["run_id"])
