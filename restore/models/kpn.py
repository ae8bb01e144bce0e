"""Kernel prediction network for burst denoising (Mildenhall et al., CVPR 2018).

A U-Net reads the burst and a per-pixel noise-level map and predicts, for every pixel and frame, a K x K kernel; the
output is the mean over frames of each frame filtered with its kernels (``restore.ops.kernels``). Kernels can shift
weight off-centre, so the network aligns and denoises in one pass.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from restore.ops.kernels import filter_frames

__all__ = ["KPN"]


def _block(in_channels: int, out_channels: int, convs: int = 3) -> nn.Sequential:
    layers: list[nn.Module] = []
    for index in range(convs):
        layers += [nn.Conv2d(in_channels if index == 0 else out_channels, out_channels, 3, padding=1), nn.ReLU()]
    return nn.Sequential(*layers)


class KPN(nn.Module):
    """Burst (B, N, C, H, W) and noise level (B, 1, H, W) -> (merged (B, C, H, W), per-frame (B, N, C, H, W)).

    Frames are linear intensities; the noise level map is the per-pixel noise standard deviation of the reference
    frame. H and W must be multiples of ``multiple``. Gray bursts (C = 1) as in the paper; each frame's channels
    share its kernels.
    """

    multiple = 16

    def __init__(self, frames: int = 8, kernel_size: int = 5, widths: tuple[int, ...] = (64, 128, 256, 512)) -> None:
        super().__init__()
        self.frames, self.kernel_size = frames, kernel_size
        self.encoders = nn.ModuleList()
        previous = frames + 1
        for width in widths:
            self.encoders.append(_block(previous, width))
            previous = width
        self.decoders = nn.ModuleList(
            _block(wide + narrow, narrow) for wide, narrow in zip(widths[:0:-1], widths[-2::-1])
        )
        self.to_kernels = nn.Conv2d(widths[0], frames * kernel_size**2, 3, padding=1)
        with torch.no_grad():  # start as the plain average of the frames: centre taps 1, small weights elsewhere
            self.to_kernels.weight.mul_(0.01)
            bias = torch.zeros(frames, kernel_size**2)
            bias[:, kernel_size**2 // 2] = 1.0
            self.to_kernels.bias.copy_(bias.flatten())

    def predict_kernels(self, frames: Tensor, noise_level: Tensor) -> Tensor:
        """(B, N, C, H, W), (B, 1, H, W) -> kernels (B, N, K*K, H, W); the network sees the mean over channels."""
        batch, count, _, height, width = frames.shape
        if count != self.frames:
            raise ValueError(f"this KPN takes bursts of {self.frames} frames, got {count}")
        x = torch.cat([frames.mean(dim=2), noise_level], dim=1)
        skips = []
        for index, encoder in enumerate(self.encoders):
            x = encoder(F.avg_pool2d(x, 2) if index else x)
            skips.append(x)
        skips.pop()
        for decoder in self.decoders:
            skip = skips.pop()
            x = decoder(torch.cat([F.interpolate(x, size=skip.shape[-2:], mode="bilinear"), skip], dim=1))
        return self.to_kernels(x).reshape(batch, count, self.kernel_size**2, height, width)

    def forward(self, frames: Tensor, noise_level: Tensor) -> tuple[Tensor, Tensor]:
        filtered = filter_frames(frames, self.predict_kernels(frames, noise_level))
        return filtered.mean(dim=1), filtered
