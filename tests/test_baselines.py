"""``restore.baselines``: the BM3D family on images smaller than its blocks."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from restore.baselines import MIN_SIDE, mirrored_to_min_side


@pytest.mark.parametrize("shape", [(1, 1), (8, 8), (8, 20, 3), (3, 40, 4)])
def test_small_images_are_mirrored_up_to_the_min_side_and_crop_back(shape):
    image = np.random.default_rng(0).random(shape)
    grown = mirrored_to_min_side(image)
    assert grown.shape[:2] == (max(MIN_SIDE, shape[0]), max(MIN_SIDE, shape[1])) and grown.shape[2:] == shape[2:]
    assert np.array_equal(grown[: shape[0], : shape[1]], image)


def test_images_at_the_min_side_are_passed_as_they_are():
    image = np.zeros((MIN_SIDE, 40))
    assert mirrored_to_min_side(image) is image


SMALL_INPUTS = """
import numpy as np
import restore

rng = np.random.default_rng(0)
for model, shape in [("bm3d", (8, 8)), ("bm3d", (1, 1)), ("cbm3d", (8, 8, 3)), ("cbm3d", (3, 40, 3))]:
    out = restore.restore(rng.random(shape).astype(np.float32), model=model, sigma=25)
    assert out.shape == shape and np.isfinite(out).all(), (model, shape)
burst = (0.2 + 0.5 * rng.random((8, 8, 8))).astype(np.float32)
for model in ("burst-bm3d", "burst-bm4d"):
    out = restore.restore(burst, model=model, noise=(0.01, 0.05))
    assert out.shape == (8, 8) and np.isfinite(out).all(), model
print("ok")
"""


def test_the_bm3d_family_restores_images_smaller_than_its_blocks():
    """bm3d refuses sides under 8 pixels and crashes the process (segfault) on an 8x8 image, so this runs apart."""
    command = [sys.executable, "-c", SMALL_INPUTS]
    result = subprocess.run(command, check=False, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("ok")


@pytest.mark.parametrize("shape", [(1, 1), (1, 5), (1, 4, 3), (6, 1)])
def test_nlmeans_keeps_the_shape_of_a_one_pixel_wide_image(shape):
    from restore.baselines import nlmeans_denoise

    assert nlmeans_denoise(np.full(shape, 0.5), sigma=10).shape == shape


def test_the_nlmeans_defaults_are_the_committed_tuning():
    """``python -m benchmarks.nlmeans_tuning`` chose them; a changed grid or protocol must be rerun and committed."""
    import json
    from pathlib import Path

    from restore.baselines import NLMEANS_H_FACTOR

    result = Path(__file__).resolve().parent.parent / "benchmarks" / "results" / "nlmeans-tuning.json"
    assert json.loads(result.read_text())["chosen"] == NLMEANS_H_FACTOR


@pytest.mark.parametrize("shape", [(32, 40), (32, 40, 3)])
def test_nlmeans_filters_more_with_a_larger_h_factor(shape):
    from restore.baselines import nlmeans_denoise

    rng = np.random.default_rng(0)
    clean = np.full(shape, 0.5)
    noisy = clean + rng.normal(0, 25 / 255, shape)
    errors = [np.abs(nlmeans_denoise(noisy, 25.0, h_factor=f) - clean).mean() for f in (0.1, 1.0)]
    assert errors[1] < 0.75 * errors[0]  # a flat image: the stronger filter leaves less of the noise
