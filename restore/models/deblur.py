"""Multi-scale deblurring network (Nah, Kim and Lee, CVPR 2017: "Deep Multi-scale CNN for Dynamic Scene Deblurring").

The blurred image is processed coarse to fine over an image pyramid (scales 1/4, 1/2, 1): each scale sees its own
blurred image and the learned upsampling of the coarser scale's result, and a stack of ResBlocks predicts a residual
on top of its blurred input. With ``shared=True`` all scales use the same weights (the SRN-style recurrent variant).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["MultiScaleDeblur"]


class ResBlock(nn.Module):
    """conv - ReLU - conv with an identity skip (no batch norm, as DeepDeblur)."""

    def __init__(self, features: int, kernel_size: int = 3) -> None:
        super().__init__()
        padding = kernel_size // 2
        self.body = nn.Sequential(
            nn.Conv2d(features, features, kernel_size, padding=padding),
            nn.ReLU(inplace=True),
            nn.Conv2d(features, features, kernel_size, padding=padding),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.body(x).add_(x)  # in place on the body's fresh output (a convolution's, not needed backward)


class ScaleNet(nn.Module):
    """One scale: (blurred, upsampled coarser estimate) -> residual added to the blurred image."""

    def __init__(self, features: int, blocks: int, kernel_size: int) -> None:
        super().__init__()
        padding = kernel_size // 2
        self.head = nn.Conv2d(6, features, kernel_size, padding=padding)
        self.body = nn.Sequential(*(ResBlock(features, kernel_size) for _ in range(blocks)))
        self.tail = nn.Conv2d(features, 3, kernel_size, padding=padding)

    def forward(self, blurred: Tensor, coarser: Tensor) -> Tensor:
        return blurred + self.tail(self.body(self.head(torch.cat([blurred, coarser], dim=1))))


class MultiScaleDeblur(nn.Module):
    """Blurred RGB (B, 3, H, W) on [0, 1] -> sharp estimate (B, 3, H, W); H, W multiples of ``multiple``.

    ``forward_pyramid`` returns every scale's estimate, coarse to fine, for the multi-scale training loss.
    """

    def __init__(
        self, scales: int = 3, features: int = 64, blocks: int = 8, kernel_size: int = 5, shared: bool = False
    ) -> None:
        super().__init__()
        self.scales = scales
        self.multiple = 2 ** (scales - 1)
        count = 1 if shared else scales
        self.nets = nn.ModuleList(ScaleNet(features, blocks, kernel_size) for _ in range(count))
        self.upsamplers = nn.ModuleList(nn.ConvTranspose2d(3, 3, 4, stride=2, padding=1) for _ in range(scales - 1))

    def forward_pyramid(self, blurred: Tensor) -> list[Tensor]:
        pyramid = [blurred]
        for _ in range(self.scales - 1):
            pyramid.append(F.avg_pool2d(pyramid[-1], 2))
        estimates: list[Tensor] = []
        for level, image in enumerate(reversed(pyramid)):
            coarser = image if level == 0 else self.upsamplers[level - 1](estimates[-1])
            estimates.append(self.nets[0 if len(self.nets) == 1 else level](image, coarser))
        return estimates

    def forward(self, blurred: Tensor) -> Tensor:
        return self.forward_pyramid(blurred)[-1]
