"""Synthetic handheld bursts from clean photos, following the KPN paper's protocol (Mildenhall et al. 2018).

From a large crop of a clean sRGB photo: undo the sRGB curve (linear intensities), cut ``frames`` windows with
random per-frame translations (the first frame is the reference and stays centred; with a small probability a frame
is displaced far enough not to match), downsample by ``downsample`` with area averaging so that the shifts become
sub-pixel, scale by a random white level, and add signal-dependent noise with standard deviation
``sqrt(read^2 + shot^2 * x)``, ``read = 10^U(-3, -1.5)``, ``shot = 10^U(-2, -1)``. The network also gets the
per-pixel noise level estimated from the noisy reference frame. Grayscale; runs on batches on any device.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from restore.ops.burst_noise import noise_level_map
from restore.ops.color import linear_from_srgb

__all__ = ["Burst", "BurstSpec", "synthesize_bursts"]


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

    @property
    def crop(self) -> int:
        """Side of the clean sRGB crop a burst is cut from."""
        return int(self.size + 2 * self.outlier_shift) * self.downsample


@dataclass(frozen=True)
class Burst:
    """A batch of synthetic bursts: ``noisy`` (B, N, 1, H, W), ``clean`` reference (B, 1, H, W), linear, and the
    noise parameters (B,) and noise-level map (B, 1, H, W) of the noisy reference."""

    noisy: Tensor
    clean: Tensor
    read: Tensor
    shot: Tensor
    noise_level: Tensor


def _log_uniform(low: float, high: float, batch: int, generator, device) -> Tensor:
    return 10 ** (low + (high - low) * torch.rand(batch, generator=generator, device=device))


def synthesize_bursts(
    crops: Tensor,
    spec: BurstSpec = BurstSpec(),
    generator: torch.Generator | None = None,
    read: Tensor | None = None,
    shot: Tensor | None = None,
) -> Burst:
    """Clean gray sRGB crops (B, 1, spec.crop, spec.crop) on [0, 1] -> a batch of noisy bursts.

    ``read``/``shot`` (B,) fix the noise levels (e.g. a benchmark's gain); by default they are drawn per burst.
    """
    batch, device = crops.shape[0], crops.device
    if crops.shape[1:] != (1, spec.crop, spec.crop):
        raise ValueError(f"crops must be (B, 1, {spec.crop}, {spec.crop}) for this spec, got {tuple(crops.shape)}")
    linear = linear_from_srgb(crops.expand(-1, 3, -1, -1))[:, :1]
    window = spec.size * spec.downsample
    centre = (spec.crop - window) // 2
    limit = int(spec.max_shift * spec.downsample)
    far = int(spec.outlier_shift * spec.downsample)
    frames = []
    for index in range(spec.frames):
        offsets = torch.randint(-limit, limit + 1, (batch, 2), generator=generator, device=device)
        if index == 0:
            offsets.zero_()
        else:
            outlier = torch.rand(batch, generator=generator, device=device) < spec.outlier_probability
            far_offsets = torch.randint(-far, far + 1, (batch, 2), generator=generator, device=device)
            offsets = torch.where(outlier[:, None], far_offsets, offsets)
        windows = [
            linear[b, :, centre + dy : centre + dy + window, centre + dx : centre + dx + window]
            for b, (dy, dx) in enumerate(offsets.tolist())
        ]
        frames.append(F.avg_pool2d(torch.stack(windows), spec.downsample))
    low, high = spec.white_level
    scale = low + (high - low) * torch.rand(batch, generator=generator, device=device)
    clean_frames = torch.stack(frames, dim=1) * scale.view(-1, 1, 1, 1, 1)
    read = _log_uniform(*spec.log_read, batch, generator, device) if read is None else read.to(device)
    shot = _log_uniform(*spec.log_shot, batch, generator, device) if shot is None else shot.to(device)
    std = (read.view(-1, 1, 1, 1, 1) ** 2 + shot.view(-1, 1, 1, 1, 1) ** 2 * clean_frames).sqrt()
    noise = torch.randn(clean_frames.shape, generator=generator, device=device)
    noisy = clean_frames + noise * std
    return Burst(noisy, clean_frames[:, 0], read, shot, noise_level_map(noisy[:, 0], read, shot))
