"""Blur synthesis for training: smooth weight maps, spatially varying blur, and the training batches."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from pipelines.blur_data import blend_blur, blur_batch, kernel_bank, kernel_spread, smooth_weight_maps
from pipelines.train_deblur import TrainConfig, kernel_probabilities, parse_args, sample_batch
from restore.ops.blur import blur


def test_weight_maps_are_a_smooth_partition_of_unity() -> None:
    weights = smooth_weight_maps(4, 3, 48, 64, torch.Generator().manual_seed(0))
    assert weights.shape == (4, 3, 48, 64) and (weights >= 0).all()
    torch.testing.assert_close(weights.sum(dim=1), torch.ones(4, 48, 64))
    assert weights.diff(dim=-1).abs().max() < 0.25 and weights.diff(dim=-2).abs().max() < 0.25
    assert (weights.amax(dim=(2, 3)) - weights.amin(dim=(2, 3))).max() > 0.5  # the mix really varies across a map


def test_blend_of_one_kernel_is_the_uniform_blur() -> None:
    images = torch.rand(2, 3, 40, 40, generator=torch.Generator().manual_seed(1))
    kernels = torch.from_numpy(kernel_bank(4, seed=2)).view(2, 2, 31, 31)
    first_only = torch.zeros(2, 2, 40, 40)
    first_only[:, 0] = 1.0
    torch.testing.assert_close(blend_blur(images, kernels, first_only), blur(images, kernels[:, 0]))
    halves = torch.full((2, 2, 40, 40), 0.5)
    torch.testing.assert_close(blend_blur(images, kernels, halves), blur(images, kernels.mean(dim=1)))


def test_blend_blurs_each_region_with_its_own_kernel_and_keeps_constants() -> None:
    images = torch.rand(1, 1, 64, 64, generator=torch.Generator().manual_seed(3))
    kernels = torch.from_numpy(kernel_bank(2, seed=4))[None]
    left_right = torch.zeros(1, 2, 64, 64)
    left_right[:, 0, :, :32] = 1.0
    left_right[:, 1, :, 32:] = 1.0
    blended = blend_blur(images, kernels, left_right)
    torch.testing.assert_close(blended[..., :32], blur(images, kernels[:, 0])[..., :32])
    torch.testing.assert_close(blended[..., 32:], blur(images, kernels[:, 1])[..., 32:])
    assert not torch.allclose(blended, blur(images, kernels[:, 0]))
    smooth = smooth_weight_maps(1, 2, 64, 64, torch.Generator().manual_seed(5))
    torch.testing.assert_close(
        blend_blur(torch.full((1, 3, 64, 64), 0.4), kernels, smooth), torch.full((1, 3, 64, 64), 0.4)
    )


def test_mismatched_weight_maps_are_refused() -> None:
    kernels = torch.from_numpy(kernel_bank(2, seed=6))[None]
    with pytest.raises(ValueError, match="weights must be"):
        blend_blur(torch.rand(1, 3, 32, 32), kernels, torch.full((1, 3, 32, 32), 1 / 3))


def test_non_uniform_training_batches_are_blurred_images_of_the_right_shape() -> None:
    bank = torch.from_numpy(np.random.default_rng(7).integers(0, 256, (6, 3, 64, 64), dtype=np.uint8))
    kernels = torch.from_numpy(kernel_bank(8, seed=8))
    cfg = TrainConfig(batch=4, patch=48, nonuniform=1.0)
    clean, blurred = sample_batch(bank, kernels, cfg, torch.Generator().manual_seed(9))
    assert clean.shape == blurred.shape == (4, 3, 48, 48)
    assert 0.0 <= float(blurred.min()) and float(blurred.max()) <= 1.0
    assert (blurred - clean).abs().mean() > 0.02  # random noise patterns lose most of their detail to any blur
    torch.testing.assert_close(blurred * 255, torch.round(blurred * 255))  # 8-bit quantized


@pytest.mark.parametrize("nonuniform", [0.0, 1.0])
def test_sharp_patches_keep_their_detail_under_noise_and_quantization(nonuniform: float) -> None:
    bank = torch.from_numpy(np.random.default_rng(7).integers(0, 256, (6, 3, 64, 64), dtype=np.uint8))
    kernels = torch.from_numpy(kernel_bank(8, seed=8))
    cfg = TrainConfig(batch=16, patch=48, nonuniform=nonuniform, sharp=1.0)
    clean, sharp = sample_batch(bank, kernels, cfg, torch.Generator().manual_seed(9))
    assert (sharp - clean).abs().mean(dim=(1, 2, 3)).max() < 0.03  # noise of at most 2% in linear light
    mixed = sample_batch(bank, kernels, replace(cfg, sharp=0.5), torch.Generator().manual_seed(9))
    kept = (mixed[1] - mixed[0]).abs().mean(dim=(1, 2, 3)) < 0.03
    assert 0 < int(kept.sum()) < cfg.batch


def test_a_share_outside_zero_to_one_is_refused() -> None:
    assert parse_args(["--nonuniform", "0.3"]).nonuniform == 0.3
    assert parse_args(["--sharp", "0.1"]).sharp == 0.1
    for share in (["--nonuniform", "1.5"], ["--sharp", "-0.1"], ["--sharp", "2"]):
        with pytest.raises(SystemExit):
            parse_args(share)


def test_uniform_batches_match_blur_batch_with_one_kernel() -> None:
    clean = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(10))
    kernels = torch.from_numpy(kernel_bank(2, seed=11))
    one = blur_batch(clean, kernels, torch.zeros(2))
    blended = blur_batch(clean, kernels[:, None], torch.zeros(2), weights=torch.ones(2, 1, 32, 32))
    torch.testing.assert_close(one, blended)


def line_kernel(length: int, size: int = 31) -> torch.Tensor:
    kernel = torch.zeros(size, size)
    kernel[size // 2, size // 2 - length // 2 : size // 2 - length // 2 + length] = 1.0 / length
    return kernel


def test_kernel_spread_is_the_rms_radius() -> None:
    kernels = torch.stack([line_kernel(1), line_kernel(7), line_kernel(21), line_kernel(21).T])
    expected = torch.tensor([0.0, ((7**2 - 1) / 12) ** 0.5, ((21**2 - 1) / 12) ** 0.5, ((21**2 - 1) / 12) ** 0.5])
    torch.testing.assert_close(kernel_spread(kernels), expected)


def test_spread_bias_draws_long_shake_more_often() -> None:
    kernels = torch.stack([line_kernel(1), line_kernel(7), line_kernel(21)])
    torch.testing.assert_close(kernel_probabilities(kernels, 0.0), torch.full((3,), 1 / 3))
    biased = kernel_probabilities(kernels, 1.0)
    radii = torch.tensor([0.5, 2.0, (440 / 12) ** 0.5])
    torch.testing.assert_close(biased, radii / radii.sum())
    assert parse_args(["--spread-bias", "1"]).spread_bias == 1.0
    with pytest.raises(SystemExit):
        parse_args(["--spread-bias", "-1"])


def test_batches_are_blurred_by_the_kernels_the_probabilities_pick() -> None:
    bank = torch.from_numpy(np.random.default_rng(12).integers(0, 256, (4, 3, 64, 64), dtype=np.uint8))
    kernels = torch.stack([line_kernel(1), line_kernel(21)])
    cfg = TrainConfig(batch=4, patch=48)
    errors = []
    for only in (torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])):
        clean, blurred = sample_batch(bank, kernels, cfg, torch.Generator().manual_seed(13), only)
        errors.append(float((blurred - clean).abs().mean()))
    assert errors[0] < 0.02 and errors[1] > 0.1  # the delta leaves noise and rounding only; the long line smears
