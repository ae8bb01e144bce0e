"""The U-Net of "Learning to See in the Dark" (Chen et al., CVPR 2018): packed Bayer in, full-resolution RGB out."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["SIDUNet"]


def _double_conv(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, padding=1),
        nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(out_channels, out_channels, 3, padding=1),
        nn.LeakyReLU(0.2, inplace=True),
    )


class SIDUNet(nn.Module):
    """U-Net with ``levels`` 2x poolings and skip connections; a sub-pixel (depth-to-space) output layer.

    Input (B, in_channels, h, w) with h and w multiples of ``2 ** levels`` (``multiple``); output
    (B, out_channels, 2h, 2w). With the defaults (4 packed RGGB planes in, 3 RGB out, 32 features, 4 levels) it is
    the SID network.
    """

    def __init__(self, in_channels: int = 4, out_channels: int = 3, features: int = 32, levels: int = 4) -> None:
        super().__init__()
        widths = [features * 2**level for level in range(levels + 1)]
        self.encoders = nn.ModuleList()
        previous = in_channels
        for width in widths:
            self.encoders.append(_double_conv(previous, width))
            previous = width
        self.upsamplers = nn.ModuleList(
            nn.ConvTranspose2d(wide, narrow, 2, stride=2) for wide, narrow in zip(widths[:0:-1], widths[-2::-1])
        )
        self.decoders = nn.ModuleList(_double_conv(2 * narrow, narrow) for narrow in widths[-2::-1])
        self.to_subpixels = nn.Conv2d(features, out_channels * 4, 1)
        self.multiple = 2**levels

    def forward(self, x: Tensor) -> Tensor:
        skips = []
        for index, encoder in enumerate(self.encoders):
            if index:
                x = F.max_pool2d(x, 2)
            x = encoder(x)
            skips.append(x)
        skips.pop()
        for upsample, decoder in zip(self.upsamplers, self.decoders):
            x = decoder(torch.cat([upsample(x), skips.pop()], dim=1))
        return F.pixel_shuffle(self.to_subpixels(x), 2)
