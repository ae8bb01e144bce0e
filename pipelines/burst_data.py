"""Synthetic handheld bursts from clean photos, following the KPN paper's protocol (Mildenhall et al. 2018).

From a large crop of a clean sRGB photo: undo the sRGB curve (linear intensities), cut ``frames`` windows with
random per-frame translations (the first frame is the reference and stays centred; with a small probability a frame
is displaced far enough not to match), downsample by ``downsample`` with area averaging so that the shifts become
sub-pixel, scale by a random white level, and add signal-dependent noise with standard deviation
``sqrt(read^2 + shot^2 * x)``, ``read = 10^U(-3, -1.5)``, ``shot = 10^U(-2, -1)``. The network also gets the
per-pixel noise level estimated from the noisy reference frame. Runs on batches on any device.

Gray bursts come from gray crops. Raw Bayer bursts (``BurstSpec.bayer``) come from RGB crops: unprocessed into a
random camera's linear raw RGB (``restore.ops.unprocess``: inverse tone curve, sRGB curve, color matrix and white
balance), windowed and downsampled the same way to twice the output size, sampled through an RGGB color filter
array and packed into 4 half-resolution planes (R, G, G, B); the noise is added to each raw pixel. Shifts and sizes
are then in packed pixels.

The KPN paper's four gain levels (``GAINS``) fix the two noise parameters (``gain_noise``): benchmarks test at
them, and the trainer validates at them.

``prealigned`` moves a synthetic burst's frames, all but its outlier frames, onto its reference by whole pixels, as
``kpn-burst``'s inference does before its network sees them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F
from torch import Tensor

from restore.io.raw import CFA
from restore.ops.alignment import align_whole_pixels
from restore.ops.bayer import mosaic_rgb, pack_bayer
from restore.ops.burst_noise import noise_level_map
from restore.ops.color import linear_from_srgb
from restore.ops.unprocess import random_cameras, unprocess

__all__ = ["GAINS", "Burst", "BurstSpec", "gain_noise", "prealigned", "synthesize_bursts"]

GAINS = (1, 2, 4, 8)


def gain_noise(gain: float) -> tuple[float, float]:
    """(read, shot) standard deviations of a gain level, log-linear in the gain: (0.004, 0.025) at gain 1 to (0.032,
    0.1) at gain 8, the top of both training ranges (``BurstSpec.log_read``, ``log_shot``)."""
    return 10 ** (-2.4 + math.log10(gain)), 10 ** (-1.6 + 0.2 * math.log2(gain))


@dataclass(frozen=True)
class BurstSpec:
    """How bursts are made; sizes of the output frames in pixels, shifts in output pixels."""

    frames: int = 8
    size: int = 64
    downsample: int = 4
    max_shift: float = 2.0  # per axis, uniform, for frames other than the reference
    outlier_probability: float = 0.1
    outlier_shift: float = 8.0  # displacement of a frame that does not match
    log_read: tuple[float, float] = (-3.0, -1.5)
    log_shot: tuple[float, float] = (-2.0, -1.0)
    white_level: tuple[float, float] = (0.1, 1.0)
    bayer: bool = False  # RGB crops -> packed RGGB raw frames (4 planes of size x size)

    def __post_init__(self) -> None:
        """Refuse shifts the crop cannot hold or that are not whole pixels before downsampling."""
        step = self.downsample * self.mosaic_scale
        for name, shift in (("max_shift", self.max_shift), ("outlier_shift", self.outlier_shift)):
            if shift < 0 or shift * step != int(shift * step):
                raise ValueError(f"{name} must be a multiple of 1/{step} output pixel (0 or more), got {shift:g}")
        if self.max_shift > self.outlier_shift:
            raise ValueError(
                f"max_shift ({self.max_shift:g}) cannot exceed outlier_shift ({self.outlier_shift:g}), which sizes the "
                "crop the frames are cut from"
            )

    @property
    def channels(self) -> int:
        """Channels of a clean crop (1 gray, 3 RGB) and of an output frame (1 gray, 4 packed Bayer planes)."""
        return 3 if self.bayer else 1

    @property
    def mosaic_scale(self) -> int:
        """Full-resolution pixels per output pixel before downsampling: 2 for packed Bayer planes, else 1."""
        return 2 if self.bayer else 1

    @property
    def crop(self) -> int:
        """Side of the clean sRGB crop a burst is cut from."""
        step = self.downsample * self.mosaic_scale
        return self.size * step + 2 * int(self.outlier_shift * step)


@dataclass(frozen=True)
class Burst:
    """A batch of synthetic bursts: ``noisy`` (B, N, C, H, W), ``clean`` reference (B, C, H, W), linear, and the
    noise parameters (B,) and noise-level map (B, C, H, W) of the noisy reference; C is 1 (gray) or 4 (packed
    RGGB planes of a raw burst). ``outliers`` (B, N) bool marks the frames that do not match (displaced far)."""

    noisy: Tensor
    clean: Tensor
    read: Tensor
    shot: Tensor
    noise_level: Tensor
    outliers: Tensor


def _log_uniform(low: float, high: float, batch: int, generator, device) -> Tensor:
    return 10 ** (low + (high - low) * torch.rand(batch, generator=generator, device=device))


def synthesize_bursts(
    crops: Tensor,
    spec: BurstSpec = BurstSpec(),
    generator: torch.Generator | None = None,
    read: Tensor | None = None,
    shot: Tensor | None = None,
) -> Burst:
    """Clean sRGB crops (B, spec.channels, spec.crop, spec.crop) on [0, 1] -> a batch of noisy bursts.

    ``read``/``shot`` (B,) fix the noise levels (e.g. a benchmark's gain); by default they are drawn per burst.
    """
    batch, device = crops.shape[0], crops.device
    expected = (spec.channels, spec.crop, spec.crop)
    if crops.shape[1:] != expected:
        raise ValueError(f"crops must be (B, {', '.join(map(str, expected))}) for this spec, got {tuple(crops.shape)}")
    if spec.bayer:
        linear = unprocess(crops, random_cameras(batch, generator, device))
    else:
        linear = linear_from_srgb(crops.expand(-1, 3, -1, -1))[:, :1]
    step = spec.downsample * spec.mosaic_scale  # full-resolution pixels per output pixel
    window = spec.size * step
    centre = (spec.crop - window) // 2
    limit = int(spec.max_shift * step)
    far = int(spec.outlier_shift * step)
    frames, outliers = [], torch.zeros(batch, spec.frames, dtype=torch.bool, device=device)
    for index in range(spec.frames):
        offsets = torch.randint(-limit, limit + 1, (batch, 2), generator=generator, device=device)
        if index == 0:
            offsets.zero_()
        else:
            outlier = torch.rand(batch, generator=generator, device=device) < spec.outlier_probability
            outliers[:, index] = outlier
            far_offsets = torch.randint(-far, far + 1, (batch, 2), generator=generator, device=device)
            offsets = torch.where(outlier[:, None], far_offsets, offsets)
        windows = [
            linear[b, :, centre + dy : centre + dy + window, centre + dx : centre + dx + window]
            for b, (dy, dx) in enumerate(offsets.tolist())
        ]
        frame = F.avg_pool2d(torch.stack(windows), spec.downsample)
        frames.append(pack_bayer(mosaic_rgb(frame, CFA.RGGB), CFA.RGGB) if spec.bayer else frame)
    low, high = spec.white_level
    scale = low + (high - low) * torch.rand(batch, generator=generator, device=device)
    clean_frames = torch.stack(frames, dim=1) * scale.view(-1, 1, 1, 1, 1)
    read = _log_uniform(*spec.log_read, batch, generator, device) if read is None else read.to(device)
    shot = _log_uniform(*spec.log_shot, batch, generator, device) if shot is None else shot.to(device)
    std = (read.view(-1, 1, 1, 1, 1) ** 2 + shot.view(-1, 1, 1, 1, 1) ** 2 * clean_frames).sqrt()
    noise = torch.randn(clean_frames.shape, generator=generator, device=device)
    noisy = clean_frames + noise * std
    return Burst(noisy, clean_frames[:, 0], read, shot, noise_level_map(noisy[:, 0], read, shot), outliers)


def prealigned(burst: Burst) -> Burst:
    """``burst`` with frames 1.. of every burst moved onto its reference by whole pixels, as ``kpn-burst``'s inference
    does (``restore.ops.alignment.align_whole_pixels``, on the CPU): the network then trains on the misalignment that
    inference leaves it, at most half a pixel plus the estimate's error, instead of learning to distrust displaced
    frames that inference would have brought back. The frames that do not match (``outliers``) stay where they are,
    as content that alignment cannot bring back (a moving subject, a failed estimate), so the network still learns to
    leave them out. The reference, the clean target and the noise level are unchanged.
    """
    frames = burst.noisy.detach().permute(0, 1, 3, 4, 2).cpu().numpy().copy()  # (B, N, H, W, C)
    for burst_frames, outliers in zip(frames, burst.outliers.cpu().numpy()):
        unmatched = burst_frames[outliers].copy()
        align_whole_pixels(burst_frames)
        burst_frames[outliers] = unmatched
    aligned = torch.from_numpy(frames).permute(0, 1, 4, 2, 3).contiguous().to(burst.noisy.device)
    return replace(burst, noisy=aligned)
