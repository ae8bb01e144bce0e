"""The burst noise model, standard deviation ``sqrt(read^2 + shot^2 * x)`` at linear intensity ``x``: its per-pixel
map (what the burst network is given) and its estimation from the burst itself (``noise="auto"``).

Every frame is filtered with Immerkaer's 3x3 noise mask ([1 -2 1; -2 4 -2; 1 -2 1], which cancels smooth image
content and leaves 36 times the noise variance); pixels are binned by local brightness, the noise standard deviation
of each bin is read robustly from the median absolute response, and ``read^2 + shot^2 * x`` is fitted to the bins by
non-negative least squares. Texture inflates the responses, so each bin keeps its lower ``quantile`` of pixels.
"""

from __future__ import annotations

import itertools

import cv2
import numpy as np
import torch
from scipy.optimize import nnls
from torch import Tensor

__all__ = ["estimate_burst_noise", "noise_level_map"]

_MASK = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=np.float64)


def noise_level_map(reference: Tensor, read: Tensor | float, shot: Tensor | float) -> Tensor:
    """Per-pixel noise standard deviation (B, 1, H, W) from a noisy frame (B, 1, H, W) and (B,) or scalar read/shot:
    sqrt(read^2 + shot^2 max(x, 0))."""
    read, shot = (
        torch.as_tensor(v, dtype=reference.dtype, device=reference.device).reshape(-1, 1, 1, 1) for v in (read, shot)
    )
    return (read**2 + shot**2 * reference.clamp(min=0.0)).sqrt()


def estimate_burst_noise(burst: np.ndarray, bins: int = 12, quantile: float = 0.5) -> tuple[float, float]:
    """(read, shot) standard-deviation parameters of a linear burst (N, H, W) (one frame works too)."""
    burst = np.asarray(burst, dtype=np.float64)
    responses, levels = [], []
    for frame in burst:
        response = np.abs(cv2.filter2D(frame, -1, _MASK, borderType=cv2.BORDER_REFLECT))[2:-2, 2:-2]
        responses.append(response.ravel())
        levels.append(cv2.blur(frame, (5, 5))[2:-2, 2:-2].ravel())
    response, level = np.concatenate(responses), np.concatenate(levels)
    edges = np.quantile(level, np.linspace(0, 1, bins + 1))
    means, variances = [], []
    for low, high in itertools.pairwise(edges):
        chosen = (level >= low) & (level <= high)
        if chosen.sum() < 100:
            continue
        values = response[chosen]
        calm = values <= np.quantile(values, quantile)  # the flattest pixels of the bin
        # |N(0, 36 s^2)| has median 0.6745 * 6 s; among the lower half, the median is the 25th percentile overall.
        sigma = np.median(values[calm]) / (6 * _half_normal_quantile(quantile / 2))
        means.append(level[chosen].mean())
        variances.append(sigma**2)
    design = np.stack([np.ones(len(means)), np.maximum(means, 0.0)], axis=1)
    (read_variance, shot_variance), _ = nnls(design, np.asarray(variances))
    return float(np.sqrt(read_variance)), float(np.sqrt(shot_variance))


def _half_normal_quantile(q: float) -> float:
    """The q-quantile of |N(0, 1)|."""
    from scipy.stats import norm

    return float(norm.ppf(0.5 + q / 2))
