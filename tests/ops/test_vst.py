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


@pytest.mark.parametrize("level", [0.0, 0.002, 0.01, 0.1, 1.0])
def test_the_unbiased_inverse_maps_the_mean_transformed_value_back_to_the_level(level: float) -> None:
    mean = np.array([anscombe(noisy_samples(level), SHOT, READ).mean()])
    recovered = unbiased_inverse_anscombe(mean, SHOT, READ)[0]
    assert recovered == pytest.approx(level, abs=6e-5)
    if 0 < level <= 0.01:  # where the algebraic inverse reads the level too low
        assert inverse_anscombe(mean[0], SHOT, READ) < level - 1.5e-4


def test_the_unbiased_inverse_keeps_the_shape_and_never_goes_below_zero() -> None:
    transformed = np.linspace(-5.0, 80.0, 60).reshape(3, 4, 5)
    levels = unbiased_inverse_anscombe(transformed, SHOT, READ)
    assert levels.shape == transformed.shape and levels.dtype == np.float64
    assert levels.min() == 0.0 and np.all(np.diff(levels.ravel()) >= 0)
