"""Input drift: population stability index (PSI) per feature."""

from __future__ import annotations

import numpy as np

# Common reading of PSI: < 0.1 stable, 0.1-0.25 moderate shift, > 0.25 major shift.
PSI_MAJOR = 0.25


def psi(reference: np.ndarray, current: np.ndarray, bins: int = 10) -> float:
    """PSI of ``current`` against ``reference`` on the reference's quantile bins."""
    reference = np.asarray(reference, dtype=float)
    current = np.asarray(current, dtype=float)
    if reference.size == 0 or current.size == 0:
        raise ValueError("PSI needs at least one reference and one current value")
    edges = np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1)))
    if len(edges) < 2:  # constant reference: one bin holding exactly its value
        value = float(edges[0])
        edges = np.array([-np.inf, value, np.nextafter(value, np.inf), np.inf])
    else:  # open the outer bins so values outside the reference range still count
        edges[0], edges[-1] = -np.inf, np.inf
    ref_share = np.histogram(reference, edges)[0] / reference.size
    cur_share = np.histogram(current, edges)[0] / current.size
    eps = 1e-4  # keeps empty bins finite
    ref_share = np.clip(ref_share, eps, None)
    cur_share = np.clip(cur_share, eps, None)
    return float(np.sum((cur_share - ref_share) * np.log(cur_share / ref_share)))


def psi_per_feature(
    reference: np.ndarray, current: np.ndarray, names: tuple[str, ...]
) -> dict[str, float]:
    if reference.shape[1] != len(names) or current.shape[1] != len(names):
        raise ValueError("reference, current and names must have the same number of features")
    return {name: psi(reference[:, i], current[:, i]) for i, name in enumerate(names)}
