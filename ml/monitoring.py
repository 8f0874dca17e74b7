"""Monitoring: quality of every aliased version on fresh labelled data, and input drift.

Figures go to an MLflow monitoring experiment (one run per evaluation) and to
app-db (``model_evaluations``, ``feature_drift``) where Grafana reads them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from ml import data, db, drift, registry
from ml.config import Settings, settings
from ml.db import FEATURES
from ml.metrics import classification_metrics


@dataclass(frozen=True)
class AliasEvaluation:
    alias: str
    version: int
    metrics: dict[str, float]


@dataclass(frozen=True)
class MonitoringResult:
    model_name: str
    data_batch: str
    evaluations: list[AliasEvaluation]
    drift: dict[str, float] = field(default_factory=dict)
    run_id: str = ""
    drift_details: dict[str, drift.FeatureDrift] = field(default_factory=dict)


def _recent_scored_inputs(url: str, recent_batches: int) -> np.ndarray:
    """Features of the rows scored in the most recent ``recent_batches`` batches."""
    with db.connect(url) as conn:
        rows = conn.execute(
            """
            WITH recent AS (
                SELECT batch_id FROM predictions GROUP BY batch_id
                ORDER BY max(scored_at) DESC, batch_id DESC LIMIT %s
            )
            SELECT s.sepal_length, s.sepal_width, s.petal_length, s.petal_width
            FROM scoring_rows s JOIN recent USING (batch_id)
            """,
            (recent_batches,),
        ).fetchall()
    return np.asarray(rows, dtype=float).reshape(-1, len(FEATURES))


def evaluate_models(cfg: Settings | None = None, recent_batches: int = 5) -> MonitoringResult:
    import mlflow  # noqa: PLC0415

    cfg = cfg or settings()
    db.migrate(cfg.app_db_url)  # the drift columns of a platform upgraded in place
    client = registry.client(cfg.tracking_uri)
    aliased = registry.aliases(client, cfg.model_name)
    if not aliased:
        raise registry.AliasNotSetError(
            f"registered model '{cfg.model_name}' has no aliases yet: run training first"
        )
    batch = data.latest_labelled_batch(cfg.app_db_url) or data.REFERENCE_BATCH
    x, y = data.read_labelled(cfg.app_db_url, [batch])

    models = {
        v: registry.load_sklearn(cfg.tracking_uri, cfg.model_name, v) for v in set(aliased.values())
    }
    evaluations = [
        AliasEvaluation(alias, version, classification_metrics(models[version], x, y))
        for alias, version in sorted(aliased.items())
    ]

    # the generator's no-drift inputs: the resolution and noise of the scored rows
    reference = data.drift_reference()
    current = _recent_scored_inputs(cfg.app_db_url, recent_batches)
    details = drift.drift_per_feature(reference, current, FEATURES) if len(current) else {}
    psi = {name: d.psi for name, d in details.items()}

    mlflow.set_tracking_uri(cfg.tracking_uri)
    mlflow.set_experiment(cfg.monitoring_experiment)
    with mlflow.start_run(run_name=f"monitoring-{batch}") as run:
        mlflow.set_tags({"model_name": cfg.model_name, "data_batch": batch})
        for ev in evaluations:
            mlflow.set_tag(f"version.{ev.alias}", str(ev.version))
            mlflow.log_metrics({f"{ev.alias}.{k}": v for k, v in ev.metrics.items()})
        mlflow.log_metrics({f"psi.{k}": v for k, v in psi.items()})
        mlflow.log_metrics({f"psi_threshold.{k}": d.threshold for k, d in details.items()})
        mlflow.log_metric("drifted_features", sum(d.drifted for d in details.values()))
        mlflow.log_metric("current_rows", len(current))

    now = datetime.now(UTC)
    with db.connect(cfg.app_db_url) as conn:
        for ev in evaluations:
            conn.execute(
                "INSERT INTO model_evaluations (evaluated_at, model_name, model_version,"
                " model_alias, data_batch, n_rows, accuracy, f1_macro, log_loss)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    now,
                    cfg.model_name,
                    ev.version,
                    ev.alias,
                    batch,
                    len(y),
                    ev.metrics["accuracy"],
                    ev.metrics["f1_macro"],
                    ev.metrics.get("log_loss"),
                ),
            )
        for feature, d in details.items():
            conn.execute(
                "INSERT INTO feature_drift (evaluated_at, feature, psi, reference_rows,"
                " current_rows, threshold, drifted) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (now, feature, d.psi, d.reference_rows, d.current_rows, d.threshold, d.drifted),
            )
    return MonitoringResult(cfg.model_name, batch, evaluations, psi, run.info.run_id, details)
