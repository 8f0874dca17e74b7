"""Input drift: population stability index (PSI) per feature, with a threshold that
depends on how many rows stand behind it.

PSI compares the shares of the current inputs in the reference's quantile bins.
Two things keep it honest:
- **Comparable data.** The reference must have the resolution and noise of the
  inputs it is compared with (ml.data.drift_reference draws it from the same
  generator as the scored batches; raw iris, measured in 0.1 cm steps, is not).
- **Shares that cannot be empty.** Each bin's count gets half a row before the
  shares are taken, and the shares are renormalised, so an empty bin adds a few
  hundredths, not the 0.69 that clipping to 1e-4 added.

The threshold: for two samples of one distribution, ``PSI / (1/n + 1/m)`` follows
a chi-square law with ``bins - 1`` degrees of freedom (PSI is the symmetric
Kullback-Leibler divergence of the two histograms, whose scaled value is
asymptotically chi-square). A feature is flagged when its PSI exceeds that law's
``1 - alpha / features`` quantile: with nothing drifting, a window (all features)
is flagged with probability about ``alpha``. A fixed cut such as 0.1 or 0.25
ignores the row counts: with 250 rows and 10 bins, no drift at all already gives
a PSI of 0.04 on average.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import chi2

BINS = 10
# share of windows flagged with nothing drifting (all features together)
FALSE_ALARM_RATE = 0.01
_PSEUDO_COUNT = 0.5


@dataclass(frozen=True)
class FeatureDrift:
    psi: float
    threshold: float
    reference_rows: int
    current_rows: int

    @property
    def drifted(self) -> bool:
        return self.psi > self.threshold


def _bin_edges(reference: np.ndarray, bins: int) -> np.ndarray:
    edges = np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1)))
    if len(edges) < 2:  # constant reference: one bin holding exactly its value
        value = float(edges[0])
        return np.array([-np.inf, value, np.nextafter(value, np.inf), np.inf])
    edges[0], edges[-1] = -np.inf, np.inf  # values outside the reference range still count
    return edges


def _shares(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    counts = np.histogram(values, edges)[0] + _PSEUDO_COUNT
    return counts / counts.sum()


def _checked(reference: np.ndarray, current: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    reference = np.asarray(reference, dtype=float)
    current = np.asarray(current, dtype=float)
    if reference.size == 0 or current.size == 0:
        raise ValueError("PSI needs at least one reference and one current value")
    return reference, current


def _psi_and_bins(reference: np.ndarray, current: np.ndarray, bins: int) -> tuple[float, int]:
    reference, current = _checked(reference, current)
    edges = _bin_edges(reference, bins)
    ref_share = _shares(reference, edges)
    cur_share = _shares(current, edges)
    value = float(np.sum((cur_share - ref_share) * np.log(cur_share / ref_share)))
    return value, len(edges) - 1


def psi(reference: np.ndarray, current: np.ndarray, bins: int = BINS) -> float:
    """PSI of ``current`` against ``reference`` on the reference's quantile bins."""
    return _psi_and_bins(reference, current, bins)[0]


def psi_threshold(
    reference_rows: int,
    current_rows: int,
    bins: int = BINS,
    alpha: float = FALSE_ALARM_RATE,
) -> float:
    """The PSI that samples of one distribution exceed with probability ``alpha``."""
    if reference_rows < 1 or current_rows < 1:
        raise ValueError("a threshold needs at least one reference and one current row")
    return float(chi2.ppf(1 - alpha, bins - 1) * (1 / reference_rows + 1 / current_rows))


def drift_per_feature(
    reference: np.ndarray,
    current: np.ndarray,
    names: tuple[str, ...],
    alpha: float = FALSE_ALARM_RATE,
) -> dict[str, FeatureDrift]:
    """PSI and threshold of every feature; ``alpha`` is shared out over the features."""
    if reference.shape[1] != len(names) or current.shape[1] != len(names):
        raise ValueError("reference, current and names must have the same number of features")
    result = {}
    for i, name in enumerate(names):
        value, bins = _psi_and_bins(reference[:, i], current[:, i], BINS)
        rows = len(reference), len(current)
        result[name] = FeatureDrift(
            psi=value,
            threshold=psi_threshold(*rows, max(bins, 2), alpha / len(names)),
            reference_rows=rows[0],
            current_rows=rows[1],
        )
    return result


def psi_per_feature(
    reference: np.ndarray, current: np.ndarray, names: tuple[str, ...]
) -> dict[str, float]:
    return {name: d.psi for name, d in drift_per_feature(reference, current, names).items()}
