"""Shared fixtures: untrained but deterministic weights for every learned model, and small synthetic images.

Plumbing tests must not depend on the trained checkpoints in ``weights/``: ``untrained_weights`` exports freshly
initialised networks (fixed seed) with their model cards into a temporary folder and points ``RESTORE_WEIGHTS_DIR``
at it. An untrained DnCNN's last layer starts small, so its output stays close to its input.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

import restore
import restore.api
from pipelines.model_card import export_weights
from pipelines.photos import split_photos
from restore.registry import list_specs

# These machines have 2 cores and often a training job beside the tests: two torch threads then fight over them and
# small convolutions run up to 100x slower. One thread is fast and deterministic; RESTORE_TEST_THREADS overrides it.
torch.set_num_threads(int(os.environ.get("RESTORE_TEST_THREADS", "1")))


def learned_specs():
    return [spec for spec in list_specs() if spec.build is not None]


@pytest.fixture(scope="session")
def untrained_weights_dir(tmp_path_factory) -> Path:
    """A folder with ``<name>.safetensors`` + ``<name>.json`` for every learned model, seeded, built once."""
    folder = tmp_path_factory.mktemp("weights")
    with torch.random.fork_rng(devices=[]):
        for spec in learned_specs():
            torch.manual_seed(0)
            export_weights(
                spec.build(), folder, spec.weights, card={"architecture": spec.summary, "untrained": True, "seed": 0}
            )
    return folder


@pytest.fixture
def untrained_weights(untrained_weights_dir, monkeypatch) -> Path:
    """Point ``RESTORE_WEIGHTS_DIR`` at the untrained weights; ``restore.restore``'s model cache is cleared around it."""
    monkeypatch.setenv("RESTORE_WEIGHTS_DIR", str(untrained_weights_dir))
    restore.api._cached_load.cache_clear()
    yield untrained_weights_dir
    restore.api._cached_load.cache_clear()


def _smooth_image(height: int = 32, width: int = 32, channels: int | None = None) -> np.ndarray:
    """A smooth float64 test image on [0, 1]: gradients plus a disc and a square; (H, W) or (H, W, C)."""
    yy, xx = np.mgrid[0:height, 0:width] / max(height, width)
    base = 0.2 + 0.5 * xx + 0.2 * yy
    disc = ((yy - 0.35) ** 2 + (xx - 0.6) ** 2) < 0.04
    square = (np.abs(yy - 0.7) < 0.15) & (np.abs(xx - 0.3) < 0.15)
    base = base + 0.2 * disc - 0.15 * square
    if channels is None:
        return np.clip(base, 0.0, 1.0)
    planes = [np.clip(base * (0.8 + 0.1 * c) + 0.05 * c, 0.0, 1.0) for c in range(channels)]
    return np.stack(planes, axis=-1)


def _add_noise(clean: np.ndarray, sigma: float = 25.0, seed: int = 0) -> np.ndarray:
    """The benchmark protocol's noise: clean + N(0, (sigma/255)^2), not clipped, same dtype as ``clean``."""
    rng = np.random.default_rng(seed)
    return (clean + rng.normal(0.0, sigma / 255.0, clean.shape)).astype(clean.dtype)


@pytest.fixture(scope="session")
def smooth_image():
    """``smooth_image(height=32, width=32, channels=None)``: a smooth float64 image on [0, 1]."""
    return _smooth_image


@pytest.fixture(scope="session")
def add_noise():
    """``add_noise(clean, sigma=25, seed=0)``: unclipped Gaussian noise on the 8-bit sigma scale."""
    return _add_noise


def _write_photo_folder(folder: Path, height: int, width: int, blur: float, seed: int, at_least: int) -> Path:
    """Smooth random (height, width) color photos in ``folder``, at least ``at_least`` and enough that the hash split
    holds at least one out for validation."""
    rng = np.random.default_rng(seed)
    index = 0
    while True:
        image = cv2.GaussianBlur(rng.integers(0, 256, (height, width, 3), dtype=np.uint8), (0, 0), blur)
        cv2.imwrite(str(folder / f"photo{index:03d}.png"), image)
        index += 1
        if index >= at_least and all(split_photos(folder)):
            return folder


@pytest.fixture(scope="session")
def photo_folder_factory(tmp_path_factory):
    """``photo_folder_factory(height, width, blur, seed, at_least)``: a new folder of ``_write_photo_folder``."""
    return lambda *args: _write_photo_folder(tmp_path_factory.mktemp("photos"), *args)


@pytest.fixture(scope="session")
def training_photos(photo_folder_factory):
    """A folder of smooth random 320x400 photos for the training pipelines."""
    return photo_folder_factory(320, 400, 4, 1, 2)


@pytest.fixture
def benchmark_test_dir(tmp_path, monkeypatch):
    """``benchmark_test_dir(size)``: a test folder (tmp_path) whose set ``tiny`` holds one smooth size x size color
    photo; the benchmarks' results and caches go to tmp_path too."""
    import benchmarks.common

    def make(size: int) -> Path:
        monkeypatch.setattr(benchmarks.common, "RESULTS_DIR", tmp_path / "results")
        monkeypatch.setattr(benchmarks.common, "CACHE_DIR", tmp_path / "cache")
        y, x = np.mgrid[0:size, 0:size] / (size - 1)
        photo = np.stack([x, y, 0.5 + 0.4 * np.sin(12 * x) * np.cos(9 * y)], axis=-1)
        (tmp_path / "tests" / "tiny").mkdir(parents=True)
        cv2.imwrite(str(tmp_path / "tests" / "tiny" / "photo.png"), (photo * 255).round().astype(np.uint8))
        return tmp_path

    return make
