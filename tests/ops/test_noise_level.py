"""The weak-texture noise level estimator (``restore.ops.noise_level``) and the choice ``sigma="auto"`` makes."""

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from restore.baselines import NOISE_ESTIMATOR, NOISE_ESTIMATORS, wavelet_noise_sigma, weak_texture_noise_sigma
from restore.ops.noise_level import weak_texture_noise_level


def half_textured(size: int = 256) -> np.ndarray:
    """A (size, size) image on [0, 1]: flat on the left, fine random texture on the right."""
    image = np.full((size, size), 0.5)
    texture = np.random.default_rng(0).uniform(-0.3, 0.3, (size, size // 2))
    image[:, size // 2 :] += cv2.GaussianBlur(texture, (0, 0), 0.7)
    return image


def test_texture_does_not_inflate_the_estimate():
    noisy = half_textured() + np.random.default_rng(1).normal(0, 5 / 255, (256, 256))
    assert abs(weak_texture_noise_level(noisy) * 255 - 5) < 0.35
    assert wavelet_noise_sigma(noisy) > 5.8  # what the texture does to the wavelet estimate


def test_color_channels_are_estimated_apart_and_averaged():
    sigmas = np.array([2.0, 4.0, 6.0]) / 255
    noisy = np.stack([half_textured()] * 3, axis=-1) + np.random.default_rng(2).normal(size=(256, 256, 3)) * sigmas
    assert weak_texture_noise_level(noisy) == pytest.approx(4 / 255, rel=0.06)


def test_a_flat_image_has_no_noise_and_a_tiny_one_is_refused():
    assert weak_texture_noise_level(np.full((32, 32, 3), 0.3)) == 0.0
    with pytest.raises(ValueError, match="too small"):
        weak_texture_noise_level(np.zeros((6, 40)))
    for shape in ((6, 40), (32, 32, 3), (100, 300)):  # under 30000 patch positions: the wavelet estimate stands in
        small = np.random.default_rng(3).normal(0.5, 0.1, shape)
        assert weak_texture_noise_sigma(small) == wavelet_noise_sigma(small)
    large = np.random.default_rng(3).normal(0.5, 0.1, (200, 200))
    assert weak_texture_noise_sigma(large) == weak_texture_noise_level(large) * 255


def test_sigma_auto_uses_the_committed_choice():
    """``python -m benchmarks.noise_estimation`` chose it on training photos; a changed estimator must be rerun."""
    result = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / "noise_estimation.json"
    assert json.loads(result.read_text())["chosen"] == NOISE_ESTIMATOR


def test_the_benchmark_chooses_the_estimator_on_the_training_photos(photo_folder_factory, benchmark_test_dir, tmp_path):
    from benchmarks import noise_estimation

    photos = photo_folder_factory(200, 240, 1, 3, 2)  # large enough for the weak-texture estimator
    test_dir = benchmark_test_dir(64)
    argv = ["--photos", str(photos), "--training-photos", "2", "--test-dir", str(test_dir / "tests"), "--sets", "tiny"]
    noise_estimation.main([*argv, "--sigmas", "10", "30", "--output", str(tmp_path / "ne")])

    record = json.loads((tmp_path / "ne.json").read_text())
    assert [(row["set"], row["sigma"]) for row in record["results"]] == [
        (name, sigma) for name in [*noise_estimation.TRAINING, "tiny"] for sigma in (10, 30)
    ]
    training = [row for row in record["results"] if row["set"] in noise_estimation.TRAINING]
    assert all(row["images"] == 2 for row in training)
    error = {
        name: np.mean([row["estimators"][name]["mean_abs_error"] for row in training]) for name in NOISE_ESTIMATORS
    }
    assert record["chosen"] == min(error, key=error.get)
