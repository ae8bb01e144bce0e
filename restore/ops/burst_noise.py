"""The burst noise model, standard deviation ``sqrt(read^2 + shot^2 * x)`` at linear intensity ``x``: its per-pixel
map (what the burst network is given) and its estimation from the burst itself (``noise="auto"``).

Frames are filtered with Immerkaer's 3x3 noise mask ([1 -2 1; -2 4 -2; 1 -2 1], which cancels smooth image content and
leaves 36 times the noise variance); pixels are binned by local brightness, the noise standard deviation of each bin
is read robustly from the median absolute response, and ``read^2 + shot^2 * x`` is fitted to the bins by non-negative
least squares, each bin's misfit taken relative to its fitted variance (a variance read from n pixels is uncertain in
proportion to itself, so plain least squares lets the bright bins set the read noise that the dark ones show;
``benchmarks.burst_noise_tuning`` chose the weighting). Texture inflates the responses, so each bin keeps its lower
``quantile`` of pixels. Two readings are taken per bin and the lower kept: from each frame alone (spatial), and from
the difference of two frames moved onto the reference by whole pixels (temporal, twice the variance), in which static
texture cancels: of all pairs of frames, the pair whose difference leaves the least texture, since some two frames
are likelier to lie whole pixels apart than any frame and the reference (``benchmarks.burst_noise_tuning`` chose
every pair over the reference's). The temporal one is what makes a textured low-noise burst read as low-noise.
Texture finer than the pair's sub-pixel misalignment still inflates it. Pixels near a clipped value (crushed blacks,
saturated highlights: the burst's minimum or maximum where many samples hold it) are left out, as clipping takes their
noise away.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import cv2
import numpy as np
import torch
from scipy.optimize import nnls
from torch import Tensor

from restore.errors import InvalidImageError
from restore.ops.alignment import align_whole_pixels

__all__ = ["estimate_burst_noise", "noise_level_map"]

TEMPORAL_SIDE = 1024  # the temporal reading's centre crop
SAMPLES = 1 << 20  # pixels per image, about
MIN_BIN_PIXELS = 100  # a brightness bin with fewer pixels gives no reading
CLIPPED_SHARE = 1e-3  # a burst's extreme value held by more than this share of its samples is a clipping level
_MASK = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=np.float64)


def noise_level_map(reference: Tensor, read: Tensor | float, shot: Tensor | float) -> Tensor:
    """Per-pixel noise standard deviation (B, 1, H, W) from a noisy frame (B, 1, H, W) and (B,) or scalar read/shot:
    sqrt(read^2 + shot^2 max(x, 0))."""
    read, shot = (
        torch.as_tensor(v, dtype=reference.dtype, device=reference.device).reshape(-1, 1, 1, 1) for v in (read, shot)
    )
    return (read**2 + shot**2 * reference.clamp(min=0.0)).sqrt()


def estimate_burst_noise(
    burst: np.ndarray,
    bins: int = 12,
    quantile: float = 0.5,
    frames_of: str = "pixels",
    relative_fit: bool = True,
    all_pairs: bool = True,
    correction: float = 1.0,
) -> tuple[float, float]:
    """(read, shot) standard-deviation parameters of a linear burst (N, H, W) or (N, H, W, C), frame 0 the reference
    (one frame works too: then only the spatial reading). Each channel is read on its own, against the same channel
    of the other frame of a pair. The temporal reading uses the burst's centre crop of at most ``TEMPORAL_SIDE``
    pixels a side, and each image contributes at most about ``SAMPLES`` pixels, so that a large burst costs no more
    than a small one. ``frames_of`` names what a frame's (H, W) counts in the error (e.g. "packed Bayer planes").
    ``relative_fit``: fit the bins' variances by relative misfits (``_fitted_noise_model``); False: by plain least
    squares, as before 2026-12-05. ``all_pairs``: read the temporal noise from the best of every pair of frames;
    False: of the reference with each other frame, as before 2026-12-07. ``correction`` multiplies both fitted
    parameters, so every standard deviation of the model: a factor above 1 offsets the low reading of the minima
    below (``benchmarks.burst_noise_tuning`` tries 1, 1.02, 1.04 and 1.06; it chose 1.02 with the kpn-burst
    weights of 2026-12-05 and 1 again with those shipped on 2026-12-07, by 0.006 dB).

    Each brightness bin keeps the smaller of the spatial and the temporal reading, and the temporal one comes from
    the pair of frames that differ least: minima of noisy readings, so on a static burst the noise reads a little
    low, by 3-7% of its standard deviation at 128x128 pixels and 2-3% at 256x256 (8 frames, a ramp scene, 10 seeds
    each of three noise levels, 2026-12-07, a helper not kept; 2-5% and 1.5-2.5% with ``all_pairs=False``); over
    texture, which inflates the spatial reading, the minimum is what keeps it right.

    Raises:
        InvalidImageError: too few pixels for one brightness bin of ``MIN_BIN_PIXELS`` (for 8 frames, under about
            18x18 pixels), or a burst clipped nearly everywhere.
    """
    burst = np.asarray(burst)
    burst = burst if burst.ndim == 4 else burst[..., None]
    too_small = InvalidImageError(
        f"{burst.shape[0]} frames of {burst.shape[1]}x{burst.shape[2]} {frames_of} hold too few pixels to estimate the "
        "noise from (8 frames need about 18x18); give noise=(read, shot)"
    )
    if min(burst.shape[1:3]) < 5:  # no 3x3 noise-mask window inside the 1 px border (_noise_responses)
        raise too_small
    channels = range(burst.shape[3])
    clipping = _clipping_levels(burst)
    spatial = _pooled(_spatial_reading(frame[..., c].astype(np.float64), clipping) for frame in burst for c in channels)
    if not spatial[0].size:
        raise InvalidImageError(
            "the burst is clipped nearly everywhere, leaving no noise to read; give noise=(read, shot)"
        )
    temporal = _temporal_reading(burst, clipping, all_pairs) if len(burst) > 1 else None
    readings = [spatial] if temporal is None else [spatial, temporal]
    edges = np.quantile(spatial[1], np.linspace(0, 1, bins + 1))
    means, variances = [], []
    for low, high in itertools.pairwise(edges):
        found = [b for b in (_bin_sigma(*reading, low, high, quantile) for reading in readings) if b is not None]
        if found:
            sigma, mean = min(found)
            means.append(mean)
            variances.append(sigma**2)
    if not means:
        raise too_small
    read, shot = _fitted_noise_model(np.asarray(means), np.asarray(variances), relative_fit)
    return read * correction, shot * correction


FIT_ROUNDS = 3  # reweightings of the relative fit by its fitted variances, after the first by the measured ones


def _fitted_noise_model(means: np.ndarray, variances: np.ndarray, relative: bool) -> tuple[float, float]:
    """(read, shot) of ``read^2 + shot^2 * mean`` fitted to the bins' variances by non-negative least squares.

    ``relative``: each bin's misfit divided by its variance, first the measured one, then for ``FIT_ROUNDS`` rounds
    the fitted one (iteratively reweighted least squares for errors proportional to the variance; variances under a
    millionth of the largest count as that, so that a noise-free bin does not take all the weight)."""
    design = np.stack([np.ones(len(means)), np.maximum(means, 0.0)], axis=1)
    if not relative:
        (read_variance, shot_variance), _ = nnls(design, variances)
        return float(np.sqrt(read_variance)), float(np.sqrt(shot_variance))
    scale = variances
    for _ in range(1 + FIT_ROUNDS):
        weights = 1.0 / np.maximum(scale, max(1e-6 * float(np.max(scale)), 1e-20))
        (read_variance, shot_variance), _ = nnls(design * weights[:, None], variances * weights)
        scale = design @ np.array([read_variance, shot_variance])
    return float(np.sqrt(read_variance)), float(np.sqrt(shot_variance))


def _temporal_reading(
    burst: np.ndarray, clipping: Sequence[float], all_pairs: bool
) -> tuple[np.ndarray, np.ndarray] | None:
    """(responses, brightness) of the noise in the difference of two frames of a burst (N, H, W, C): the frames are
    moved onto the reference by whole pixels (centre crop), and of the pairs of frames (``all_pairs``: every pair;
    else the reference with each other frame) the one whose difference leaves the least texture is chosen, once for
    all brightness bins so that the choice does not pick each bin's luckiest noise. Among all pairs, some two frames
    are likelier to lie a whole number of pixels apart, so that their texture cancels, than any frame and the
    reference. A difference carries twice a frame's noise variance; its brightness is the pair's first frame's (the
    reference where it is one of them); pixels near a ``clipping`` level in either frame are left out. None where
    the crop is too small."""
    height, width = (min(n, TEMPORAL_SIDE) for n in burst.shape[1:3])
    top, left = (burst.shape[1] - height) // 2, (burst.shape[2] - width) // 2
    crop = burst[:, top : top + height, left : left + width].astype(np.float64)  # a copy, aligned in place
    margin = max(max(abs(dx), abs(dy)) for dx, dy in align_whole_pixels(crop))
    crop = crop[:, margin : height - margin, margin : width - margin]
    if min(crop.shape[1:3]) <= 8:
        return None
    channels = range(crop.shape[3])
    unclipped = [[_unclipped(frame[..., c], clipping) for c in channels] for frame in crop]  # each frame's, once
    best, best_median = None, math.inf
    for first in range(len(crop) - 1) if all_pairs else [0]:
        brightness = [_brightness(crop[first, ..., c]) for c in channels]
        for second in range(first + 1, len(crop)):
            per_channel = []
            for c in channels:
                masks = [m for m in (unclipped[first][c], unclipped[second][c]) if m is not None]
                keep = np.logical_and.reduce(masks) if masks else None
                difference = _noise_responses(crop[second, ..., c] - crop[first, ..., c]) / np.sqrt(2)
                per_channel.append((_sampled(difference, keep), _sampled(brightness[c], keep)))
            reading = _pooled(per_channel)
            median = float(np.median(reading[0])) if len(reading[0]) else math.inf
            if median < best_median:
                best, best_median = reading, median
    return best


def _clipping_levels(burst: np.ndarray) -> list[float]:
    """The burst's minimum and maximum, each where more than ``CLIPPED_SHARE`` of its samples, and more than one,
    hold it: the levels it is clipped at (crushed blacks, saturated highlights), whose pixels have lost their noise."""
    return [
        float(value)
        for value in (burst.min(), burst.max())
        if np.count_nonzero(burst == value) > max(CLIPPED_SHARE * burst.size, 1)
    ]


def _unclipped(image: np.ndarray, clipping: Sequence[float]) -> np.ndarray | None:
    """Where no ``clipping`` level lies within 2 pixels of a pixel of ``image`` (H, W) (the 5x5 window its
    brightness is read from, which holds the noise mask's 3x3): a boolean (H, W), or None where nothing is
    clipped."""
    if not clipping:
        return None
    clipped = np.isin(image, clipping).astype(np.uint8)
    return cv2.dilate(clipped, np.ones((5, 5), np.uint8), borderType=cv2.BORDER_REFLECT) == 0


def _spatial_reading(image: np.ndarray, clipping: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """(responses, brightness) of an image (H, W) (``_noise_responses``, ``_brightness``), pixels near a ``clipping``
    level (``_unclipped``) left out, ``_sampled``."""
    keep = _unclipped(image, clipping)
    return _sampled(_noise_responses(image), keep), _sampled(_brightness(image), keep)


def _noise_responses(image: np.ndarray) -> np.ndarray:
    """Absolute noise-mask responses of an image (H, W), 2 border pixels dropped: (H - 4, W - 4)."""
    return np.abs(cv2.filter2D(image, -1, _MASK, borderType=cv2.BORDER_REFLECT))[2:-2, 2:-2]


def _brightness(image: np.ndarray) -> np.ndarray:
    """Local brightness (5x5 mean) of an image (H, W), 2 border pixels dropped: (H - 4, W - 4)."""
    return cv2.blur(image, (5, 5))[2:-2, 2:-2]


def _sampled(values: np.ndarray, keep: np.ndarray | None) -> np.ndarray:
    """``values`` (H - 4, W - 4) of an image (H, W), flattened and thinned to about ``SAMPLES`` pixels by a regular
    stride; the pixels outside ``keep`` (a boolean (H, W), None: keep all) left out."""
    step = max(1, math.ceil(math.sqrt(values.size / SAMPLES)))
    if keep is None:
        return values[::step, ::step].ravel()
    return values[::step, ::step][keep[2:-2, 2:-2][::step, ::step]]


def _pooled(pairs) -> tuple[np.ndarray, np.ndarray]:
    """(responses, brightness) pairs -> the two concatenated."""
    responses, levels = zip(*pairs, strict=True)
    return np.concatenate(responses), np.concatenate(levels)


def _bin_sigma(
    response: np.ndarray, level: np.ndarray, low: float, high: float, quantile: float
) -> tuple[float, float] | None:
    """(noise standard deviation, mean brightness) of the pixels whose brightness lies in [low, high], from the
    lower ``quantile`` of their responses; None for fewer than ``MIN_BIN_PIXELS``."""
    chosen = (level >= low) & (level <= high)
    if chosen.sum() < MIN_BIN_PIXELS:
        return None
    values = response[chosen]
    calm = values <= np.quantile(values, quantile)  # the flattest pixels of the bin
    # |N(0, 36 s^2)| has median 0.6745 * 6 s; among the lower half, the median is the 25th percentile overall.
    return float(np.median(values[calm]) / (6 * _half_normal_quantile(quantile / 2))), float(level[chosen].mean())


def _half_normal_quantile(q: float) -> float:
    """The q-quantile of |N(0, 1)|."""
    from scipy.stats import norm

    return float(norm.ppf(0.5 + q / 2))
