"""Drift that stays quiet when nothing drifts and speaks when one feature moves.

The windows are drawn from the project's own generator (ml.data), as the platform
scores them: five batches of 50 rows against ml.data.drift_reference().
"""

import numpy as np
import pytest

from ml import data
from ml.drift import FALSE_ALARM_RATE, drift_per_feature, psi, psi_per_feature, psi_threshold

WINDOW_BATCHES, BATCH_ROWS = 5, 50  # ml.monitoring's recent_batches, ml.data.load_batch's n_scoring
REFERENCE = data.drift_reference()


def window(name: str, shift: float | np.ndarray) -> np.ndarray:
    return np.vstack(
        [
            data._sample(data._rng(f"{name}-{b}"), BATCH_ROWS, shift)[0]
            for b in range(WINDOW_BATCHES)
        ]
    )


def flags(windows: int, shift: float | np.ndarray, name: str) -> np.ndarray:
    """One row per window: which features were flagged."""
    out = []
    for w in range(windows):
        found = drift_per_feature(REFERENCE, window(f"{name}{w}", shift), data.FEATURES)
        out.append([found[f].drifted for f in data.FEATURES])
    return np.array(out)


def test_no_shift_flags_at_most_five_percent_of_windows():
    flagged = flags(300, 0.0, "calm")
    share = flagged.any(axis=1).mean()
    print(f"no drift: {share:.3f} of 300 windows of {WINDOW_BATCHES * BATCH_ROWS} rows flagged")
    assert share <= 0.05


@pytest.mark.parametrize("feature", range(len(data.FEATURES)))
def test_half_a_standard_deviation_on_one_feature_flags_it_and_only_it(feature):
    shift = np.zeros(len(data.FEATURES))
    shift[feature] = 0.5
    flagged = flags(60, shift, f"shift{feature}-")
    assert flagged[:, feature].mean() >= 0.95
    others = np.delete(flagged, feature, axis=1)
    assert others.any(axis=1).mean() <= 0.05


def test_raw_iris_is_not_a_comparable_reference():
    """Why the reference is drawn from the generator: iris in 0.1 cm steps against
    continuous inputs looks like drift even at the calibrated threshold."""
    raw, _ = data._iris()
    share = np.mean(
        [
            any(
                d.drifted
                for d in drift_per_feature(raw, window(f"raw{w}", 0.0), data.FEATURES).values()
            )
            for w in range(50)
        ]
    )
    assert share > 0.05, (
        "raw iris stopped looking like drift: the reference choice can be revisited"
    )


def test_every_figure_says_how_many_rows_it_stands_on():
    found = drift_per_feature(REFERENCE, window("rows", 0.0), data.FEATURES)
    for d in found.values():
        assert (d.reference_rows, d.current_rows) == (len(REFERENCE), WINDOW_BATCHES * BATCH_ROWS)
        assert d.threshold == pytest.approx(
            psi_threshold(len(REFERENCE), 250, 10, FALSE_ALARM_RATE / len(data.FEATURES))
        )


def test_the_threshold_follows_the_row_counts():
    assert psi_threshold(3000, 50) > psi_threshold(3000, 250) > psi_threshold(3000, 5000)


def test_small_windows_with_empty_bins_by_chance_are_not_drift():
    """20 rows in 10 bins leave bins empty by chance; that alone must not flag a window
    (clipping shares to 1e-4 made each empty bin add about 0.69)."""
    flagged, with_empty_bin = 0, 0
    for w in range(300):
        current = data._sample(data._rng(f"small{w}"), 20, 0.0)[0]
        edges = np.quantile(REFERENCE[:, 0], np.linspace(0, 1, 11))
        with_empty_bin += bool((np.histogram(current[:, 0], edges)[0] == 0).any())
        found = drift_per_feature(REFERENCE, current, data.FEATURES)
        flagged += any(d.drifted for d in found.values())
    assert with_empty_bin > 100, "the windows are too large to test empty bins"
    assert flagged / 300 <= 0.05


def test_same_distribution_is_stable():
    rng = np.random.default_rng(0)
    assert psi(rng.normal(size=5000), rng.normal(size=5000)) < 0.02


def test_constant_reference_does_not_crash():
    assert psi(np.ones(10), np.ones(10)) == pytest.approx(0.0)
    assert psi(np.ones(10), np.full(10, 2.0)) > psi_threshold(10, 10, 3)


def test_empty_input_is_an_error():
    with pytest.raises(ValueError, match="at least one"):
        psi(np.array([]), np.ones(3))


def test_per_feature_checks_widths():
    with pytest.raises(ValueError, match="same number"):
        psi_per_feature(np.ones((3, 2)), np.ones((3, 3)), ("a", "b"))
