"""Synthetic camera-shake blur from clean photos: a bank of random motion kernels, blur in linear light, mild noise,
8-bit quantization.

Kernels (``restore.ops.blur``): trajectory lengths U(2, 25) px, exposure U(0.5, 1) of the trajectory, 31x31. A bank
is generated once per seed and cached (trajectories are slow to simulate in Python); training draws from it with
random flips and transposes. Images are blurred in linear light (sRGB curve undone), given Gaussian noise with a
standard deviation U(0, 2%) and quantized to 8 bits in sRGB, as a camera would store them.

How far a kernel spreads an image is its RMS radius (``kernel_spread``); trajectory lengths drawn uniformly give
mostly short shake (median radius 2.9 px), and training may draw long kernels more often by weighting with it.

Non-uniform blur (a camera that also rotates, or a scene at several depths) blends a few kernels across the image:
``smooth_weight_maps`` gives every pixel its own mix of M kernels and ``blend_blur`` blurs it with that mix.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from pipelines.array_cache import cached_array
from restore.ops.blur import blur, motion_kernel, random_trajectory
from restore.ops.color import linear_from_srgb, srgb_from_linear

__all__ = [
    "KERNEL_SIZE",
    "blend_blur",
    "blur_batch",
    "cached_kernel_bank",
    "kernel_bank",
    "kernel_spread",
    "smooth_weight_maps",
]

KERNEL_SIZE = 31


def kernel_bank(count: int, seed: int, dwell: float = 0.0) -> np.ndarray:
    """``count`` random camera-shake kernels (count, 31, 31) float32, each summing to 1. With ``dwell`` > 0 each
    trajectory's speed varies (``random_trajectory``) by a dwell drawn from U(0, ``dwell``)."""
    rng = np.random.default_rng(seed)
    kernels = []
    for _ in range(count):
        length = rng.uniform(2.0, 25.0)
        trajectory = random_trajectory(rng, length=length, steps=600, dwell=rng.uniform(0, dwell) if dwell else 0.0)
        kernels.append(motion_kernel(trajectory, KERNEL_SIZE, exposure=rng.uniform(0.5, 1.0)))
    return np.stack(kernels).astype(np.float32)


def cached_kernel_bank(cache_dir: Path, count: int = 4000, seed: int = 0, dwell: float = 0.0) -> np.ndarray:
    """``kernel_bank`` cached as ``.npy`` in ``cache_dir``."""
    name = f"motion_kernels_{count}_{seed}" + (f"_dwell{dwell:g}" if dwell else "")
    return cached_array(Path(cache_dir) / f"{name}.npy", lambda: kernel_bank(count, seed, dwell))


def kernel_spread(kernels: Tensor) -> Tensor:
    """RMS radius in pixels of each kernel (N, k, k) about its own centroid -> (N,): 0 for a delta, about L / sqrt(12)
    for a straight line of length L."""
    weights = kernels / kernels.sum(dim=(-2, -1), keepdim=True)
    rows = torch.arange(kernels.shape[-2], dtype=weights.dtype, device=weights.device)
    cols = torch.arange(kernels.shape[-1], dtype=weights.dtype, device=weights.device)
    mean_row = (weights.sum(dim=-1) * rows).sum(dim=-1, keepdim=True)
    mean_col = (weights.sum(dim=-2) * cols).sum(dim=-1, keepdim=True)
    row_variance = (weights.sum(dim=-1) * (rows - mean_row) ** 2).sum(dim=-1)
    col_variance = (weights.sum(dim=-2) * (cols - mean_col) ** 2).sum(dim=-1)
    return (row_variance + col_variance).sqrt()


def smooth_weight_maps(
    batch: int,
    count: int,
    height: int,
    width: int,
    generator: torch.Generator | None = None,
    grid: int = 3,
    contrast: float = 4.0,
) -> Tensor:
    """(B, count, H, W) weights, non-negative and summing to 1 over ``count`` at every pixel, that change smoothly
    across the image: a softmax of random logits (standard deviation ``contrast``) on a ``grid`` x ``grid`` lattice,
    bilinearly upsampled. A high contrast gives regions ruled by one kernel with soft transitions between them. On the
    generator's device."""
    device = generator.device if generator is not None else None
    logits = contrast * torch.randn(batch, count, grid, grid, generator=generator, device=device)
    return F.interpolate(logits, size=(height, width), mode="bilinear", align_corners=True).softmax(dim=1)


def blend_blur(images: Tensor, kernels: Tensor, weights: Tensor) -> Tensor:
    """Spatially varying blur: images (B, C, H, W), kernels (B, M, k, k), weights (B, M, H, W) summing to 1 over M
    -> (B, C, H, W). Every pixel is blurred by its own mix of the kernels, sum_m w_m(p) k_m, computed as the same
    mix of the M uniformly blurred images (equal by linearity)."""
    batch, count = kernels.shape[:2]
    if weights.shape != (batch, count, *images.shape[-2:]):
        raise ValueError(
            f"weights must be (B, M, H, W) = {(batch, count, *images.shape[-2:])}, got {tuple(weights.shape)}"
        )
    blurred = blur(images.repeat_interleave(count, dim=0), kernels.flatten(0, 1))
    return (blurred.view(batch, count, *images.shape[1:]) * weights[:, :, None]).sum(dim=1)


def blur_batch(
    clean: Tensor,
    kernels: Tensor,
    noise: Tensor,
    generator: torch.Generator | None = None,
    weights: Tensor | None = None,
) -> Tensor:
    """Clean sRGB (B, 3, H, W) on [0, 1], kernels (B, k, k), noise std (B,) -> blurred sRGB, 8-bit quantized. With
    ``weights`` (B, M, H, W) the kernels are (B, M, k, k), blended across the image (``blend_blur``)."""
    linear = linear_from_srgb(clean)
    linear = blur(linear, kernels) if weights is None else blend_blur(linear, kernels, weights)
    noisy = linear + noise.view(-1, 1, 1, 1) * torch.randn(linear.shape, generator=generator, device=linear.device)
    return torch.round(srgb_from_linear(noisy.clamp(0.0, 1.0)) * 255) / 255
