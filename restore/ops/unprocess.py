"""Unprocessing (Brooks et al., CVPR 2019): turn sRGB photos back into plausible linear camera raw data.

Each step inverts one step of ``restore.ops.color.develop``: tone curve, sRGB transfer curve, color matrix (a random
camera's), white balance (random gains). The noise model is theirs too: shot and read noise whose variances are
drawn jointly, as measured on real cameras (../shared/DESIGN.md, low-light protocol).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from restore.io.raw import XYZ_FROM_SRGB
from restore.ops.color import apply_color_matrix, inverse_tone_curve, linear_from_srgb

__all__ = ["Camera", "add_raw_noise", "random_cameras", "random_noise_levels", "unprocess"]

# XYZ -> camera matrices (DNG ColorMatrix, D65) of real cameras; random cameras are convex combinations of them.
# The first is the Canon EOS 550D's, read from ColorMatrix1 of ../shared/data/raw/tinydng_colorchart.dng; the
# other four are the matrices Brooks et al. published with their unprocessing code.
CAMERA_FROM_XYZ = (
    ((0.6461, -0.1164, -0.0857), (-0.3825, 1.1597, 0.2534), (-0.0416, 0.1540, 0.6039)),
    ((1.0234, -0.2969, -0.2266), (-0.5625, 1.6328, -0.0469), (-0.0703, 0.2188, 0.6406)),
    ((0.4913, -0.0541, -0.0202), (-0.6130, 1.3513, 0.2906), (-0.1564, 0.2151, 0.7183)),
    ((0.8380, -0.2630, -0.0639), (-0.2887, 1.0725, 0.2496), (-0.0627, 0.1427, 0.5438)),
    ((0.6596, -0.2079, -0.0562), (-0.4782, 1.3016, 0.1933), (-0.0970, 0.1581, 0.5181)),
)


@dataclass(frozen=True)
class Camera:
    """A batch of simulated cameras.

    Attributes:
        camera_from_rgb: (B, 3, 3) linear sRGB -> camera RGB (rows sum to 1: white stays white).
        wb_gains: (B, 3) white balance multipliers (R, G, B) with G = 1; raw = white-balanced / gains.
    """

    camera_from_rgb: Tensor
    wb_gains: Tensor

    @property
    def rgb_from_camera(self) -> Tensor:
        """(B, 3, 3) camera RGB -> linear sRGB, the matrix ``develop`` takes."""
        return torch.linalg.inv(self.camera_from_rgb)


def _camera_from_rgb_matrices() -> Tensor:
    """(N, 3, 3) sRGB -> camera matrices of the cameras in ``CAMERA_FROM_XYZ``, rows normalized to sum to 1."""
    matrices = np.asarray(CAMERA_FROM_XYZ, dtype=np.float64) @ XYZ_FROM_SRGB
    return torch.from_numpy(matrices / matrices.sum(axis=2, keepdims=True)).float()


def random_cameras(batch: int, generator: torch.Generator | None = None, device: torch.device | str = "cpu") -> Camera:
    """Random color matrices (convex combinations of real cameras) and white balance, per Brooks et al.

    Gains: red U(1.9, 2.4), blue U(1.5, 1.9), green 1.
    """
    weights = torch.rand((batch, len(CAMERA_FROM_XYZ)), generator=generator, device=device)
    weights = weights / weights.sum(dim=1, keepdim=True)
    camera_from_rgb = torch.einsum("bn,nij->bij", weights, _camera_from_rgb_matrices().to(device))
    uniform = torch.rand((batch, 2), generator=generator, device=device)
    red, blue = 1.9 + 0.5 * uniform[:, 0], 1.5 + 0.4 * uniform[:, 1]
    gains = torch.stack([red, torch.ones_like(red), blue], dim=1)
    return Camera(camera_from_rgb, gains)


def unprocess(srgb: Tensor, camera: Camera) -> Tensor:
    """Display sRGB (B, 3, H, W) on [0, 1] -> linear camera RGB (B, 3, H, W) before white balance, on [0, 1].

    ``develop(unprocess(x) * gains, camera.rgb_from_camera)`` gives ``x`` back (up to clipping).
    """
    linear = linear_from_srgb(inverse_tone_curve(srgb))
    camera_rgb = apply_color_matrix(linear, camera.camera_from_rgb)
    return (camera_rgb / camera.wb_gains[:, :, None, None]).clamp(0.0, 1.0)


def random_noise_levels(
    batch: int, generator: torch.Generator | None = None, device: torch.device | str = "cpu"
) -> tuple[Tensor, Tensor]:
    """Shot and read noise variances (B,) of the unprocessing noise model.

    Shot variance is log-uniform on [1e-4, 0.012]; log(read variance) = 2.18 log(shot) + 1.20 + N(0, 0.26).
    """
    low, high = math.log(1e-4), math.log(0.012)
    log_shot = low + (high - low) * torch.rand(batch, generator=generator, device=device)
    log_read = 2.18 * log_shot + 1.20 + 0.26 * torch.randn(batch, generator=generator, device=device)
    return log_shot.exp(), log_read.exp()


def add_raw_noise(raw: Tensor, shot: Tensor, read: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """Signal-dependent Gaussian noise: variance ``shot * raw + read`` per pixel, for raw (B, ...) and (B,) levels."""
    view = (-1,) + (1,) * (raw.ndim - 1)
    variance = shot.view(view) * raw.clamp(min=0.0) + read.view(view)
    noise = torch.randn(raw.shape, generator=generator, device=raw.device, dtype=raw.dtype)
    return raw + noise * variance.sqrt()
