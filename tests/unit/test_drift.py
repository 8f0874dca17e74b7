import numpy as np
import pytest

from ml.drift import PSI_MAJOR, psi, psi_per_feature


def test_same_distribution_is_stable():
    rng = np.random.default_rng(0)
    assert psi(rng.normal(size=5000), rng.normal(size=5000)) < 0.02


def test_shifted_distribution_is_major_drift():
    rng = np.random.default_rng(0)
    assert psi(rng.normal(size=5000), rng.normal(1.0, size=5000)) > PSI_MAJOR


def test_constant_reference_does_not_crash():
    assert psi(np.ones(10), np.ones(10)) == pytest.approx(0.0)
    assert psi(np.ones(10), np.full(10, 2.0)) > PSI_MAJOR


def test_empty_input_is_an_error():
    with pytest.raises(ValueError, match="at least one"):
        psi(np.array([]), np.ones(3))


def test_per_feature_checks_widths():
    with pytest.raises(ValueError, match="same number"):
        psi_per_feature(np.ones((3, 2)), np.ones((3, 3)), ("a", "b"))
