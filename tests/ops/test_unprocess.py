"""Unprocessing and the camera pipeline: each step inverts the other, and the noise has the model's statistics."""

from __future__ import annotations

import math

import pytest
import torch

from restore.ops.color import develop, inverse_tone_curve, linear_from_srgb, srgb_from_linear, tone_curve
from restore.ops.unprocess import add_raw_noise, random_cameras, random_noise_levels, unprocess


def test_tone_curve_inverse() -> None:
    x = torch.linspace(0, 1, 101)
    assert torch.allclose(tone_curve(inverse_tone_curve(x)), x, atol=1e-5)
    assert torch.allclose(inverse_tone_curve(tone_curve(x)), x, atol=1e-4)


def test_srgb_curve_inverse_and_gradient() -> None:
    x = torch.linspace(0, 1, 101).expand(3, 101).reshape(1, 3, 1, 101).clone().requires_grad_()
    assert torch.allclose(linear_from_srgb(srgb_from_linear(x)), x, atol=1e-5)
    srgb_from_linear(x).sum().backward()
    assert torch.isfinite(x.grad).all()


@pytest.mark.parametrize("shape", [(6, 7), (1, 6, 7), (2, 1, 6, 7), (2, 5, 4, 6, 7)])
def test_srgb_curve_works_on_any_channel_count_elementwise(shape: tuple[int, ...]) -> None:
    x = torch.rand(shape)
    reference = srgb_from_linear(x.reshape(-1, 1, 1).expand(-1, 3, 1)[..., None])[:, 0, 0, 0]  # each value as gray RGB
    assert srgb_from_linear(x).shape == shape
    assert torch.allclose(srgb_from_linear(x).flatten(), reference)
    assert torch.allclose(linear_from_srgb(srgb_from_linear(x)), x, atol=1e-5)


def test_random_cameras_keep_white_and_have_brooks_gains() -> None:
    camera = random_cameras(64, torch.Generator().manual_seed(0))
    assert torch.allclose(camera.camera_from_rgb.sum(dim=2), torch.ones(64, 3), atol=1e-5)
    red, green, blue = camera.wb_gains.unbind(dim=1)
    assert torch.all(green == 1) and torch.all((1.9 <= red) & (red <= 2.4)) and torch.all((1.5 <= blue) & (blue <= 1.9))


def test_develop_inverts_unprocess() -> None:
    generator = torch.Generator().manual_seed(1)
    srgb = 0.05 + 0.9 * torch.rand(4, 3, 8, 8, generator=generator)
    camera = random_cameras(4, generator)
    raw = unprocess(srgb, camera)
    assert raw.min() >= 0 and raw.max() <= 1
    white_balanced = raw * camera.wb_gains[:, :, None, None]
    assert torch.allclose(develop(white_balanced, camera.rgb_from_camera), srgb, atol=1e-4)


def test_noise_levels_follow_the_unprocessing_model() -> None:
    shot, read = random_noise_levels(20_000, torch.Generator().manual_seed(2))
    assert shot.min() >= 1e-4 and shot.max() <= 0.012
    residual = read.log() - (2.18 * shot.log() + 1.20)
    assert residual.mean().abs() < 0.01
    assert residual.std().item() == pytest.approx(0.26, rel=0.03)


@pytest.mark.parametrize("level", [0.0, 0.05, 0.5])
def test_raw_noise_variance_is_shot_times_signal_plus_read(level: float) -> None:
    raw = torch.full((2, 1, 256, 256), level)
    shot, read = torch.tensor([0.01, 0.001]), torch.tensor([1e-4, 1e-6])
    noisy = add_raw_noise(raw, shot, read, torch.Generator().manual_seed(3))
    for index in range(2):
        expected = shot[index] * level + read[index]
        residual = noisy[index] - level
        assert residual.mean().abs() < 4 * math.sqrt(expected / residual.numel())
        assert residual.var().item() == pytest.approx(expected.item(), rel=0.02)
