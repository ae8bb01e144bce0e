"""Every model ``restore`` ships, registered by name (names as in DESIGN.md)."""

from __future__ import annotations

import math
import numbers
from functools import partial
from typing import Any

from restore import baselines
from restore.errors import InvalidOptionError
from restore.models.dncnn import DnCNN
from restore.registry import ModelSpec, Option, register


def parse_sigma(value: Any) -> float | None:
    """A noise level on the 8-bit scale in [0, 255], or ``None`` for "auto" (estimate from the image)."""
    if value is None or value == "auto":
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise InvalidOptionError(f"sigma must be a number on the 8-bit scale (e.g. 25) or 'auto', got {value!r}")
    if not 0 <= value <= 255:
        raise InvalidOptionError(f"sigma is on the 8-bit scale and must lie in [0, 255], got {value}")
    return float(value)


BLIND_SIGMA = Option(
    "sigma", None, parse_sigma, "noise level on the 8-bit scale; checked but not needed: the model is blind (0-55)"
)
SIGMA = Option("sigma", None, parse_sigma, "noise level on the 8-bit scale (25 means 25/255); 'auto' estimates it")

register(
    ModelSpec(
        name="dncnn-color",
        task="denoise",
        summary="CDnCNN-B: blind color Gaussian denoiser, sigma 0-55 (20 layers)",
        channels=(3,),
        options=(BLIND_SIGMA,),
        build=partial(DnCNN, channels=3, depth=20),
        weights="dncnn-color",
        receptive_radius=20,
    )
)
register(
    ModelSpec(
        name="dncnn-gray",
        task="denoise",
        summary="DnCNN-B: blind grayscale Gaussian denoiser, sigma 0-55 (20 layers)",
        channels=(1,),
        options=(BLIND_SIGMA,),
        build=partial(DnCNN, channels=1, depth=20),
        weights="dncnn-gray",
        receptive_radius=20,
    )
)
register(
    ModelSpec(
        name="bm3d",
        task="denoise",
        summary="BM3D (bm3d package), grayscale; color images are denoised channel by channel",
        channels=(1,),
        options=(SIGMA,),
        classical=baselines.bm3d_denoise,
    )
)
register(
    ModelSpec(
        name="cbm3d",
        task="denoise",
        summary="CBM3D (bm3d package), color",
        channels=(3,),
        options=(SIGMA,),
        classical=baselines.cbm3d_denoise,
    )
)
register(
    ModelSpec(
        name="nlmeans",
        task="denoise",
        summary="non-local means (scikit-image, fast mode), gray or color",
        channels=(1, 3),
        options=(SIGMA,),
        classical=baselines.nlmeans_denoise,
    )
)
