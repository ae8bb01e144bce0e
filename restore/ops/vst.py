"""Variance stabilization for Poisson-Gaussian (shot + read) noise: the generalized Anscombe transform.

For ``x`` with noise variance ``shot * x + read``, ``anscombe(x)`` has noise of unit standard deviation (approximately,
away from the darkest values), so a Gaussian denoiser can run on it with sigma 1. ``shot`` and ``read`` here are
variances: for the burst noise model's standard deviations (``sqrt(read^2 + shot^2 x)``) pass their squares.
All three work on NumPy arrays (or numbers).
"""

from __future__ import annotations

import numpy as np
from numpy.polynomial.hermite import hermgauss

__all__ = ["anscombe", "inverse_anscombe", "unbiased_inverse_anscombe"]

_TABLE_SIZE = 4096  # points of the expectation table of unbiased_inverse_anscombe
_QUADRATURE_NODES = 64  # Gauss-Hermite nodes of each expectation


def anscombe(x, shot: float, read: float):
    """Generalized Anscombe transform: ``(2 / shot) * sqrt(shot * x + 3/8 shot^2 + read)`` (clamped at 0 inside)."""
    inside = shot * x + 0.375 * shot**2 + read
    return 2.0 / shot * np.sqrt(np.maximum(inside, 0.0))


def inverse_anscombe(z, shot: float, read: float):
    """The algebraic inverse of ``anscombe`` (adequate at the signal levels of normal exposures)."""
    return ((shot * z / 2.0) ** 2 - 0.375 * shot**2 - read) / shot


def unbiased_inverse_anscombe(z: np.ndarray, shot: float, read: float) -> np.ndarray:
    """The exact unbiased inverse of ``anscombe`` (Makitalo and Foi 2013) for Gaussian noise of variance
    ``shot * x + read`` (``shot > 0`` and ``read`` variances, as in ``pipelines.burst_data``'s noise with its standard
    deviations squared): the ``x >= 0`` whose expected transformed value ``E[anscombe(x + noise)]`` is ``z``.

    A denoiser run on ``anscombe(x + noise)`` estimates that expectation, not ``anscombe(x)``: the transform is
    concave, so the algebraic inverse reads dark values too low. The expectation is tabulated (Gauss-Hermite
    quadrature) over levels spaced evenly in the transformed domain up to just above ``z``'s largest value, then
    inverted by linear interpolation; ``z`` below the expectation at ``x = 0`` gives 0, NaN stays NaN, infinities
    give 0 and infinity (the table spans the finite values). ``z`` any shape -> float64, same shape.
    """
    if not shot > 0:
        raise ValueError(f"the shot noise variance must be above 0 to invert the transform, got {shot!r}")
    z = np.asarray(z, dtype=np.float64)
    finite = z[np.isfinite(z)]
    if finite.size == 0:
        return np.where(np.isposinf(z), np.inf, np.where(np.isneginf(z), 0.0, z))
    transformed = np.linspace(anscombe(0.0, shot, read), max(float(finite.max()), 0.0) + 1.0, _TABLE_SIZE)
    levels = np.maximum(inverse_anscombe(transformed, shot, read), 0.0)
    levels[0] = 0.0  # the algebraic inverse of anscombe(0) may round to just above it
    nodes, weights = hermgauss(_QUADRATURE_NODES)
    spread = np.sqrt(2.0 * (shot * levels + read))
    samples = levels[:, None] + spread[:, None] * nodes[None, :]
    expected = anscombe(samples, shot, read) @ weights / np.sqrt(np.pi)
    return np.where(np.isposinf(z), np.inf, np.interp(z, np.maximum.accumulate(expected), levels))
