"""Synthetic dark raw photos from clean sRGB photos: unprocess, mosaic, underexpose, add sensor noise, quantize.

Follows the low-light protocol of ../shared/DESIGN.md: unprocessing of Brooks et al. (random camera colors and white
balance), an exposure ``ratio`` times too short, shot and read noise from the unprocessing noise model, then
quantization to a 14-bit sensor's raw units over a black level. Works on batches on any device (training synthesizes
on the fly); ``to_dng`` writes one as a DNG, so that the benchmark reads it back through rawpy like a camera raw.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from restore.io.dng import write_dng
from restore.io.raw import CFA, XYZ_FROM_SRGB
from restore.ops.bayer import mosaic_rgb
from restore.ops.unprocess import Camera, add_raw_noise, random_cameras, random_noise_levels, unprocess

__all__ = ["DarkRaws", "Sensor", "random_ratios", "synthesize_dark_raws"]


@dataclass(frozen=True)
class Sensor:
    """Raw units of the simulated sensor: 14 bits over a black level."""

    black_level: int = 512
    white_level: int = 16383


@dataclass(frozen=True)
class DarkRaws:
    """A batch of synthetic dark raws and how they were made.

    Attributes:
        raw_values: (B, 1, H, W) float holding integer raw units in [0, white_level].
        linear: (B, 3, H, W) the clean linear camera RGB before white balance (normal exposure), on [0, 1].
        camera: the random cameras' color matrices and white balance.
        ratio, shot, read: (B,) exposure ratios and the shot/read noise variances (normalized raw scale).
        cfa: the Bayer pattern of ``raw_values``.
        sensor: black and white levels.
    """

    raw_values: Tensor
    linear: Tensor
    camera: Camera
    ratio: Tensor
    shot: Tensor
    read: Tensor
    cfa: CFA
    sensor: Sensor

    def normalized(self) -> Tensor:
        """(B, 1, H, W) ``(raw - black) / (white - black)``, as ``restore.io.read_raw`` gives it."""
        black, white = self.sensor.black_level, self.sensor.white_level
        return (self.raw_values - black) / (white - black)

    def to_dng(self, index: int, path: Path) -> None:
        """Write image ``index`` of the batch as a DNG with its CFA, levels, white balance and color matrix."""
        camera_from_xyz = self.camera.camera_from_rgb[index].double().cpu().numpy() @ np.linalg.inv(XYZ_FROM_SRGB)
        write_dng(
            path,
            self.raw_values[index, 0].cpu().numpy().astype(np.uint16),
            self.cfa,
            black_level=self.sensor.black_level,
            white_level=self.sensor.white_level,
            wb_gains=tuple(self.camera.wb_gains[index].tolist()),
            color_matrix=camera_from_xyz,
        )


def random_ratios(
    batch: int, low: float = 100.0, high: float = 300.0, generator: torch.Generator | None = None, device="cpu"
) -> Tensor:
    """(B,) exposure ratios, log-uniform on [low, high]."""
    u = torch.rand(batch, generator=generator, device=device)
    return torch.exp(math.log(low) + (math.log(high) - math.log(low)) * u)


def synthesize_dark_raws(
    clean: Tensor,
    ratio: Tensor | float,
    generator: torch.Generator | None = None,
    cfa: CFA = CFA.RGGB,
    sensor: Sensor = Sensor(),
) -> DarkRaws:
    """Clean sRGB photos (B, 3, H, W) on [0, 1], H and W even -> dark noisy raws of a random camera.

    ``ratio`` (a number or (B,)) divides the exposure; the network's job is to undo it and the noise.
    """
    batch, device = clean.shape[0], clean.device
    camera = random_cameras(batch, generator, device)
    linear = unprocess(clean, camera)
    ratio = torch.as_tensor(ratio, dtype=torch.float32, device=device).expand(batch)
    shot, read = random_noise_levels(batch, generator, device)
    dark = mosaic_rgb(linear, cfa) / ratio.view(-1, 1, 1, 1)
    noisy = add_raw_noise(dark, shot, read, generator)
    span = sensor.white_level - sensor.black_level
    raw_values = (noisy * span + sensor.black_level).round().clamp(0, sensor.white_level)
    return DarkRaws(raw_values, linear, camera, ratio, shot, read, cfa, sensor)
