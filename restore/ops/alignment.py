"""Global alignment of burst frames to the reference (frame 0) by a translation found with phase correlation.

``phase_translation`` is the sub-pixel estimate (OpenCV, Hann window), checked: phase correlation whitens the
spectrum, so on a featureless or noise-dominated frame its peak lands anywhere, and a translation that does not bring
the frame closer to the reference is replaced by none. ``align_whole_pixels`` moves every frame, in place, by the
nearest whole-pixel translation: the pixels themselves are only moved, not interpolated, so each frame's noise keeps
the statistics the burst noise model gives it, and what is left of the misalignment (at most half a pixel plus the
estimate's error) is within the reach of a burst network's kernels. Given a torch device (a burst network on CUDA
gives its GPU), it finds the translations of all frames at once there (``whole_pixel_shifts``), the same ones OpenCV
finds.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["align_whole_pixels", "phase_translation", "whole_pixel_shifts"]


MAX_SIDE = 2048  # the translation is global: a centre crop this large finds it, at a fraction of a 12 MP FFT
_BLUR_REACH = 4  # pixels on each side of the 9-tap Gaussian blur of the misfit check (``_gaussian_blurred``)


def _even_dft_size(n: int) -> int:
    """The largest even size <= ``n`` whose DFT OpenCV runs unpadded. (OpenCV pads to its optimal DFT size and reads
    the peak against the padded size's half: an odd padded size biases the estimate by half a pixel.)"""
    size = n - n % 2
    while size > 2 and cv2.getOptimalDFTSize(size) != size:
        size -= 2
    return size


def _centre_crop(height: int, width: int) -> tuple[slice, slice]:
    """The centre crop of an image (height, width) that its translation is estimated on: even DFT-friendly sides
    (``_even_dft_size``) of at most ``MAX_SIDE``."""
    crop_height, crop_width = (_even_dft_size(min(n, MAX_SIDE)) for n in (height, width))
    top, left = (height - crop_height) // 2, (width - crop_width) // 2
    return slice(top, top + crop_height), slice(left, left + crop_width)


def phase_translation(reference: np.ndarray, frame: np.ndarray) -> tuple[float, float]:
    """Sub-pixel (dx, dy) that moves ``frame`` (H, W) onto ``reference`` (H, W): frame(x, y) ~ reference(x+dx, y+dy).

    Estimated on the centre crop (``_centre_crop``) with a Hann window, and kept only if the frame moved by it
    matches the reference's crop better than the frame as it is (``_misfits``); else (0, 0)."""
    crop = _centre_crop(*reference.shape)
    reference, frame = reference[crop].astype(np.float64), frame[crop].astype(np.float64)
    window = cv2.createHanningWindow(reference.shape[::-1], cv2.CV_64F)
    (dx, dy), _ = cv2.phaseCorrelate(frame, reference, window)
    moved, still = _misfits(reference, frame, dx, dy)
    return (dx, dy) if moved < still else (0.0, 0.0)


def _misfits(reference: np.ndarray, frame: np.ndarray, dx: float, dy: float) -> tuple[float, float]:
    """Mean squared differences from ``reference`` (H, W) of ``frame`` (H, W) moved by (dx, dy) (bilinear) and of
    ``frame`` as it is, over the pixels that the move keeps inside, after a Gaussian blur (sigma 1) that leaves less
    of the noise in the comparison."""
    height, width = frame.shape
    inside = _overlap(height, width, dx, dy)
    if inside is None:
        return math.inf, 0.0
    reference, frame = (cv2.GaussianBlur(image, (0, 0), 1.0) for image in (reference, frame))
    moved = cv2.warpAffine(frame, np.float64([[1, 0, dx], [0, 1, dy]]), (width, height), flags=cv2.INTER_LINEAR)
    return _mean_squares(reference, frame, moved, inside)


def _overlap(height: int, width: int, dx: float, dy: float) -> tuple[slice, slice] | None:
    """The pixels of an (height, width) image that a move by (dx, dy) keeps inside it; None where it keeps none."""
    margin_x, margin_y = math.ceil(abs(dx)), math.ceil(abs(dy))
    if 2 * margin_x >= width or 2 * margin_y >= height:
        return None
    return slice(margin_y, height - margin_y), slice(margin_x, width - margin_x)


def _mean_squares(reference, frame, moved, inside: tuple[slice, slice]) -> tuple[float, float]:
    """The mean squared differences from ``reference`` of ``moved`` and of ``frame`` over ``inside`` (NumPy arrays
    or torch tensors alike)."""
    return (
        float(((moved[inside] - reference[inside]) ** 2).mean()),
        float(((frame[inside] - reference[inside]) ** 2).mean()),
    )


def shift_whole_pixels(frame: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """``frame`` (H, W[, C]) moved by whole pixels: out(x + dx, y + dy) = frame(x, y); edges are replicated."""
    height, width = frame.shape[:2]
    pad = ((abs(dy), abs(dy)), (abs(dx), abs(dx))) + ((0, 0),) * (frame.ndim - 2)
    padded = np.pad(frame, pad, mode="edge")
    top, left = abs(dy) - dy, abs(dx) - dx
    return padded[top : top + height, left : left + width]


def align_whole_pixels(burst: np.ndarray, device: str | torch.device | None = None) -> list[tuple[int, int]]:
    """Move frames 1.. of ``burst`` (N, H, W, C), in place, onto frame 0 by whole pixels; returns each frame's (dx, dy).

    The translation of each frame is estimated on the channel mean and rounded to the nearest pixel: by
    ``phase_translation`` (OpenCV) frame by frame, or, given a torch ``device``, by ``whole_pixel_shifts`` for all
    frames at once there (e.g. on the GPU a burst network runs on; frames whose crop is too small for its mirrored
    blur, 4 px or less, go the OpenCV way). In place, so that a 24-megapixel burst is not held twice.
    """
    rows, cols = _centre_crop(*burst.shape[1:3])
    if device is None or min(rows.stop - rows.start, cols.stop - cols.start) <= _BLUR_REACH:
        reference = burst[0].mean(axis=-1)
        shifts = [(0, 0)] + [
            tuple(round(v) for v in phase_translation(reference, frame.mean(axis=-1))) for frame in burst[1:]
        ]
    else:
        means = np.stack([frame[rows, cols].mean(axis=-1) for frame in burst]).astype(np.float64)
        shifts = whole_pixel_shifts(torch.from_numpy(means).to(device))
    for frame, (dx, dy) in zip(burst[1:], shifts[1:], strict=True):
        if dx or dy:
            frame[...] = shift_whole_pixels(frame, dx, dy)
    return shifts


def whole_pixel_shifts(means: torch.Tensor) -> list[tuple[int, int]]:
    """Whole-pixel (dx, dy) that move each frame of ``means`` (N, H, W), float64 on any device, onto frame 0 ((0, 0)
    for frame 0): ``phase_translation`` for all frames at once in torch, then rounded. The same correlation as OpenCV's
    (its window, the square root of the outer product of two Hann windows; its 5x5 weighted centroid around the peak;
    float64, as float32 moves the centroid by up to 0.4 px on weak peaks) and the same check (``_misfits``), with exact
    bilinear moves where OpenCV's ``warpAffine`` rounds them to 1/32 px."""
    _, height, width = means.shape
    device = means.device
    hann = [torch.hann_window(n, periodic=False, dtype=means.dtype, device=device) for n in (height, width)]
    spectra = torch.fft.rfft2(means * torch.outer(*hann).sqrt())
    cross = spectra[1:] * spectra[:1].conj()
    cross = cross / (cross.abs() + torch.finfo(means.dtype).eps)
    surfaces = torch.fft.fftshift(torch.fft.irfft2(cross, s=(height, width)), dim=(-2, -1))
    peaks = surfaces.flatten(1).argmax(dim=1)
    peak_y, peak_x = peaks // width, peaks % width
    box = torch.arange(-2, 3, device=device)  # 5x5 around the peak; zero padding leaves out what lies outside
    box_y, box_x = (peak_y[:, None] + box)[:, :, None], (peak_x[:, None] + box)[:, None, :]
    frames = torch.arange(len(surfaces), device=device)[:, None, None]
    weights = F.pad(surfaces, (2, 2, 2, 2))[frames, box_y + 2, box_x + 2]
    total = weights.sum(dim=(1, 2))
    dx = width / 2 - (weights * box_x).sum(dim=(1, 2)) / total
    dy = height / 2 - (weights * box_y).sum(dim=(1, 2)) / total
    blurred = _gaussian_blurred(means)
    shifts = [(0, 0)]
    for frame, x, y in zip(blurred[1:], dx.tolist(), dy.tolist(), strict=True):
        moved, still = _torch_misfits(blurred[0], frame, x, y)
        shifts.append((round(x), round(y)) if moved < still else (0, 0))
    return shifts


def _gaussian_blurred(images: torch.Tensor) -> torch.Tensor:
    """(N, H, W) after ``_misfits``'s Gaussian blur: OpenCV's kernel for sigma 1 (9 taps), mirrored borders; as
    weighted sums of shifted views (a float64 ``conv2d`` on the CPU is many times slower)."""
    taps = cv2.getGaussianKernel(2 * _BLUR_REACH + 1, 1.0, cv2.CV_64F)[:, 0].tolist()
    height, width = images.shape[-2:]
    padded = F.pad(images[:, None], (_BLUR_REACH,) * 4, mode="reflect")[:, 0]
    rows = sum(tap * padded[:, i : i + height] for i, tap in enumerate(taps))
    return sum(tap * rows[:, :, i : i + width] for i, tap in enumerate(taps))


def _torch_misfits(reference: torch.Tensor, frame: torch.Tensor, dx: float, dy: float) -> tuple[float, float]:
    """``_misfits`` on blurred (H, W) tensors: the mean squared differences from ``reference`` of ``frame`` moved by
    (dx, dy) (bilinear) and of ``frame`` as it is, over the pixels the move keeps inside."""
    height, width = frame.shape
    inside = _overlap(height, width, dx, dy)
    if inside is None:
        return math.inf, 0.0
    ys = (torch.arange(height, dtype=frame.dtype, device=frame.device) - dy) * (2 / max(height - 1, 1)) - 1
    xs = (torch.arange(width, dtype=frame.dtype, device=frame.device) - dx) * (2 / max(width - 1, 1)) - 1
    grid = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), dim=-1)[None]
    moved = F.grid_sample(frame[None, None], grid, mode="bilinear", align_corners=True)[0, 0]
    return _mean_squares(reference, frame, moved, inside)
