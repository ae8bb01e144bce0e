"""The generalized Anscombe transform: unit noise after it, and an inverse without the algebraic one's dark bias."""

from __future__ import annotations

import numpy as np
import pytest

from restore.ops.vst import anscombe, inverse_anscombe, unbiased_inverse_anscombe

SHOT, READ = 0.03**2, 0.01**2  # variances: noise std sqrt(SHOT * x + READ)


def noisy_samples(level: float, count: int = 400_000, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return level + np.sqrt(SHOT * level + READ) * rng.standard_normal(count)


@pytest.mark.parametrize("level", [0.01, 0.1, 0.5, 1.0])
def test_the_transformed_noise_has_unit_standard_deviation(level: float) -> None:
    assert anscombe(noisy_samples(level), SHOT, READ).std() == pytest.approx(1.0, abs=0.03)


def expected_transformed(level: float) -> float:
    """E[anscombe(level + noise)] by the trapezoid rule on a dense grid (independent of the quadrature under test)."""
    normal = np.linspace(-12.0, 12.0, 400_001)
    density = np.exp(-(normal**2) / 2) / np.sqrt(2 * np.pi)
    values = anscombe(level + np.sqrt(SHOT * level + READ) * normal, SHOT, READ)
    return float(np.trapezoid(values * density, normal))


@pytest.mark.parametrize("level", [0.0, 0.002, 0.01, 0.1, 1.0])
def test_the_unbiased_inverse_maps_the_expected_transformed_value_back_to_the_level(level: float) -> None:
    expected = expected_transformed(level)
    recovered = unbiased_inverse_anscombe(np.array([expected]), SHOT, READ)[0]
    noise = np.sqrt(SHOT * level + READ)
    assert recovered == pytest.approx(level, abs=1e-3 * noise)
    if 0 < level <= 0.01:  # where the algebraic inverse reads the level too low
        assert inverse_anscombe(expected, SHOT, READ) < level - 0.01 * noise


def test_the_unbiased_inverse_keeps_the_shape_and_never_goes_below_zero() -> None:
    transformed = np.linspace(-5.0, 80.0, 60).reshape(3, 4, 5)
    levels = unbiased_inverse_anscombe(transformed, SHOT, READ)
    assert levels.shape == transformed.shape and levels.dtype == np.float64
    assert levels.min() == 0.0 and np.all(np.diff(levels.ravel()) >= 0)


def test_nan_stays_nan_and_a_shot_variance_of_zero_is_refused() -> None:
    levels = unbiased_inverse_anscombe(np.array([np.nan, 30.0]), SHOT, READ)
    assert np.isnan(levels[0]) and levels[1] > 0
    with pytest.raises(ValueError, match="shot noise variance"):
        unbiased_inverse_anscombe(np.array([30.0]), 0.0, READ)


def test_an_infinity_does_not_spoil_the_finite_values() -> None:
    finite = unbiased_inverse_anscombe(np.array([30.0, 60.0]), SHOT, READ)
    levels = unbiased_inverse_anscombe(np.array([30.0, 60.0, np.inf, -np.inf]), SHOT, READ)
    assert np.array_equal(levels[:2], finite) and levels[2] == np.inf and levels[3] == 0.0
