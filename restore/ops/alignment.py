"""Global alignment of burst frames to the reference (frame 0) by a translation found with phase correlation.

``phase_translation`` is the sub-pixel estimate (OpenCV, Hann window), checked: phase correlation whitens the spectrum,
so on a featureless or noise-dominated frame its peak lands anywhere, and a translation that does not bring the
frame closer to the reference is replaced by none. ``align_whole_pixels`` moves every frame, in
place, by the nearest whole-pixel translation: the pixels themselves are only moved, not interpolated, so each frame's noise
keeps the statistics the burst noise model gives it, and what is left of the misalignment (at most half a pixel plus
the estimate's error) is within the reach of a burst network's kernels.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

__all__ = ["align_whole_pixels", "phase_translation"]


MAX_SIDE = 2048  # the translation is global: a centre crop this large finds it, at a fraction of a 12 MP FFT


def _even_dft_size(n: int) -> int:
    """The largest even size <= ``n`` whose DFT OpenCV runs unpadded. (OpenCV pads to its optimal DFT size and reads
    the peak against the padded size's half: an odd padded size biases the estimate by half a pixel.)"""
    size = n - n % 2
    while size > 2 and cv2.getOptimalDFTSize(size) != size:
        size -= 2
    return size


def phase_translation(reference: np.ndarray, frame: np.ndarray) -> tuple[float, float]:
    """Sub-pixel (dx, dy) that moves ``frame`` (H, W) onto ``reference`` (H, W): frame(x, y) ~ reference(x+dx, y+dy).

    Estimated on a centre crop (even DFT-friendly sides, at most ``MAX_SIDE``) with a Hann window, and kept only if
    the frame moved by it matches the reference's crop better than the frame as it is (``_misfits``); else (0, 0)."""
    height, width = (_even_dft_size(min(n, MAX_SIDE)) for n in reference.shape)
    top, left = (reference.shape[0] - height) // 2, (reference.shape[1] - width) // 2
    crop = np.s_[top : top + height, left : left + width]
    reference, frame = reference[crop].astype(np.float64), frame[crop].astype(np.float64)
    window = cv2.createHanningWindow((width, height), cv2.CV_64F)
    (dx, dy), _ = cv2.phaseCorrelate(frame, reference, window)
    moved, still = _misfits(reference, frame, dx, dy)
    return (dx, dy) if moved < still else (0.0, 0.0)


def _misfits(reference: np.ndarray, frame: np.ndarray, dx: float, dy: float) -> tuple[float, float]:
    """Mean squared differences from ``reference`` (H, W) of ``frame`` (H, W) moved by (dx, dy) (bilinear) and of
    ``frame`` as it is, over the pixels that the move keeps inside, after a Gaussian blur (sigma 1) that leaves less
    of the noise in the comparison."""
    height, width = frame.shape
    margin_x, margin_y = math.ceil(abs(dx)), math.ceil(abs(dy))
    if 2 * margin_x >= width or 2 * margin_y >= height:
        return math.inf, 0.0
    reference, frame = (cv2.GaussianBlur(image, (0, 0), 1.0) for image in (reference, frame))
    moved = cv2.warpAffine(frame, np.float64([[1, 0, dx], [0, 1, dy]]), (width, height), flags=cv2.INTER_LINEAR)
    inside = np.s_[margin_y : height - margin_y, margin_x : width - margin_x]
    return (
        float(np.mean((moved[inside] - reference[inside]) ** 2)),
        float(np.mean((frame[inside] - reference[inside]) ** 2)),
    )


def shift_whole_pixels(frame: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """``frame`` (H, W[, C]) moved by whole pixels: out(x + dx, y + dy) = frame(x, y); edges are replicated."""
    height, width = frame.shape[:2]
    pad = ((abs(dy), abs(dy)), (abs(dx), abs(dx))) + ((0, 0),) * (frame.ndim - 2)
    padded = np.pad(frame, pad, mode="edge")
    top, left = abs(dy) - dy, abs(dx) - dx
    return padded[top : top + height, left : left + width]


def align_whole_pixels(burst: np.ndarray) -> list[tuple[int, int]]:
    """Move frames 1.. of ``burst`` (N, H, W, C), in place, onto frame 0 by whole pixels; returns each frame's (dx, dy).

    The translation of each frame is estimated on the channel mean and rounded to the nearest pixel. In place, so
    that a 24-megapixel burst is not held twice.
    """
    reference = burst[0].mean(axis=-1)
    shifts = [(0, 0)]
    for frame in burst[1:]:
        dx, dy = (round(v) for v in phase_translation(reference, frame.mean(axis=-1)))
        if dx or dy:
            frame[...] = shift_whole_pixels(frame, dx, dy)
        shifts.append((dx, dy))
    return shifts
