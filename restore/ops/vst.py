"""Variance stabilization for Poisson-Gaussian (shot + read) noise: the generalized Anscombe transform.

For ``x`` with noise variance ``shot * x + read``, ``anscombe(x)`` has noise of unit standard deviation (approximately,
away from the darkest values), so a Gaussian denoiser can run on it with sigma 1. Works on NumPy arrays or tensors.
"""

from __future__ import annotations

import numpy as np

__all__ = ["anscombe", "inverse_anscombe"]


def anscombe(x, shot: float, read: float):
    """Generalized Anscombe transform: ``(2 / shot) * sqrt(shot * x + 3/8 shot^2 + read)`` (clamped at 0 inside)."""
    inside = shot * x + 0.375 * shot**2 + read
    return 2.0 / shot * np.sqrt(np.maximum(inside, 0.0))


def inverse_anscombe(z, shot: float, read: float):
    """The algebraic inverse of ``anscombe`` (adequate at the signal levels of normal exposures)."""
    return ((shot * z / 2.0) ** 2 - 0.375 * shot**2 - read) / shot
