"""Classical restoration baselines, NumPy in and NumPy out, registered beside the learned models.

Images are float64 (H, W) or (H, W, 3) on a [0, 1] scale (noisy values may leave it); ``sigma`` is the Gaussian
noise standard deviation on the 8-bit scale, or ``None`` to estimate it from the image.
"""

from __future__ import annotations

import numpy as np
from skimage.restoration import denoise_nl_means, estimate_sigma

__all__ = ["bm3d_denoise", "bm3d_profile", "cbm3d_denoise", "estimate_noise_sigma", "nlmeans_denoise"]


def estimate_noise_sigma(image: np.ndarray) -> float:
    """Gaussian noise level on the 8-bit scale, by scikit-image's wavelet estimator (averaged over channels)."""
    channel_axis = -1 if image.ndim == 3 else None
    return float(estimate_sigma(image, channel_axis=channel_axis, average_sigmas=True)) * 255.0


def bm3d_profile():
    """bm3d's normal profile ("np") on as many threads as torch uses (bm3d's own default takes every core), so a
    run's thread setting (``OMP_NUM_THREADS``, ``torch.set_num_threads``) holds for the baselines too."""
    import bm3d
    import torch

    profile = bm3d.BM3DProfile()
    profile.num_threads = torch.get_num_threads()
    return profile


def _sigma(image: np.ndarray, sigma: float | None) -> float:
    return estimate_noise_sigma(image) if sigma is None else float(sigma)


def bm3d_denoise(image: np.ndarray, sigma: float | None = None) -> np.ndarray:
    """BM3D (``bm3d.bm3d``) on a gray image (H, W)."""
    import bm3d  # imported on use, so that `import restore` works where only the learned models are needed

    return np.asarray(bm3d.bm3d(image, _sigma(image, sigma) / 255.0, bm3d_profile()), dtype=np.float64)


def cbm3d_denoise(image: np.ndarray, sigma: float | None = None) -> np.ndarray:
    """CBM3D (``bm3d.bm3d_rgb``, opponent color transform) on an RGB image (H, W, 3)."""
    import bm3d

    return np.asarray(bm3d.bm3d_rgb(image, _sigma(image, sigma) / 255.0, bm3d_profile()), dtype=np.float64)


def nlmeans_denoise(image: np.ndarray, sigma: float | None = None) -> np.ndarray:
    """Non-local means (scikit-image, fast mode, 5x5 patches, 13x13 search, h = 0.8 sigma) on (H, W) or (H, W, 3)."""
    level = _sigma(image, sigma) / 255.0
    channel_axis = -1 if image.ndim == 3 else None
    return denoise_nl_means(
        image, h=0.8 * level, sigma=level, fast_mode=True, patch_size=5, patch_distance=6, channel_axis=channel_axis
    )
