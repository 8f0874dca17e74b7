"""Load iris (shipped with scikit-learn, no download) into app-db.

- ``load_reference()`` puts all 150 labelled iris rows in batch ``iris-base``:
  the data the first models train on.
- ``load_batch(batch_id)`` simulates one day of new data: a labelled batch (for
  training and monitoring) and an unlabelled scoring batch of *new* flowers, drawn
  from each species' distribution fitted to iris (a log-normal per species), seeded
  by the batch id so that a rerun produces the same rows. ``shift`` moves the
  features to simulate input drift.

New flowers, not noisy copies of the 150 iris rows: a copy of a training flower in
a later batch would put near-duplicates of training rows in every test set.

Loading a batch that already exists changes nothing (the batch header gates it).
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass

import numpy as np
import psycopg
from psycopg import sql
from sklearn.datasets import load_iris

from ml import db
from ml.db import FEATURES
from ml.evaluation import Batch

REFERENCE_BATCH = "iris-base"
LABEL_NAMES: tuple[str, ...] = tuple(str(n) for n in load_iris().target_names)


@dataclass(frozen=True)
class LoadResult:
    batch_id: str
    labelled_rows: int
    scoring_rows: int


@functools.cache
def _iris_arrays() -> tuple[np.ndarray, np.ndarray]:
    iris = load_iris()
    return np.asarray(iris.data, dtype=float), np.asarray(iris.target, dtype=int)


def _iris() -> tuple[np.ndarray, np.ndarray]:
    x, y = _iris_arrays()
    return x.copy(), y.copy()


def _rng(batch_id: str) -> np.random.Generator:
    seed = int.from_bytes(hashlib.sha256(batch_id.encode()).digest()[:8], "big")
    return np.random.default_rng(seed)


@functools.cache
def _species_distributions() -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """Mean and covariance of the log features of each iris species."""
    x, y = _iris_arrays()
    logs = np.log(x)
    return tuple(
        (logs[y == c].mean(axis=0), np.cov(logs[y == c], rowvar=False))
        for c in range(len(LABEL_NAMES))
    )


def _sample(
    rng: np.random.Generator, n: int, shift: float | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` new flowers of random species; ``shift`` in standard deviations of iris
    (one per feature or one for all), added to the features to simulate drift."""
    x, _ = _iris_arrays()
    labels = rng.integers(0, len(LABEL_NAMES), size=n)
    logs = np.empty((n, x.shape[1]))
    for species, (mean, cov) in enumerate(_species_distributions()):
        rows = labels == species
        logs[rows] = rng.multivariate_normal(mean, cov, size=int(rows.sum()), method="cholesky")
    features = np.round(np.clip(np.exp(logs) + shift * x.std(axis=0), 0.05, None), 3)
    return features, labels


DRIFT_REFERENCE_ROWS = 3000


def drift_reference(n: int = DRIFT_REFERENCE_ROWS) -> np.ndarray:
    """Inputs with no drift, at the resolution and noise of the scored batches.

    The generator of the daily batches with no shift, seeded by a fixed name: the
    same rows on every run. Raw iris (``iris-base``) is not comparable: it is
    measured in 0.1 cm steps, which alone makes PSI report drift.
    """
    features, _ = _sample(_rng("drift-reference"), n, 0.0)
    return features


def _insert_batch(
    conn: psycopg.Connection,
    kind: str,
    batch_id: str,
    features: np.ndarray,
    labels: np.ndarray | None,
) -> int:
    """Insert one batch unless its header exists; return rows written."""
    header = sql.Identifier(f"{kind}_batches")
    rows = sql.Identifier(f"{kind}_rows")
    created = conn.execute(
        sql.SQL(
            "INSERT INTO {} (batch_id, n_rows) VALUES (%s, %s) "
            "ON CONFLICT (batch_id) DO NOTHING RETURNING batch_id"
        ).format(header),
        (batch_id, len(features)),
    ).fetchone()
    if created is None:
        return 0
    columns = ["batch_id", "row_num", *FEATURES] + (["label"] if labels is not None else [])
    copy = sql.SQL("COPY {} ({}) FROM STDIN").format(
        rows, sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    with conn.cursor() as cur, cur.copy(copy) as out:
        for i, feats in enumerate(features.tolist()):
            record = [batch_id, i, *feats]
            if labels is not None:
                record.append(int(labels[i]))
            out.write_row(record)
    return len(features)


def load_reference(url: str) -> LoadResult:
    """Load the full labelled iris data set as batch ``iris-base``."""
    db.migrate(url)
    x, y = _iris()
    with db.connect(url) as conn:
        n = _insert_batch(conn, "labelled", REFERENCE_BATCH, x, y)
    return LoadResult(REFERENCE_BATCH, n, 0)


def load_batch(
    url: str, batch_id: str, n_labelled: int = 30, n_scoring: int = 50, shift: float = 0.0
) -> LoadResult:
    """Load one day's labelled and scoring batch; a rerun with the same id is a no-op."""
    if not batch_id or len(batch_id) > 200:
        raise ValueError("batch_id must be a non-empty string of at most 200 characters")
    if n_labelled < 0 or n_scoring < 0:
        raise ValueError("row counts must not be negative")
    db.migrate(url)
    rng = _rng(batch_id)
    lx, ly = _sample(rng, n_labelled, shift)
    sx, _ = _sample(rng, n_scoring, shift)
    with db.connect(url) as conn:
        labelled = _insert_batch(conn, "labelled", batch_id, lx, ly) if n_labelled else 0
        scoring = _insert_batch(conn, "scoring", batch_id, sx, None) if n_scoring else 0
    return LoadResult(batch_id, labelled, scoring)


def read_labelled_batches(url: str) -> list[Batch]:
    """Every labelled batch with its rows, oldest ingestion first."""
    with db.connect(url) as conn:
        headers = conn.execute(
            "SELECT batch_id, ingested_at FROM labelled_batches ORDER BY ingested_at, batch_id"
        ).fetchall()
        rows = conn.execute(
            "SELECT batch_id, sepal_length, sepal_width, petal_length, petal_width, label"
            " FROM labelled_rows ORDER BY batch_id, row_num"
        ).fetchall()
    by_batch: dict[str, list[tuple]] = {}
    for batch_id, *values in rows:
        by_batch.setdefault(batch_id, []).append(values)
    batches = []
    for batch_id, ingested_at in headers:
        values = np.asarray(by_batch.get(batch_id, []), dtype=float).reshape(-1, len(FEATURES) + 1)
        batches.append(
            Batch(batch_id, ingested_at, values[:, : len(FEATURES)], values[:, -1].astype(int))
        )
    return batches
