"""Figures on rows the model has not seen: the time split, the monitoring window and
the check that drops repeated rows, on the project's own generated batches."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ml import data
from ml.evaluation import (
    MIN_TEST_ROWS,
    Batch,
    NotEnoughUnseenData,
    after_fit_window,
    time_split,
    unseen,
)

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def reference() -> Batch:
    x, y = data._iris()
    return Batch(data.REFERENCE_BATCH, T0, x, y)


def day(n: int, rows: int = 30) -> Batch:
    x, y = data._sample(data._rng(f"day-{n}"), rows, 0.0)
    return Batch(f"day-{n}", T0 + timedelta(days=n), x, y)


def knn():
    return make_pipeline(StandardScaler(), KNeighborsClassifier(n_neighbors=5))


def test_the_newest_batches_are_the_test_set_and_no_test_row_was_fit_on():
    batches = [reference(), *(day(n) for n in range(1, 21))]
    split = time_split(batches[::-1], data.REFERENCE_BATCH, seed=42)  # any order in
    assert split.kind == "time"
    assert split.test_batches == ("day-20",)
    assert len(split.y_test) == MIN_TEST_ROWS
    assert split.fit_batches[0] == data.REFERENCE_BATCH and "day-20" not in split.fit_batches
    assert split.fit_through == T0 + timedelta(days=19)
    assert len(split.y_fit) == 150 + 19 * 30
    assert unseen(split.x_test, split.y_test, split.x_fit)[2] == 0

    small = [reference(), *(day(n, rows=12) for n in range(1, 6))]
    split = time_split(small, data.REFERENCE_BATCH, seed=42)
    assert split.test_batches == ("day-3", "day-4", "day-5")  # at least 30 rows
    assert split.fit_through == T0 + timedelta(days=2)


def test_the_test_figure_estimates_the_figure_on_new_flowers():
    """The point of the split: what training reports is what new data will show.
    Over 20 trainings, k-NN's mean test accuracy is within 0.03 of its accuracy on 3,000
    fresh rows (each test set has 30 rows: one figure alone varies by about 0.04)."""
    fresh_x, fresh_y = data._sample(data._rng("fresh"), 3000, 0.0)
    reported, actual = [], []
    for last in range(5, 25):
        split = time_split(
            [reference(), *(day(n) for n in range(1, last + 1))], data.REFERENCE_BATCH, 42
        )
        model = knn().fit(split.x_fit, split.y_fit)
        reported.append(float(np.mean(model.predict(split.x_test) == split.y_test)))
        actual.append(float(np.mean(model.predict(fresh_x) == fresh_y)))
    gap = float(np.mean(reported) - np.mean(actual))
    print(f"k-NN: test accuracy {np.mean(reported):.3f}, on new flowers {np.mean(actual):.3f}")
    assert abs(gap) <= 0.03
    assert np.mean(reported) < 0.99  # new flowers: not the 1.00 of near-duplicates


def test_a_batch_that_repeats_rows_already_loaded_is_reported_or_refused():
    """The leaky setup: an export loaded a second time under a new batch id. A random
    split over all rows (what training did before) puts its copies on both sides and
    scores them; the time split drops every test row that was fit on and says so."""
    batches = [reference(), *(day(n) for n in range(1, 11))]
    old = np.vstack([b.features for b in batches[3:6]])
    old_y = np.concatenate([b.labels for b in batches[3:6]])
    repeat = Batch("day-11-reexport", T0 + timedelta(days=11), old, old_y)
    leaky = [*batches, repeat]

    x = np.vstack([b.features for b in leaky])
    y = np.concatenate([b.labels for b in leaky])
    x_fit, x_test, _, y_test = train_test_split(x, y, test_size=0.25, random_state=42, stratify=y)
    assert unseen(x_test, y_test, x_fit)[2] > 10  # the old split scored copies of fit rows

    with pytest.raises(NotEnoughUnseenData, match="90 test rows repeat fit rows"):
        time_split(leaky, data.REFERENCE_BATCH, 42)

    fresh = day(12)
    mixed = Batch(
        "day-12", fresh.ingested_at, np.vstack([fresh.features, old[:15]]),
        np.concatenate([fresh.labels, old_y[:15]]),
    )  # fmt: skip
    split = time_split([*batches, mixed], data.REFERENCE_BATCH, 42)
    assert split.test_rows_seen_in_fit == 15
    assert len(split.y_test) == 30
    assert unseen(split.x_test, split.y_test, split.x_fit)[2] == 0


def test_the_reference_alone_is_split_flower_by_flower():
    split = time_split([reference()], data.REFERENCE_BATCH, 42)
    assert split.kind == "reference-holdout"
    assert split.test_batches == (data.REFERENCE_BATCH,)
    # iris has a few identical rows: a copy of a fit flower is not a test flower
    assert len(split.y_test) + len(split.y_fit) + split.test_rows_seen_in_fit == 150
    assert unseen(split.x_test, split.y_test, split.x_fit)[2] == 0


def test_monitoring_uses_only_batches_after_the_fit_window():
    batches = [reference(), *(day(n) for n in range(1, 11))]
    through = T0 + timedelta(days=4)
    window = after_fit_window(batches, through, data.REFERENCE_BATCH, recent=5)
    assert window.batches == ("day-6", "day-7", "day-8", "day-9", "day-10")
    assert len(window.y) == 150 and window.rows_seen_in_fit == 0

    assert after_fit_window(batches, through, data.REFERENCE_BATCH, recent=20).batches[0] == (
        "day-5"
    )
    newest = after_fit_window(batches, T0 + timedelta(days=10), data.REFERENCE_BATCH, 5)
    assert newest.batches == () and len(newest.y) == 0  # no figure, not a figure on fit rows

    repeat = Batch("day-11", T0 + timedelta(days=11), batches[2].features, batches[2].labels)
    window = after_fit_window([*batches, repeat], through, data.REFERENCE_BATCH, recent=1)
    assert window.batches == ("day-11",)
    assert window.rows_seen_in_fit == 30 and len(window.y) == 0
