"""Classical burst denoisers: the baselines of ``kpn-burst``.

Bursts are float arrays (N, H, W) or, with color frames, (N, H, W, C) of linear intensities, frame 0 the reference;
``read`` and ``shot`` are the noise model's standard-deviation parameters (std = sqrt(read^2 + shot^2 x)), the same
for every channel. Every function returns the (H, W) or (H, W, C) estimate of the reference frame. The channels of a
frame move together: its translation (and HDR+'s tile offsets) is estimated once, on the channel mean, and applied to
every channel; the merging and denoising then run channel by channel, but for ``reference_bm3d``'s CBM3D on an RGB
reference.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import cv2
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from restore.baselines import bm3d_profile, cbm3d_denoise, mirrored_to_min_side, run_bm3d
from restore.ops.alignment import align_whole_pixels, phase_translation
from restore.ops.vst import anscombe, unbiased_inverse_anscombe

if TYPE_CHECKING:
    from bm4d import BM4DProfile

__all__ = [
    "align_and_average",
    "align_frames",
    "aligned_bm4d",
    "average",
    "bm4d_profile",
    "hdrplus_merge",
    "reference_bm3d",
]


def _with_channels(burst: np.ndarray) -> np.ndarray:
    """A burst (N, H, W) or (N, H, W, C) as a float64 array (N, H, W, C): a view where it already is one."""
    burst = np.asarray(burst, dtype=np.float64)
    return burst[..., None] if burst.ndim == 3 else burst


def _in_layout_of(estimate: np.ndarray, burst: np.ndarray) -> np.ndarray:
    """An estimate (H, W, C) in the layout of ``burst``'s frames: (H, W) for a burst (N, H, W)."""
    return estimate[..., 0] if np.ndim(burst) == 3 else estimate


def _channel_by_channel(restore_channel: Callable[[np.ndarray], np.ndarray], frames: np.ndarray) -> np.ndarray:
    """``restore_channel`` ((N, H, W) -> (H, W)) on each channel of ``frames`` (N, H, W, C) -> (H, W, C)."""
    return np.stack([restore_channel(np.ascontiguousarray(frames[..., c])) for c in range(frames.shape[-1])], axis=-1)


def average(burst: np.ndarray) -> np.ndarray:
    """The plain mean of the frames (no alignment)."""
    return burst.mean(axis=0)


def align_frames(burst: np.ndarray) -> np.ndarray:
    """Every frame of (N, H, W[, C]) moved onto the reference by its global translation (phase correlation on the
    channel mean, bilinear, reflected borders) -> float64 of the same shape, frame 0 unchanged."""
    frames = _with_channels(burst)
    means = frames.mean(axis=-1)
    height, width = means.shape[1:]
    aligned = [frames[0]]
    for frame, mean in zip(frames[1:], means[1:], strict=True):
        dx, dy = phase_translation(means[0], mean)
        shift = np.float64([[1, 0, dx], [0, 1, dy]])
        moved = cv2.warpAffine(frame, shift, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        aligned.append(moved.reshape(frame.shape))
    return _in_layout_of(np.stack(aligned), burst)


def align_and_average(burst: np.ndarray) -> np.ndarray:
    """Align every frame to the reference by a global translation (phase correlation), then average."""
    return align_frames(burst).mean(axis=0)


NEGLIGIBLE_SHOT_SHARE = 0.01  # see _under_noise_model


def _noise_at_mean(frame: np.ndarray, read: float, shot: float) -> float:
    """The noise model's standard deviation at the frame's mean level."""
    return float(np.sqrt(read**2 + shot**2 * max(frame.mean(), 0.0)))


def _under_noise_model(
    denoise: Callable[[np.ndarray, float], np.ndarray],
    data: np.ndarray,
    reference: np.ndarray,
    read: float,
    shot: float,
    stabilize: bool,
) -> np.ndarray:
    """``denoise(data, sigma)``, a denoiser for noise of one standard deviation, on data whose noise follows the model.

    ``stabilize``: under the generalized Anscombe transform, where that noise has unit standard deviation, and back
    through its exact unbiased inverse (``restore.ops.vst``); otherwise at the model's standard deviation at the
    ``reference`` frame's mean level. So too where the noise is of one level already, its shot part adding less than
    ``NEGLIGIBLE_SHOT_SHARE`` of the read variance even at the brightest value: there the transform would be all
    offset (about 2 read / shot^2) and little signal, beyond the float32 precision that BM3D and BM4D compute in.
    """
    brightest = max(float(data.max()), 0.0)
    if not stabilize or shot**2 * brightest <= NEGLIGIBLE_SHOT_SHARE * read**2:
        return denoise(data, _noise_at_mean(reference, read, shot))
    shot_variance, read_variance = shot**2, read**2
    estimate = denoise(anscombe(data, shot_variance, read_variance), 1.0)
    return unbiased_inverse_anscombe(estimate, shot_variance, read_variance)


def reference_bm3d(
    burst: np.ndarray, read: float, shot: float, stabilize: bool = True, color: str = "cbm3d"
) -> np.ndarray:
    """BM3D on the reference frame alone, its signal-dependent noise stabilized first (``_under_noise_model``;
    ``stabilize=False``: at one level, as before 2026-12-05). An RGB reference gets CBM3D with ``color="cbm3d"``
    (``restore.baselines.cbm3d_denoise``: opponent color transform, block matching on the luminance), or BM3D channel
    by channel with ``"channels"`` (before 2026-12-05); other channel counts always go channel by channel."""
    if color not in ("cbm3d", "channels"):
        raise ValueError(f"color is 'cbm3d' or 'channels', got {color!r}")
    frames = _with_channels(burst)
    if frames.shape[-1] == 3 and color == "cbm3d":
        return _under_noise_model(_cbm3d_at, frames[0], frames[0], read, shot, stabilize)

    def reference_channel(channel: np.ndarray) -> np.ndarray:
        return _under_noise_model(run_bm3d, channel[0], channel[0], read, shot, stabilize)

    return _in_layout_of(_channel_by_channel(reference_channel, frames), burst)


def _cbm3d_at(image: np.ndarray, level: float) -> np.ndarray:
    """CBM3D on an RGB image (H, W, 3) with noise of standard deviation ``level`` in the image's own units."""
    return cbm3d_denoise(image, 255.0 * level)


def aligned_bm4d(
    burst: np.ndarray, read: float, shot: float, stabilize: bool = True, subpixel: bool = False
) -> np.ndarray:
    """BM4D (Maggioni et al. 2013) on the aligned burst taken as a volume (H, W, N), channel by channel, its
    signal-dependent noise stabilized first (``_under_noise_model``; ``stabilize=False``: at one level, as before
    2026-12-05); returns the reference's slice. Frames are moved onto the reference by their nearest whole-pixel
    translation (``align_whole_pixels``), which keeps their noise independent from pixel to pixel (but for the strips
    a shift brings in at the borders, which repeat the edge), or with ``subpixel`` by the bilinear sub-pixel one
    (``align_frames``, before 2026-12-05), which smooths it. About 7 s for 8 frames of 112 x 112 on one thread, per
    channel: a benchmark baseline, not for full-size bursts."""
    import bm4d

    height, width = np.shape(burst)[1:3]
    if subpixel:
        frames = _with_channels(align_frames(burst))
    else:
        frames = np.array(_with_channels(burst))  # a copy: align_whole_pixels moves frames in place
        align_whole_pixels(frames)

    def reference_slice(data: np.ndarray, sigma: float) -> np.ndarray:
        estimate = bm4d.bm4d(mirrored_to_min_side(data), sigma, bm4d_profile(len(burst)))
        return np.asarray(estimate[:height, :width, 0], dtype=np.float64)

    def reference_channel(channel: np.ndarray) -> np.ndarray:
        volume = np.moveaxis(channel, 0, -1)
        return _under_noise_model(reference_slice, volume, volume[..., 0], read, shot, stabilize)

    return _in_layout_of(_channel_by_channel(reference_channel, frames), burst)


def bm4d_profile(frames: int) -> BM4DProfile:
    """BM4D's default profile, its blocks made no deeper than a burst of ``frames`` (at least 2) along the frames.

    The defaults (4x4x4 blocks for hard thresholding, 5x5x5 for the Wiener stage) need 5 frames; for 2 to 4 the
    hard-thresholding depth becomes the largest power of two that fits (its Haar/bior transform needs one) and the
    Wiener depth the burst's length, steps no longer than the depths.
    """
    from bm4d import BM4DProfile

    profile = BM4DProfile()
    profile.num_threads = bm3d_profile().num_threads
    hard_depth = min(profile.bs_ht[2], 2 ** int(np.log2(frames)))
    wiener_depth = min(profile.bs_wiener[2], frames)
    profile.bs_ht = (*profile.bs_ht[:2], hard_depth)
    profile.bs_wiener = (*profile.bs_wiener[:2], wiener_depth)
    profile.step_ht = (*profile.step_ht[:2], min(profile.step_ht[2], hard_depth))
    profile.step_wiener = (*profile.step_wiener[:2], min(profile.step_wiener[2], wiener_depth))
    return profile


def _tiles(image: np.ndarray, tile: int) -> np.ndarray:
    """Half-overlapping tiles (ty, tx, tile, tile) of an image padded to fit them."""
    return sliding_window_view(image, (tile, tile))[:: tile // 2, :: tile // 2]


def _tile_offsets(
    reference: np.ndarray, frame: np.ndarray, shift: tuple[int, int], tile: int, search: int
) -> list[tuple[np.ndarray, tuple[int, int]]]:
    """Where each tile of ``frame`` (padded, H, W) matches the reference's (padded, H, W) best: for every roll
    (dy, dx) of the frame within ``search`` pixels of its global ``shift`` (dx, dy), the (ty, tx) mask of the tiles
    that take it. The match is the L1 distance of the Gaussian-smoothed tiles (sigma 1.5), so offsets do not fit the
    noise; of equal distances the first roll wins."""
    dx, dy = shift
    smooth_reference = _tiles(cv2.GaussianBlur(reference, (0, 0), 1.5), tile)
    smooth_frame = cv2.GaussianBlur(frame, (0, 0), 1.5)
    rolls = [(oy + dy, ox + dx) for oy in range(-search, search + 1) for ox in range(-search, search + 1)]
    distances = np.stack(
        [
            np.abs(_tiles(np.roll(smooth_frame, roll, axis=(0, 1)), tile) - smooth_reference).sum(axis=(2, 3))
            for roll in rolls
        ]
    )
    best = distances.argmin(axis=0)
    return [(best == index, roll) for index, roll in enumerate(rolls) if (best == index).any()]


def hdrplus_merge(
    burst: np.ndarray, read: float, shot: float, tile: int = 16, search: int = 2, strength: float = 32.0
) -> np.ndarray:
    """Tiled align-and-merge in the style of HDR+ (Hasinoff et al. 2016).

    Each frame is first aligned globally (phase correlation, rounded to whole pixels), then every ``tile`` x
    ``tile`` tile (half-overlapping) is aligned by the integer offset within ``search`` pixels that minimizes the L1
    distance of the Gaussian-smoothed tiles (sigma 1.5; both on the channel mean). Tiles are merged in the frequency
    domain, channel by channel, with the robust pairwise Wiener rule: each frequency of an aligned tile is pulled
    towards the reference's by ``A = |D|^2 / (|D|^2 + strength * sigma^2 * tile^2)``, D their difference, sigma the
    noise level at the tile's mean (``strength`` 32: the best mean over gains 1-8 of 8-256 on held-out training
    photos, ``python -m benchmarks.burst_tuning``; 16 before 2026-12-05, chosen at gain 1 only); where both are 0 (a
    noise-free burst whose tiles agree), A = 0. Tiles are blended back with a raised-cosine window.
    """
    frames = _with_channels(burst)
    count, height, width = frames.shape[:3]
    means = frames.mean(axis=-1)
    # whole-pixel global shifts (dx, dy), estimated on the frames, not on their padding
    shifts = [tuple(round(v) for v in phase_translation(means[0], mean)) for mean in means[1:]]
    pad = tile + search
    padded = np.pad(frames, ((0, 0), (pad, pad), (pad, pad), (0, 0)), mode="reflect")
    padded_means = np.pad(means, ((0, 0), (pad, pad), (pad, pad)), mode="reflect")
    offsets = [
        _tile_offsets(padded_means[0], mean, shift, tile, search)
        for mean, shift in zip(padded_means[1:], shifts, strict=True)
    ]

    def merge_channel(channel: np.ndarray) -> np.ndarray:
        reference = channel[0]
        ref_tiles = _tiles(reference, tile)
        variance = read**2 + shot**2 * np.maximum(ref_tiles.mean(axis=(2, 3)), 0.0)
        ref_spectrum = np.fft.fft2(ref_tiles)
        merged = ref_spectrum.copy()
        for frame, frame_offsets in zip(channel[1:], offsets, strict=True):
            chosen = np.zeros_like(ref_tiles)
            for mask, roll in frame_offsets:
                chosen[mask] = _tiles(np.roll(frame, roll, axis=(0, 1)), tile)[mask]
            spectrum = np.fft.fft2(chosen)
            difference = np.abs(ref_spectrum - spectrum) ** 2
            denominator = difference + strength * variance[:, :, None, None] * tile**2
            pull = np.divide(difference, denominator, out=np.zeros_like(difference), where=denominator > 0)
            merged += spectrum + pull * (ref_spectrum - spectrum)
        blended = _blended(np.real(np.fft.ifft2(merged / count)), reference.shape, tile)
        return blended[pad : pad + height, pad : pad + width]

    return _in_layout_of(_channel_by_channel(merge_channel, padded), burst)


def _blended(tiles: np.ndarray, shape: tuple[int, int], tile: int) -> np.ndarray:
    """Half-overlapping tiles (ty, tx, tile, tile) blended back into an image of ``shape`` with a raised-cosine
    window."""
    window = np.sin(np.pi * (np.arange(tile) + 0.5) / tile) ** 2
    window = window[:, None] * window[None, :]
    out = np.zeros(shape)
    weight = np.zeros(shape)
    step = tile // 2
    for r in range(tiles.shape[0]):
        for c in range(tiles.shape[1]):
            out[r * step : r * step + tile, c * step : c * step + tile] += tiles[r, c] * window
            weight[r * step : r * step + tile, c * step : c * step + tile] += window
    return out / np.maximum(weight, 1e-12)
