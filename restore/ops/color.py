"""Color steps of a simple camera pipeline, differentiable, on (B, 3, H, W) tensors.

``develop`` turns white-balanced linear camera RGB into display sRGB: color matrix, clip, sRGB transfer curve
(kornia), then a global tone curve. ``restore.ops.unprocess`` inverts each step, so developing an unprocessed photo
gives the photo back.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["apply_color_matrix", "develop", "inverse_tone_curve", "srgb_from_linear", "linear_from_srgb", "tone_curve"]


def srgb_from_linear(linear: Tensor) -> Tensor:
    """The sRGB transfer curve (IEC 61966-2-1, kornia's), linear on [0, 1] -> sRGB on [0, 1].

    Elementwise on (*, C, H, W) with any C (gray, RGB, bursts) or (H, W).
    """
    from kornia.color import linear_rgb_to_rgb  # imported here: `import restore` works where kornia is missing

    return _on_any_channels(linear_rgb_to_rgb, linear)


def linear_from_srgb(srgb: Tensor) -> Tensor:
    """Inverse of ``srgb_from_linear``, same shapes."""
    from kornia.color import rgb_to_linear_rgb

    return _on_any_channels(rgb_to_linear_rgb, srgb)


def _on_any_channels(curve, x: Tensor) -> Tensor:
    """Apply kornia's elementwise ``curve``, which insists on (*, 3, H, W), to (*, C, H, W) or (H, W)."""
    if x.ndim >= 3 and x.shape[-3] == 3:
        return curve(x)
    planes = x.reshape(-1, 1, *x.shape[-2:]).expand(-1, 3, -1, -1)
    return curve(planes)[:, :1].reshape(x.shape)


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
