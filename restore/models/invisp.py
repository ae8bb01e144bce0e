"""An invertible ISP in the spirit of InvISP (Xing et al., CVPR 2021): one network, RAW -> sRGB and back, exactly.

The network maps white-balanced linear camera RGB (demosaiced raw, [0, 1]) to display sRGB and has an exact inverse:

    raw --3x3 color matrix--> --transfer curve--> --space-to-depth (12 ch)-->
        [1x1 invertible conv -> affine coupling] x blocks --depth-to-space--> sRGB

A learned invertible color matrix (the training starts it at the camera's own matrix) and a learned per-channel
transfer curve (the two-parameter family of sRGB and BT.709: power law with a linear toe; it starts as sRGB's) do
what a classical ISP does globally; the coupling blocks model the rest. Every step is invertible in closed form; ``inverse`` runs
them backwards.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["AffineCoupling", "InvertibleConv1x1", "InvertibleISP", "TransferCurve"]


class TransferCurve(nn.Module):
    """A learned per-channel display transfer curve, (B, C, H, W) both ways, strictly increasing on all reals.

    ``y = (1 + a) x^(1/gamma) - a`` above a knee, ``y = slope * x`` below it, with knee and slope set so that the
    curve and its derivative are continuous. sRGB is a = 0.055, gamma = 2.4; BT.709 is a = 0.099, gamma = 1/0.45.
    """

    def __init__(self, channels: int = 3, offset: float = 0.055, gamma: float = 2.4) -> None:
        super().__init__()
        self.offset = nn.Parameter(torch.full((channels,), offset))
        self.gamma = nn.Parameter(torch.full((channels,), gamma))

    def _knee(self) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """(a, gamma, knee x0, slope) per channel, shaped (1, C, 1, 1)."""
        a = self.offset.clamp(min=1e-4).view(1, -1, 1, 1)
        gamma = self.gamma.clamp(min=1.05).view(1, -1, 1, 1)
        knee = (a / ((1 + a) * (1 - 1 / gamma))) ** gamma
        slope = (1 + a) / gamma * knee ** (1 / gamma - 1)
        return a, gamma, knee, slope

    def forward(self, x: Tensor) -> Tensor:
        a, gamma, knee, slope = self._knee()
        power = (1 + a) * torch.maximum(x, knee) ** (1 / gamma) - a
        return torch.where(x > knee, power, slope * x)

    def inverse(self, y: Tensor) -> Tensor:
        a, gamma, knee, slope = self._knee()
        power = ((torch.maximum(y, slope * knee) + a) / (1 + a)) ** gamma
        return torch.where(y > slope * knee, power, y / slope)


class InvertibleConv1x1(nn.Module):
    """A learned invertible channel mixing (Glow), initialized to a random rotation. Shape (B, C, H, W) both ways."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.linalg.qr(torch.randn(channels, channels))[0])

    def forward(self, x: Tensor) -> Tensor:
        return F.conv2d(x, self.weight[:, :, None, None])

    def inverse(self, y: Tensor) -> Tensor:
        weight = self.weight if self.weight.device.type != "mps" else self.weight.cpu()  # MPS has no float64
        inverse = torch.linalg.inv(weight.double()).to(y.device, y.dtype)
        return F.conv2d(y, inverse[:, :, None, None])


class AffineCoupling(nn.Module):
    """Affine coupling (RealNVP): the first half of the channels sets a scale and shift for the second half.

    ``log_scale`` is bounded by ``clamp * tanh``, so the block stays well conditioned; the last layer starts at zero,
    so a new block is the identity.
    """

    def __init__(self, channels: int, hidden: int, clamp: float = 1.0) -> None:
        super().__init__()
        self.split = channels // 2
        self.clamp = clamp
        out = 2 * (channels - self.split)
        self.subnet = nn.Sequential(
            nn.Conv2d(self.split, hidden, 3, padding=1),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(hidden, hidden, 3, padding=1),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(hidden, out, 3, padding=1),
        )
        nn.init.zeros_(self.subnet[-1].weight)
        nn.init.zeros_(self.subnet[-1].bias)

    def _scale_shift(self, x1: Tensor) -> tuple[Tensor, Tensor]:
        log_scale, shift = self.subnet(x1).chunk(2, dim=1)
        return self.clamp * torch.tanh(log_scale / self.clamp), shift

    def forward(self, x: Tensor) -> Tensor:
        x1, x2 = x[:, : self.split], x[:, self.split :]
        log_scale, shift = self._scale_shift(x1)
        return torch.cat([x1, x2 * log_scale.exp() + shift], dim=1)

    def inverse(self, y: Tensor) -> Tensor:
        y1, y2 = y[:, : self.split], y[:, self.split :]
        log_scale, shift = self._scale_shift(y1)
        return torch.cat([y1, (y2 - shift) * (-log_scale).exp()], dim=1)


class InvertibleISP(nn.Module):
    """RAW (B, 3, H, W) white-balanced linear camera RGB -> sRGB (B, 3, H, W), with ``inverse`` for sRGB -> RAW.

    H and W must be even (``multiple``). Outputs are not clipped, so that ``inverse(forward(x))`` gives ``x`` back.
    """

    multiple = 2

    def __init__(self, blocks: int = 8, hidden: int = 32) -> None:
        super().__init__()
        channels = 12  # 3 colors x 2x2 space-to-depth
        self.color = InvertibleConv1x1(3)
        self.curve = TransferCurve(3)
        self.mixers = nn.ModuleList(InvertibleConv1x1(channels) for _ in range(blocks))
        self.couplings = nn.ModuleList(AffineCoupling(channels, hidden) for _ in range(blocks))

    def forward(self, raw: Tensor) -> Tensor:
        x = F.pixel_unshuffle(self.curve(self.color(raw)), 2)
        for mixer, coupling in zip(self.mixers, self.couplings):
            x = coupling(mixer(x))
        return F.pixel_shuffle(x, 2)

    def inverse(self, srgb: Tensor) -> Tensor:
        x = F.pixel_unshuffle(srgb, 2)
        for mixer, coupling in zip(reversed(self.mixers), reversed(self.couplings)):
            x = mixer.inverse(coupling.inverse(x))
        return self.color.inverse(self.curve.inverse(F.pixel_shuffle(x, 2)))
