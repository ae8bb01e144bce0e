"""Synthetic camera-shake blur from clean photos: a bank of random motion kernels, blur in linear light, mild noise,
8-bit quantization.

Kernels (``restore.ops.blur``): trajectory lengths U(2, 25) px, exposure U(0.5, 1) of the trajectory, 31x31. A bank
is generated once per seed and cached (trajectories are slow to simulate in Python); training draws from it with
random flips and transposes. Images are blurred in linear light (sRGB curve undone), given Gaussian noise with a
standard deviation U(0, 2%) and quantized to 8 bits in sRGB, as a camera would store them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from pipelines.array_cache import cached_array
from restore.ops.blur import blur, motion_kernel, random_trajectory
from restore.ops.color import linear_from_srgb, srgb_from_linear

__all__ = ["KERNEL_SIZE", "blur_batch", "cached_kernel_bank", "kernel_bank"]

KERNEL_SIZE = 31


def kernel_bank(count: int, seed: int) -> np.ndarray:
    """``count`` random camera-shake kernels (count, 31, 31) float32, each summing to 1."""
    rng = np.random.default_rng(seed)
    kernels = []
    for _ in range(count):
        trajectory = random_trajectory(rng, length=rng.uniform(2.0, 25.0), steps=600)
        kernels.append(motion_kernel(trajectory, KERNEL_SIZE, exposure=rng.uniform(0.5, 1.0)))
    return np.stack(kernels).astype(np.float32)


def cached_kernel_bank(cache_dir: Path, count: int = 4000, seed: int = 0) -> np.ndarray:
    """``kernel_bank`` cached as ``.npy`` in ``cache_dir``."""
    return cached_array(Path(cache_dir) / f"motion_kernels_{count}_{seed}.npy", lambda: kernel_bank(count, seed))


def blur_batch(clean: Tensor, kernels: Tensor, noise: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """Clean sRGB (B, 3, H, W) on [0, 1], kernels (B, k, k), noise std (B,) -> blurred sRGB, 8-bit quantized."""
    linear = blur(linear_from_srgb(clean), kernels)
    noisy = linear + noise.view(-1, 1, 1, 1) * torch.randn(linear.shape, generator=generator, device=linear.device)
    return torch.round(srgb_from_linear(noisy.clamp(0.0, 1.0)) * 255) / 255
