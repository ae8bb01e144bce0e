"""Noise synthesis for training and benchmarks."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

__all__ = ["add_gaussian_noise", "add_gaussian_noise_np"]


def add_gaussian_noise(x: Tensor, sigma: float | Tensor, *, generator: torch.Generator | None = None) -> Tensor:
    """Add white Gaussian noise, not clipped and not quantized.

    Args:
        x: clean images (B, C, H, W) on a [0, 1] scale.
        sigma: standard deviation on the [0, 1] scale, a float or a tensor broadcastable to ``x`` (e.g. (B, 1, 1, 1)).
        generator: random generator on ``x.device`` for reproducible noise.

    Returns:
        The noisy images, same shape, dtype and device as ``x``.
    """
    noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
    return x + noise * sigma


def add_gaussian_noise_np(clean_uint8: np.ndarray, sigma_8bit: float, seed: int) -> np.ndarray:
    """The benchmark protocol's noisy image: ``img/255 + N(0, (sigma/255)^2)`` from ``default_rng(seed)``.

    Args:
        clean_uint8: uint8 image (H, W) or (H, W, C).
        sigma_8bit: noise standard deviation on the 8-bit scale (25 means 25/255).
        seed: seed of ``numpy.random.default_rng``.

    Returns:
        float64 array of the same shape, not clipped, not quantized.
    """
    rng = np.random.default_rng(seed)
    clean = clean_uint8.astype(np.float64) / 255.0
    return clean + rng.normal(0.0, sigma_8bit / 255.0, clean.shape)
