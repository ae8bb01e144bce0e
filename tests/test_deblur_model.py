"""The multi-scale deblurring network: pyramid shapes, the shared-weights variant, a training step that lowers the
multi-scale loss, and the validation that decides whether a training leg ships."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from pipelines.blur_data import blur_batch, kernel_bank
from pipelines.train_deblur import VALIDATION_KERNELS_PER_CROP, multiscale_loss, validate, validation_kernels
from restore.models.deblur import MultiScaleDeblur


def test_pyramid_runs_coarse_to_fine() -> None:
    network = MultiScaleDeblur(features=8, blocks=1, kernel_size=3).eval()
    with torch.no_grad():
        estimates = network.forward_pyramid(torch.rand(2, 3, 32, 48))
    assert [tuple(e.shape[-2:]) for e in estimates] == [(8, 12), (16, 24), (32, 48)]
    assert network.multiple == 4


def test_shared_variant_has_one_scale_network() -> None:
    separate = MultiScaleDeblur(features=8, blocks=1, kernel_size=3)
    shared = MultiScaleDeblur(features=8, blocks=1, kernel_size=3, shared=True)
    assert len(separate.nets) == 3 and len(shared.nets) == 1
    assert sum(p.numel() for p in shared.parameters()) < sum(p.numel() for p in separate.parameters())


def test_training_steps_lower_the_multiscale_loss() -> None:
    torch.manual_seed(0)
    network = MultiScaleDeblur(features=8, blocks=1, kernel_size=3)
    optimizer = torch.optim.Adam(network.parameters(), lr=3e-3)
    yy, xx = torch.meshgrid(torch.arange(32.0), torch.arange(32.0), indexing="ij")
    clean = (0.3 + 0.4 * ((xx // 8 + yy // 8) % 2)).expand(2, 3, 32, 32).contiguous()
    kernels = torch.from_numpy(kernel_bank(2, seed=1))
    blurred = blur_batch(clean, kernels, torch.zeros(2))
    first = multiscale_loss(network, clean, blurred).item()
    for _ in range(30):
        loss = multiscale_loss(network, clean, blurred)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert multiscale_loss(network, clean, blurred).item() < 0.8 * first


def test_validation_blurs_each_crop_by_steady_and_lingering_kernels() -> None:
    kernels = validation_kernels(3, torch.device("cpu"))
    assert set(kernels) == {"steady", "lingering"}
    for bank in kernels.values():
        assert bank.shape == (3 * VALIDATION_KERNELS_PER_CROP, 31, 31)
        assert torch.allclose(bank.sum(dim=(-2, -1)), torch.ones(len(bank)))
    assert not torch.equal(kernels["steady"], kernels["lingering"])


def test_validation_scores_every_case_and_each_kind() -> None:
    rng = np.random.default_rng(0)
    crops = [rng.integers(0, 256, (36, 40, 3), dtype=np.uint8) for _ in range(2)]
    identity = validate(nn.Identity(), crops, torch.device("cpu"))  # "deblurs" to the blurred input itself
    assert set(identity) == {"blurred", "deblurred", "steady", "lingering"}
    assert identity["deblurred"] == identity["blurred"]
    assert identity["deblurred"] == pytest.approx((identity["steady"] + identity["lingering"]) / 2, abs=1e-3)
    assert identity["lingering"] != identity["steady"]
    assert validate(nn.Identity(), [], torch.device("cpu")) == {}
