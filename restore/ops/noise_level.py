"""The level of white Gaussian noise in one image, from its most weakly textured patches.

The method of Liu, Tanaka and Okutomi ("Single-image noise level estimation for blind denoising", IEEE TIP 2013):
in a patch of N pixels that holds noise of variance s^2 and no texture, the energy of the gradient (the sum of
squared central differences across and down the patch) follows about s^2 x Gamma(N / 2, 2 tr(D'D) / N), D the
difference operator. The patches below that distribution's 1 - 1e-6 quantile at the current estimate count as weakly
textured, and the noise variance is the smallest eigenvalue of their covariance; three rounds from the estimate on
all patches. Every patch position counts up to ``MAX_PATCHES`` (beyond, a coarser grid): the smallest eigenvalue of
a sample covariance reads low by about sqrt(N / patches) in relative terms (the lower edge of the Marchenko-Pastur
law), a few percent on a small image; left as it is, since on photos weak texture in the chosen patches makes up
about as much (dividing it out made the estimates on training photos worse, and so did taking the mean of the
eigenvalues that Chen, Zhu and Heng's rule (ICCV 2015) counts as noise instead of the smallest).

Unlike the median of wavelet coefficients (scikit-image's ``estimate_sigma``), which texture inflates, this reads
the noise where the image is flattest; how the two compare is in ``benchmarks/results/noise_estimation.md``.
"""

from __future__ import annotations

import functools

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy.stats import gamma

__all__ = ["MIN_PATCHES", "PATCH", "weak_texture_noise_level"]

PATCH = 7  # patch side (N = 49 pixels), as in the paper
CONFIDENCE = 1 - 1e-6  # quantile of a noise-only patch's gradient energy below which a patch counts as weak texture
ROUNDS = 3
MAX_PATCHES = 400_000  # patches per channel; larger images are sampled on a coarser grid
# patch positions below which the wavelet estimator does better at high noise levels (on crops of noisy training
# photos: ahead from 192 px crops on, behind at 128 px); ``restore.baselines`` falls back to it there
MIN_PATCHES = 30_000


@functools.cache
def _gradient_test() -> tuple[np.ndarray, np.ndarray, float]:
    """The central differences across and down a flattened ``PATCH`` x ``PATCH`` patch, as (N, PATCH (PATCH - 2))
    matrices (``patches @ across`` are each patch's horizontal differences), and the gradient energy per unit of
    noise variance below which a patch counts as weakly textured; made once."""
    size = PATCH * PATCH
    basis = np.eye(size).reshape(size, PATCH, PATCH)
    across = (basis[:, :, 2:] - basis[:, :, :-2]).reshape(size, -1) / 2
    down = (basis[:, 2:, :] - basis[:, :-2, :]).reshape(size, -1) / 2
    trace = float((across**2).sum() + (down**2).sum())  # tr(D'D)
    return across, down, float(gamma.ppf(CONFIDENCE, size / 2, scale=2 * trace / size))


def _smallest_variance(patches: np.ndarray) -> float:
    """The smallest eigenvalue of the (M, N) patches' sample covariance (0 where rounding makes it negative)."""
    centred = patches - patches.mean(axis=0)
    return max(float(np.linalg.eigvalsh(centred.T @ centred / len(patches))[0]), 0.0)


def _channel_noise_level(channel: np.ndarray) -> float:
    """The noise standard deviation of one (H, W) channel, both sides at least ``PATCH`` (H, W) float64."""
    size = PATCH * PATCH
    across, down, threshold = _gradient_test()
    windows = sliding_window_view(channel, (PATCH, PATCH))
    step = max(1, int(np.ceil(np.sqrt(windows.shape[0] * windows.shape[1] / MAX_PATCHES))))
    patches = windows[::step, ::step].reshape(-1, size)
    energy = ((patches @ across) ** 2).sum(axis=1) + ((patches @ down) ** 2).sum(axis=1)
    variance = _smallest_variance(patches)
    for _ in range(ROUNDS):
        weak = patches[energy < variance * threshold]
        if len(weak) < size:  # fewer patches than pixels in one: no covariance to read, keep the last estimate
            break
        variance = _smallest_variance(weak)
    return float(np.sqrt(variance))


def weak_texture_noise_level(image: np.ndarray) -> float:
    """The standard deviation of white Gaussian noise in ``image`` (H, W) or (H, W, C), on the image's own scale,
    averaged over channels; 0 for a flat image.

    Raises:
        ValueError: a side shorter than ``PATCH`` pixels.
    """
    planes = image[..., None] if image.ndim == 2 else image
    if min(planes.shape[:2]) < PATCH:
        raise ValueError(
            f"an image of {planes.shape[1]}x{planes.shape[0]} pixels is too small: sides of {PATCH} or more"
        )
    return float(np.mean([_channel_noise_level(planes[..., c].astype(np.float64)) for c in range(planes.shape[2])]))
