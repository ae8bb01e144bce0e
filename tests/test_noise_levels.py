"""Per-level denoisers (dncnn-gray-15/25/50): each runs at its own sigma and hands other levels to its nearest sibling."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch

import restore
import restore.api
from pipelines.model_card import export_weights
from restore.errors import InvalidOptionError
from restore.registry import get_spec, nearest_noise_level


@pytest.fixture
def identity_at_50(untrained_weights_dir, tmp_path, monkeypatch):
    """Untrained weights, except that ``dncnn-gray-50`` predicts no noise at all (its output is its input)."""
    folder = tmp_path / "weights"
    shutil.copytree(untrained_weights_dir, folder)
    spec = get_spec("dncnn-gray-50")
    network = spec.build()
    with torch.no_grad():
        network.tail.weight.zero_()
    export_weights(network, folder, spec.weights, card={"architecture": spec.summary, "untrained": True})
    monkeypatch.setenv("RESTORE_WEIGHTS_DIR", str(folder))
    restore.api._cached_load.cache_clear()
    yield
    restore.api._cached_load.cache_clear()


def noisy_image(sigma: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    clean = np.tile(np.linspace(0.2, 0.8, 64, dtype=np.float32), (64, 1))
    return clean + rng.normal(0, sigma / 255, clean.shape).astype(np.float32)


def test_nearest_level_picks_the_closest_sibling_and_ties_go_up() -> None:
    spec = get_spec("dncnn-gray-25")
    picks = [nearest_noise_level(spec, sigma).name for sigma in (0, 19.9, 20, 30, 37.5, 38, 255)]
    assert picks == ["dncnn-gray-15", "dncnn-gray-15", "dncnn-gray-25", "dncnn-gray-25"] + ["dncnn-gray-50"] * 3
    with pytest.raises(InvalidOptionError, match="not trained for one noise level"):
        nearest_noise_level(get_spec("dncnn-gray"), 25)


def test_a_per_level_model_hands_other_sigmas_to_its_sibling(identity_at_50) -> None:
    restorer = restore.load("dncnn-gray-25", device="cpu")
    noisy = noisy_image(50)
    assert np.array_equal(restorer(noisy, sigma=50), noisy)  # dncnn-gray-50 ran: here it leaves the image alone
    assert np.array_equal(restorer(noisy, sigma=45), noisy)
    assert not np.array_equal(restorer(noisy), noisy)  # by default the model's own level, 25
    assert not np.array_equal(restorer(noisy, sigma=30), noisy)


def test_sigma_auto_estimates_the_level_per_image(identity_at_50) -> None:
    restorer = restore.load("dncnn-gray-15", device="cpu")
    assert np.array_equal(restorer(noisy_image(50), sigma="auto"), noisy_image(50))
    assert not np.array_equal(restorer(noisy_image(20), sigma="auto"), noisy_image(20))
    batch = torch.from_numpy(np.stack([noisy_image(50), noisy_image(15)]))[:, None]  # (2, 1, H, W): one level each
    restored = restorer(batch, sigma="auto")
    assert torch.equal(restored[0], batch[0]) and not torch.equal(restored[1], batch[1])
