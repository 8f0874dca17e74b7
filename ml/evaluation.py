"""Which labelled rows a model is fit on, tested on and monitored on.

Figures are only worth something on rows the model has not seen, so the split is
by time, batch by batch:

- training fits on every labelled batch but the newest ones and tests on those
  newest batches (at least ``MIN_TEST_ROWS`` rows); the reference set is always
  fit on. With no daily batch yet, the reference set's own distinct flowers are
  split at random (stratified), each flower on one side only;
- the version records the end of its fit window (``fit_through``, the newest
  ingestion time it was fit on); monitoring evaluates it only on labelled batches
  ingested after that;
- a test or monitoring row equal to a row the model was fit on (the same export
  loaded twice under another batch id, say) is dropped and counted, never scored.
  Fewer than ``MIN_EVALUATION_ROWS`` unseen rows is an error for training and
  "no figure yet" for monitoring.

Every figure goes out with the number of rows it stands on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sklearn.model_selection import train_test_split

MIN_TEST_ROWS = 30
MIN_EVALUATION_ROWS = 10
REFERENCE_TEST_SIZE = 0.25
# labelled features are stored with 3 decimals: rows equal at that precision are one row
_DECIMALS = 3


@dataclass(frozen=True)
class Batch:
    batch_id: str
    ingested_at: datetime
    features: np.ndarray
    labels: np.ndarray


@dataclass(frozen=True)
class Split:
    kind: str  # "time" or "reference-holdout"
    x_fit: np.ndarray
    y_fit: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    fit_batches: tuple[str, ...]
    test_batches: tuple[str, ...]
    fit_through: datetime
    test_rows_seen_in_fit: int


class NotEnoughUnseenData(ValueError):
    """Too few labelled rows the model has not seen to give an honest figure."""


def _keys(x: np.ndarray) -> list[bytes]:
    rounded = np.round(np.asarray(x, dtype=float), _DECIMALS) + 0.0  # -0.0 == 0.0
    return [row.tobytes() for row in rounded]


def unseen(x: np.ndarray, y: np.ndarray, x_seen: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """The rows of ``x``/``y`` that are not rows of ``x_seen``, and how many were dropped."""
    seen = set(_keys(x_seen))
    keep = np.array([k not in seen for k in _keys(x)], dtype=bool)
    return x[keep], y[keep], int((~keep).sum())


def _stack(batches: Sequence[Batch]) -> tuple[np.ndarray, np.ndarray]:
    if not batches:
        return np.empty((0, 0)), np.empty(0, dtype=int)
    return (
        np.vstack([b.features for b in batches]),
        np.concatenate([b.labels for b in batches]).astype(int),
    )


def time_split(batches: Sequence[Batch], reference_batch: str, seed: int) -> Split:
    """Fit on the older batches, test on the newest (see the module docstring)."""
    ordered = sorted(batches, key=lambda b: (b.ingested_at, b.batch_id))
    daily = [b for b in ordered if b.batch_id != reference_batch]
    test: list[Batch] = []
    for batch in reversed(daily):
        if sum(len(b.labels) for b in test) >= MIN_TEST_ROWS:
            break
        test.insert(0, batch)
    test_ids = {b.batch_id for b in test}
    fit = [b for b in ordered if b.batch_id not in test_ids]
    if test and fit:
        x_fit, y_fit = _stack(fit)
        x_test, y_test = _stack(test)
        kind = "time"
    else:
        # no older batch to fit on (the reference set alone, most often): that batch's
        # distinct flowers, split at random, each on one side only
        test, fit = [], list(ordered)
        x_all, y_all = _stack(fit)
        x_fit, x_test, y_fit, y_test = train_test_split(
            x_all, y_all, test_size=REFERENCE_TEST_SIZE, random_state=seed, stratify=y_all
        )
        kind = "reference-holdout"
    x_test, y_test, dropped = unseen(x_test, y_test, x_fit)
    if len(y_test) < MIN_EVALUATION_ROWS:
        raise NotEnoughUnseenData(
            f"only {len(y_test)} test rows the models are not fit on "
            f"({dropped} test rows repeat fit rows): load at least one more labelled batch "
            f"of new rows ({MIN_TEST_ROWS} rows or more) before training"
        )
    return Split(
        kind=kind,
        x_fit=x_fit,
        y_fit=y_fit,
        x_test=x_test,
        y_test=y_test,
        fit_batches=tuple(b.batch_id for b in fit),
        test_batches=tuple(b.batch_id for b in (test if kind == "time" else fit)),
        fit_through=max(b.ingested_at for b in fit),
        test_rows_seen_in_fit=dropped,
    )


@dataclass(frozen=True)
class EvaluationData:
    x: np.ndarray
    y: np.ndarray
    batches: tuple[str, ...]
    rows_seen_in_fit: int


def after_fit_window(
    batches: Sequence[Batch], fit_through: datetime, reference_batch: str, recent: int
) -> EvaluationData:
    """The newest ``recent`` labelled batches ingested after ``fit_through``, without the
    rows equal to a row of a batch the model could have been fit on."""
    ordered = sorted(batches, key=lambda b: (b.ingested_at, b.batch_id))
    seen = [b for b in ordered if b.ingested_at <= fit_through]
    later = [b for b in ordered if b.ingested_at > fit_through and b.batch_id != reference_batch]
    chosen = later[-recent:] if recent > 0 else []
    x, y = _stack(chosen)
    dropped = 0
    if chosen and seen:
        x, y, dropped = unseen(x, y, _stack(seen)[0])
    return EvaluationData(x, y, tuple(b.batch_id for b in chosen), dropped)
