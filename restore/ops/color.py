"""Color steps of a simple camera pipeline, differentiable, on (B, 3, H, W) tensors.

``develop`` turns white-balanced linear camera RGB into display sRGB: color matrix, clip, sRGB transfer curve, then a
global tone curve. ``restore.ops.unprocess`` inverts each step, so developing an unprocessed photo gives the photo
back.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["apply_color_matrix", "develop", "inverse_tone_curve", "srgb_from_linear", "linear_from_srgb", "tone_curve"]


def srgb_from_linear(linear: Tensor) -> Tensor:
    """The sRGB transfer curve (IEC 61966-2-1), linear on [0, 1] -> sRGB on [0, 1], elementwise on any shape.

    Plain torch rather than kornia's ``linear_rgb_to_rgb`` (which it equals, see tests/test_color.py) so that the
    training pipelines run on the lent GPU machine, which has no kornia and no room to carry it.
    """
    knee = 0.0031308
    return torch.where(linear > knee, 1.055 * linear.clamp(min=knee) ** (1 / 2.4) - 0.055, 12.92 * linear)


def linear_from_srgb(srgb: Tensor) -> Tensor:
    """Inverse of ``srgb_from_linear`` (kornia's ``rgb_to_linear_rgb``), elementwise on any shape."""
    knee = 0.04045
    return torch.where(srgb > knee, ((srgb + 0.055).clamp(min=0.0) / 1.055) ** 2.4, srgb / 12.92)


def tone_curve(x: Tensor) -> Tensor:
    """The global "S" tone curve of Brooks et al. 2019, smoothstep 3x^2 - 2x^3, on [0, 1]."""
    return 3 * x**2 - 2 * x**3


def inverse_tone_curve(y: Tensor) -> Tensor:
    """Inverse of ``tone_curve`` on [0, 1] (input clipped to [0, 1])."""
    y = y.clamp(0.0, 1.0)
    return 0.5 - torch.sin(torch.asin(1.0 - 2.0 * y) / 3.0)


def apply_color_matrix(rgb: Tensor, matrix: Tensor) -> Tensor:
    """``matrix @ pixel`` for every pixel: rgb (B, 3, H, W), matrix (3, 3) or one per image (B, 3, 3)."""
    matrix = matrix.to(rgb.dtype)
    if matrix.ndim == 2:
        return torch.einsum("ij,bjhw->bihw", matrix, rgb)
    return torch.einsum("bij,bjhw->bihw", matrix, rgb)


def develop(camera_rgb: Tensor, rgb_from_camera: Tensor) -> Tensor:
    """White-balanced linear camera RGB (B, 3, H, W), about [0, 1] -> display sRGB (B, 3, H, W) on [0, 1].

    ``rgb_from_camera`` (3, 3) or (B, 3, 3) maps camera RGB to linear sRGB (rows sum to 1, as LibRaw's
    ``color_matrix``). Values are clipped to [0, 1] after the color matrix.
    """
    linear = apply_color_matrix(camera_rgb, rgb_from_camera).clamp(0.0, 1.0)
    return tone_curve(srgb_from_linear(linear))
