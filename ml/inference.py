"""Batch inference: score every unscored batch with the model behind an alias.

Each batch is scored in one transaction (all rows or none), at most once: the
batch row is locked and re-checked, so two concurrent runs cannot double-score.
Predictions carry the model name, version and alias that made them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import psycopg

from ml import db, registry
from ml.config import Settings, settings
from ml.data import LABEL_NAMES
from ml.db import FEATURES

_UNSCORED = """
    SELECT b.batch_id FROM scoring_batches b
    WHERE NOT EXISTS (SELECT 1 FROM predictions p WHERE p.batch_id = b.batch_id)
    ORDER BY b.ingested_at, b.batch_id
"""


@dataclass(frozen=True)
class InferenceResult:
    model_name: str
    model_version: int
    model_alias: str
    batches: list[str]
    rows: int


def run_inference(alias: str | None = None, cfg: Settings | None = None) -> InferenceResult:
    cfg = cfg or settings()
    alias = alias or cfg.serving_alias
    client = registry.client(cfg.tracking_uri)
    # resolve before touching app-db: no alias means nothing is written
    version = registry.version_for_alias(client, cfg.model_name, alias)
    db.migrate(cfg.app_db_url)
    with db.connect(cfg.app_db_url) as conn:
        pending = [r[0] for r in conn.execute(_UNSCORED).fetchall()]
    if not pending:
        return InferenceResult(cfg.model_name, version, alias, [], 0)

    model = registry.load_sklearn(cfg.tracking_uri, cfg.model_name, version)
    scored: list[str] = []
    total = 0
    with db.connect(cfg.app_db_url) as conn:
        for batch_id in pending:
            with conn.transaction():
                conn.execute(
                    "SELECT 1 FROM scoring_batches WHERE batch_id = %s FOR UPDATE", (batch_id,)
                )
                done = conn.execute(
                    "SELECT 1 FROM predictions WHERE batch_id = %s LIMIT 1", (batch_id,)
                ).fetchone()
                if done:
                    continue
                rows = conn.execute(
                    "SELECT row_num, sepal_length, sepal_width, petal_length, petal_width"
                    " FROM scoring_rows WHERE batch_id = %s ORDER BY row_num",
                    (batch_id,),
                ).fetchall()
                if not rows:
                    continue
                total += _score_batch(conn, model, batch_id, rows, cfg.model_name, version, alias)
                scored.append(batch_id)
    return InferenceResult(cfg.model_name, version, alias, scored, total)


def _score_batch(  # noqa: PLR0917 - one private call site, named at the call
    conn: psycopg.Connection,
    model: object,
    batch_id: str,
    rows: list[tuple],
    model_name: str,
    version: int,
    alias: str,
) -> int:
    table = np.asarray(rows, dtype=float).reshape(-1, len(FEATURES) + 1)
    features = table[:, 1:]
    classes = model.predict(features).astype(int)  # type: ignore[attr-defined]
    proba = model.predict_proba(features)  # type: ignore[attr-defined]
    now = datetime.now(UTC)
    with (
        conn.cursor() as cur,
        cur.copy(
            "COPY predictions (batch_id, row_num, predicted_class, predicted_label, probabilities,"
            " model_name, model_version, model_alias, scored_at) FROM STDIN"
        ) as out,
    ):
        for row_num, cls, p in zip(
            table[:, 0].astype(int).tolist(), classes.tolist(), proba.tolist(), strict=True
        ):
            out.write_row(
                (batch_id, row_num, cls, LABEL_NAMES[cls], p, model_name, version, alias, now)
            )
    return len(rows)
