"""Monitoring: quality of every aliased version on labelled data it has not seen, and
input drift.

Each version is evaluated on the newest labelled batches ingested after its fit
window (its ``fit_through`` tag; for a version without one, its registration
time), never on rows it was fit on. A version with no such batch yet gets no
figure (``n_rows`` 0), not a figure on its training data.

An evaluation is keyed by what it stands on (the versions, their batches, the
scored batches); a rerun or retry with the same key writes nothing, and a retry
after a failed database write resumes the MLflow run of the failed try.

Without any scored row in the drift window, monitoring fails with the reason
(NothingScoredError) and writes nothing: no drift figure is not "no drift".

Figures go to an MLflow monitoring experiment (one run per evaluation) and to
app-db (``model_evaluations``, ``feature_drift``) where Grafana reads them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from ml import data, db, drift, evaluation, registry
from ml.config import Settings, settings
from ml.db import FEATURES
from ml.metrics import classification_metrics


class NothingScoredError(RuntimeError):
    """No scored rows in the drift window: drift cannot be measured, and monitoring
    says so (a failed task with the reason) instead of succeeding without drift rows."""


@dataclass(frozen=True)
class AliasEvaluation:
    alias: str
    version: int
    metrics: dict[str, float]  # empty when there is no unseen labelled row yet
    n_rows: int = 0
    data_batches: tuple[str, ...] = ()
    fit_through: datetime | None = None
    rows_seen_in_fit: int = 0


@dataclass(frozen=True)
class MonitoringResult:
    model_name: str
    data_batch: str
    evaluations: list[AliasEvaluation]
    drift: dict[str, float] = field(default_factory=dict)
    run_id: str = ""
    drift_details: dict[str, drift.FeatureDrift] = field(default_factory=dict)
    # False when this very evaluation (same versions, same data) was recorded before:
    # a rerun or retry writes nothing and points at the earlier MLflow run
    recorded: bool = True


def _recent_scored_inputs(url: str, recent_batches: int) -> tuple[np.ndarray, list[str]]:
    """Features of the rows scored in the most recent ``recent_batches`` batches, and
    those batches."""
    with db.connect(url) as conn:
        rows = conn.execute(
            """
            WITH recent AS (
                SELECT batch_id FROM predictions GROUP BY batch_id
                ORDER BY max(scored_at) DESC, batch_id DESC LIMIT %s
            )
            SELECT s.batch_id, s.sepal_length, s.sepal_width, s.petal_length, s.petal_width
            FROM scoring_rows s JOIN recent USING (batch_id)
            ORDER BY s.batch_id, s.row_num
            """,
            (recent_batches,),
        ).fetchall()
    features = np.asarray([r[1:] for r in rows], dtype=float).reshape(-1, len(FEATURES))
    return features, sorted({r[0] for r in rows})


def _evaluation_key(model_name: str, plans: list, scored_batches: list[str], rows: int) -> str:
    """What one evaluation stands on: the versions behind the aliases, the batches each is
    scored on, and the scored batches of the drift window. The same key, the same figures."""
    parts = {
        "model": model_name,
        "versions": [(a, v, list(u.batches), len(u.y)) for a, v, u in plans],
        "scored": scored_batches,
        "scored_rows": rows,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:32]


def _monitoring_run(client: Any, experiment_id: str, key: str, batch: str) -> Any:
    """The MLflow run of this evaluation: an earlier attempt's (a retry after the database
    write failed) resumed, else a new one, tagged with its key from the start."""
    import mlflow  # noqa: PLC0415

    earlier = registry.runs_tagged(client, experiment_id, "evaluation_key", key)
    if earlier:
        return mlflow.start_run(run_id=earlier[0].info.run_id)
    return mlflow.start_run(run_name=f"monitoring-{batch}", tags={"evaluation_key": key})


def _fit_through(version: Any) -> datetime:
    """The end of a version's fit window: its tag, else when it was registered (a
    version cannot have been fit on a batch ingested after that)."""
    tag = version.tags.get("fit_through")
    if tag:
        return datetime.fromisoformat(tag)
    return datetime.fromtimestamp(version.creation_timestamp / 1000, UTC)


def _write(
    cfg: Settings,
    key: str,
    run_id: str,
    evaluations: list[AliasEvaluation],
    details: dict[str, drift.FeatureDrift],
) -> bool:
    """The evaluation's key and its rows in one transaction, all or nothing; False when a
    concurrent run recorded the same evaluation first."""
    now = datetime.now(UTC)
    with db.connect(cfg.app_db_url) as conn:
        gate = conn.execute(
            "INSERT INTO monitoring_runs (evaluation_key, evaluated_at, mlflow_run_id)"
            " VALUES (%s, %s, %s) ON CONFLICT DO NOTHING RETURNING evaluation_key",
            (key, now, run_id),
        ).fetchone()
        if gate is None:
            return False
        for ev in evaluations:
            if not ev.metrics:
                continue  # no unseen labelled row yet: no figure rather than a wrong one
            conn.execute(
                "INSERT INTO model_evaluations (evaluated_at, model_name, model_version,"
                " model_alias, data_batch, n_rows, accuracy, f1_macro, log_loss,"
                " data_batches, fit_through)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    now,
                    cfg.model_name,
                    ev.version,
                    ev.alias,
                    ev.data_batches[-1],
                    ev.n_rows,
                    ev.metrics["accuracy"],
                    ev.metrics["f1_macro"],
                    ev.metrics.get("log_loss"),
                    list(ev.data_batches),
                    ev.fit_through,
                ),
            )
        for feature, d in details.items():
            conn.execute(
                "INSERT INTO feature_drift (evaluated_at, feature, psi, reference_rows,"
                " current_rows, threshold, drifted) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (now, feature, d.psi, d.reference_rows, d.current_rows, d.threshold, d.drifted),
            )
    return True


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
    batches = data.read_labelled_batches(cfg.app_db_url)
    daily = [b.batch_id for b in batches if b.batch_id != data.REFERENCE_BATCH]
    batch = daily[-1] if daily else data.REFERENCE_BATCH

    windows = {}
    for version in sorted(set(aliased.values())):
        fit_through = _fit_through(client.get_model_version(cfg.model_name, str(version)))
        windows[version] = (
            fit_through,
            evaluation.after_fit_window(batches, fit_through, data.REFERENCE_BATCH, recent_batches),
        )
    current, scored_batches = _recent_scored_inputs(cfg.app_db_url, recent_batches)
    if len(current) == 0:
        raise NothingScoredError(
            f"no scored rows for {cfg.model_name} yet: drift compares the inputs batch"
            " inference scored with the reference; run dag_inference first (nothing was"
            " written)"
        )
    plans = [(alias, v, windows[v][1]) for alias, v in sorted(aliased.items())]
    key = _evaluation_key(cfg.model_name, plans, scored_batches, len(current))

    figures: dict[int, dict[str, float]] = {}
    for version, (_, unseen) in windows.items():
        figures[version] = {}
        if len(unseen.y) >= evaluation.MIN_EVALUATION_ROWS:
            model = registry.load_sklearn(cfg.tracking_uri, cfg.model_name, version)
            figures[version] = classification_metrics(model, unseen.x, unseen.y)
    evaluations = [
        AliasEvaluation(
            alias,
            version,
            figures[version],
            len(unseen.y) if figures[version] else 0,
            unseen.batches,
            windows[version][0],
            unseen.rows_seen_in_fit,
        )
        for alias, version, unseen in plans
    ]

    # the generator's no-drift inputs: the resolution and noise of the scored rows
    reference = data.drift_reference()
    details = drift.drift_per_feature(reference, current, FEATURES)
    psi = {name: d.psi for name, d in details.items()}

    with db.connect(cfg.app_db_url) as conn:
        done = conn.execute(
            "SELECT mlflow_run_id FROM monitoring_runs WHERE evaluation_key = %s", (key,)
        ).fetchone()
    if done is not None:  # a rerun on the same versions and data: nothing is written twice
        return MonitoringResult(
            cfg.model_name, batch, evaluations, psi, done[0], details, recorded=False
        )

    mlflow.set_tracking_uri(cfg.tracking_uri)
    experiment = mlflow.set_experiment(cfg.monitoring_experiment)
    with _monitoring_run(client, experiment.experiment_id, key, batch) as run:
        mlflow.set_tags({"model_name": cfg.model_name, "data_batch": batch})
        for ev in evaluations:
            mlflow.set_tag(f"version.{ev.alias}", str(ev.version))
            mlflow.set_tag(f"data_batches.{ev.alias}", ",".join(ev.data_batches)[:1000])
            mlflow.log_metrics({f"{ev.alias}.{k}": v for k, v in ev.metrics.items()})
            mlflow.log_metric(f"{ev.alias}.rows", ev.n_rows)
        mlflow.log_metrics({f"psi.{k}": v for k, v in psi.items()})
        mlflow.log_metrics({f"psi_threshold.{k}": d.threshold for k, d in details.items()})
        mlflow.log_metric("drifted_features", sum(d.drifted for d in details.values()))
        mlflow.log_metric("current_rows", len(current))

    recorded = _write(cfg, key, run.info.run_id, evaluations, details)
    return MonitoringResult(
        cfg.model_name, batch, evaluations, psi, run.info.run_id, details, recorded=recorded
    )
