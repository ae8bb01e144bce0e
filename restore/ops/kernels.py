"""Per-pixel kernels applied to a burst of frames, as in kernel prediction networks (Mildenhall et al. 2018).

Each output pixel is a weighted sum of a K x K neighbourhood around it in every frame, with weights predicted for
that pixel and frame; the network aligns (by shifting weight off-centre) and denoises (by averaging) at once.
"""

from __future__ import annotations

import math

import torch.nn.functional as F
from torch import Tensor

from restore.errors import InvalidImageError

__all__ = ["filter_frames"]


def filter_frames(frames: Tensor, kernels: Tensor) -> Tensor:
    """Filter each frame with its own per-pixel kernels.

    Args:
        frames: (B, N, C, H, W) burst.
        kernels: (B, N, K*K, H, W) weights for every frame and pixel (K odd); shared by the C channels.

    Returns:
        (B, N, C, H, W): frame n's K x K neighbourhoods weighted by its kernels. Beyond the borders the edge pixels
        repeat (zero padding darkened the outer K // 2 pixels: kpn-burst took a flat burst's border 6% down).
    """
    batch, count, channels, height, width = frames.shape
    taps = kernels.shape[2]
    size = math.isqrt(taps)
    if kernels.ndim != 5 or kernels.shape[:2] != (batch, count) or size * size != taps or size % 2 == 0:
        raise InvalidImageError(
            f"kernels must be (B, N, K*K, H, W) with K odd for frames {tuple(frames.shape)}, got {tuple(kernels.shape)}"
        )
    if kernels.shape[-2:] != (height, width):
        raise InvalidImageError(f"kernels cover {tuple(kernels.shape[-2:])} pixels, frames {(height, width)}")
    radius = size // 2
    padded = F.pad(frames.reshape(batch * count, channels, height, width), (radius,) * 4, mode="replicate")
    padded = padded.reshape(batch, count, channels, height + 2 * radius, width + 2 * radius)
    kernels = kernels.contiguous()  # a network's channels_last output would make every tap a strided gather
    out = frames.new_zeros(batch, count, channels, height, width)
    for tap in range(taps):  # tap (dy, dx) weighs the pixel at offset (dy - radius, dx - radius); no K*K copy
        dy, dx = divmod(tap, size)
        out.addcmul_(padded[..., dy : dy + height, dx : dx + width], kernels[:, :, tap : tap + 1])
    return out
