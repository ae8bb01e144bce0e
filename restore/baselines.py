"""Classical restoration baselines, NumPy in and NumPy out, registered beside the learned models.

Images are float64 (H, W) or (H, W, 3) on a [0, 1] scale (noisy values may leave it); ``sigma`` is the Gaussian
noise standard deviation on the 8-bit scale, or ``None`` to estimate it from the image.
"""

from __future__ import annotations

import warnings

import numpy as np
from skimage.restoration import denoise_nl_means, estimate_sigma

from restore.ops.noise_level import MIN_PATCHES, PATCH, weak_texture_noise_level
from restore.threadsafe_warnings import catch_warnings

__all__ = [
    "bm3d_denoise",
    "bm3d_profile",
    "cbm3d_denoise",
    "estimate_noise_sigma",
    "mirrored_to_min_side",
    "nlmeans_denoise",
    "run_bm3d",
    "wavelet_noise_sigma",
    "weak_texture_noise_sigma",
]

MIN_SIDE = 16  # bm3d and bm4d refuse a side under their 8-pixel blocks, and bm3d crashes the process on 8x8
# h / sigma of nlmeans_denoise, chosen on the training photos' validation crops by ``python -m
# benchmarks.nlmeans_tuning`` (benchmarks/results/nlmeans-tuning.md)
NLMEANS_H_FACTOR = {"gray": 0.7, "color": 0.55}
OPPONENT = np.array([[1 / 3, 1 / 3, 1 / 3], [1 / 2, 0, -1 / 2], [1 / 4, -1 / 2, 1 / 4]])  # bm3d_rgb's "opp" transform


def wavelet_noise_sigma(image: np.ndarray) -> float:
    """Gaussian noise level on the 8-bit scale, by scikit-image's wavelet estimator (averaged over channels); 0 for a
    perfectly flat image (the estimator skips zero wavelet coefficients and would give NaN there)."""
    channel_axis = -1 if image.ndim == 3 else None
    with catch_warnings():
        # its "mean of empty slice" on a flat image (the NaN is handled below), and its guess that a gray image up to
        # 4 px wide may be color (the layout is known here)
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.filterwarnings("ignore", r"image is size \d+ on the last axis", UserWarning)
        sigma = float(estimate_sigma(image, channel_axis=channel_axis, average_sigmas=True)) * 255.0
    return 0.0 if np.isnan(sigma) else sigma


def weak_texture_noise_sigma(image: np.ndarray) -> float:
    """Gaussian noise level on the 8-bit scale from the most weakly textured patches (``restore.ops.noise_level``,
    averaged over channels); the wavelet estimate for an image of fewer than ``MIN_PATCHES`` patch positions (under
    about 180x180 pixels), where the smallest eigenvalue of so few patches reads low at high noise levels."""
    positions = max(0, image.shape[0] - PATCH + 1) * max(0, image.shape[1] - PATCH + 1)
    if positions < MIN_PATCHES:
        return wavelet_noise_sigma(image)
    return weak_texture_noise_level(image) * 255.0


NOISE_ESTIMATORS = {"wavelet": wavelet_noise_sigma, "weak-texture": weak_texture_noise_sigma}
# the one sigma="auto" uses, chosen on training photos by ``python -m benchmarks.noise_estimation``
# (benchmarks/results/noise_estimation.md)
NOISE_ESTIMATOR = "weak-texture"


def estimate_noise_sigma(image: np.ndarray) -> float:
    """Gaussian noise level of ``image`` (H, W) or (H, W, C) on [0, 1], on the 8-bit scale, by the estimator
    ``NOISE_ESTIMATOR`` names; 0 for a flat image."""
    return NOISE_ESTIMATORS[NOISE_ESTIMATOR](image)


def bm3d_profile():
    """bm3d's normal profile ("np") on as many threads as torch uses (bm3d's own default takes every core), so a
    run's thread setting (``OMP_NUM_THREADS``, ``torch.set_num_threads``) holds for the baselines too."""
    import bm3d
    import torch

    profile = bm3d.BM3DProfile()
    profile.num_threads = torch.get_num_threads()
    return profile


def mirrored_to_min_side(image: np.ndarray) -> np.ndarray:
    """``image`` (H, W, ...) mirrored at its bottom and right edges until both sides are at least ``MIN_SIDE``; the
    input itself where they are. Crop the result back with ``[:H, :W]``."""
    grow = [max(0, MIN_SIDE - side) for side in image.shape[:2]]
    if not any(grow):
        return image
    return np.pad(image, [(0, grow[0]), (0, grow[1])] + [(0, 0)] * (image.ndim - 2), mode="symmetric")


def run_bm3d(image: np.ndarray, level: float | np.ndarray) -> np.ndarray:
    """``bm3d.bm3d`` on (H, W) or (H, W, C) at noise ``level`` (on [0, 1]; per channel (1, 1, C)) with this run's
    profile; images smaller than ``MIN_SIDE`` go through ``mirrored_to_min_side``. Returns float64 (H, W[, C])."""
    import bm3d  # imported on use, so that `import restore` works where only the learned models are needed

    height, width = image.shape[:2]
    estimate = bm3d.bm3d(mirrored_to_min_side(image), level, bm3d_profile())
    return np.asarray(estimate, dtype=np.float64)[:height, :width]


def _sigma(image: np.ndarray, sigma: float | None) -> float:
    return estimate_noise_sigma(image) if sigma is None else float(sigma)


def bm3d_denoise(image: np.ndarray, sigma: float | None = None) -> np.ndarray:
    """BM3D (``bm3d.bm3d``) on a gray image (H, W); at sigma 0 (nothing to remove) the image itself."""
    level = _sigma(image, sigma) / 255.0
    if level == 0:
        return image.astype(np.float64)
    return run_bm3d(image, level)


def cbm3d_denoise(image: np.ndarray, sigma: float | None = None) -> np.ndarray:
    """CBM3D on an RGB image (H, W, 3): ``bm3d.bm3d_rgb``'s steps (opponent color transform, each channel scaled to
    [0, 1] with its noise level scaled alike, BM3D with block matching on the luminance, inverse transform), and the
    same result, except where ``bm3d_rgb`` fails: it divides by a constant channel's zero range, which gives NaN for
    every gray image in RGB (two constant chroma channels) and every flat one. A gray image's noise is the same in its
    three channels, so its luminance gets gray BM3D at the full sigma; with a constant luminance (nothing to match
    blocks on) each channel gets gray BM3D. At sigma 0 (nothing to remove) the image comes back as it is."""
    level = _sigma(image, sigma) / 255.0
    if level == 0:
        return image.astype(np.float64)
    opponent = image.reshape(-1, 3) @ OPPONENT.T
    low, span = opponent.min(axis=0), np.ptp(opponent, axis=0)
    if span[1] == span[2] == 0:
        opponent[:, 0] = bm3d_denoise(opponent[:, 0].reshape(image.shape[:2]), level * 255.0).ravel()
    elif span[0] == 0:
        return np.stack([bm3d_denoise(image[..., c], level * 255.0) for c in range(3)], axis=-1)
    else:
        span = np.where(span > 0, span, 1.0)
        normalized = ((opponent - low) / span).reshape(image.shape)
        channel_levels = level * np.sqrt((OPPONENT**2).sum(axis=1)) / span
        estimate = run_bm3d(normalized, channel_levels.reshape(1, 1, 3))
        opponent = estimate.reshape(-1, 3) * span + low
    return (opponent @ np.linalg.inv(OPPONENT).T).reshape(image.shape)


def nlmeans_denoise(image: np.ndarray, sigma: float | None = None, h_factor: float | None = None) -> np.ndarray:
    """Non-local means (scikit-image, fast mode, 5x5 patches, 13x13 search) on (H, W) or (H, W, 3), with filter
    strength h = ``h_factor`` x sigma; by default the factor of ``NLMEANS_H_FACTOR`` for gray or color."""
    level = _sigma(image, sigma) / 255.0
    color = image.ndim == 3
    factor = NLMEANS_H_FACTOR["color" if color else "gray"] if h_factor is None else h_factor
    denoised = denoise_nl_means(
        image,
        h=factor * level,
        sigma=level,
        fast_mode=True,
        patch_size=5,
        patch_distance=6,
        channel_axis=-1 if color else None,
    )
    return denoised.reshape(image.shape)  # scikit-image drops sides of 1 px
