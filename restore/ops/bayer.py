"""Bayer mosaics as tensors: one canonical RGGB layout for every CFA, packing into 4 channels, and mosaicking.

Networks see every camera's mosaic in the same RGGB layout. Instead of cropping a row or column (which loses a
border and shifts the image), the other patterns are mirrored into RGGB: on a mosaic of even height and width,
mirroring left-right turns GRBG into RGGB, top-bottom turns GBRG into RGGB, and both turn BGGR into RGGB. Mirroring
back restores the original geometry exactly, so outputs keep the raw's full size.

    >>> mosaic = torch.rand(1, 1, 6, 8)                       # (B, 1, H, W), CFA GRBG
    >>> packed = pack_bayer(mosaic, CFA.GRBG)                  # (B, 4, 3, 4): R, G (right of R), G (below R), B
    >>> torch.equal(unpack_bayer(packed, CFA.GRBG), mosaic)
    True
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from restore.errors import InvalidImageError
from restore.io.raw import CFA

__all__ = ["PACKED_COLORS", "mirror_to_rggb", "mosaic_rgb", "pack_bayer", "pad_to_even", "unpack_bayer"]

PACKED_COLORS = ("R", "G", "G", "B")  # channel order of pack_bayer: (0, 0), (0, 1), (1, 0), (1, 1) of RGGB

_MIRROR_DIMS = {CFA.RGGB: (), CFA.GRBG: (-1,), CFA.GBRG: (-2,), CFA.BGGR: (-2, -1)}


def pad_to_even(mosaic: Tensor) -> tuple[Tensor, tuple[int, int]]:
    """Pad (..., H, W) to even height and width without breaking the CFA.

    An odd last row (column) is followed by a copy of the row (column) two before it, which has the same color
    filters as the missing one would. Returns the padded mosaic and the original (H, W), to crop results back.
    """
    height, width = mosaic.shape[-2:]
    if min(height, width) < 2:
        raise InvalidImageError(f"a Bayer mosaic needs at least 2x2 pixels, got {height}x{width}")
    if height % 2:
        mosaic = torch.cat([mosaic, mosaic[..., -2:-1, :]], dim=-2)
    if width % 2:
        mosaic = torch.cat([mosaic, mosaic[..., :, -2:-1]], dim=-1)
    return mosaic, (height, width)


def mirror_to_rggb(mosaic: Tensor, cfa: CFA) -> Tensor:
    """Mirror an even-sized (..., H, W) mosaic (or its full-size result) between ``cfa`` and RGGB; its own inverse."""
    if mosaic.shape[-2] % 2 or mosaic.shape[-1] % 2:
        raise InvalidImageError(f"mirroring keeps the CFA only on even sizes, got {tuple(mosaic.shape[-2:])}")
    dims = _MIRROR_DIMS[CFA(cfa)]
    return mosaic.flip(dims) if dims else mosaic


def pack_bayer(mosaic: Tensor, cfa: CFA) -> Tensor:
    """Even-sized mosaic (B, 1, H, W) with pattern ``cfa`` -> (B, 4, H/2, W/2) in RGGB order (``PACKED_COLORS``).

    For a CFA other than RGGB the packed planes are mirrored images (see the module docstring); ``unpack_bayer``
    with the same ``cfa`` undoes it.
    """
    _check_mosaic(mosaic)
    return F.pixel_unshuffle(mirror_to_rggb(mosaic, cfa), 2)


def unpack_bayer(packed: Tensor, cfa: CFA) -> Tensor:
    """(B, 4, h, w) RGGB planes -> mosaic (B, 1, 2h, 2w) with pattern ``cfa``; the inverse of ``pack_bayer``."""
    if packed.ndim != 4 or packed.shape[1] != 4:
        raise InvalidImageError(f"packed Bayer planes must be (B, 4, h, w), got {tuple(packed.shape)}")
    return mirror_to_rggb(F.pixel_shuffle(packed, 2), cfa)


def mosaic_rgb(rgb: Tensor, cfa: CFA) -> Tensor:
    """Sample an even-sized RGB image (B, 3, H, W) through the color filter array ``cfa`` -> mosaic (B, 1, H, W)."""
    if rgb.ndim != 4 or rgb.shape[1] != 3:
        raise InvalidImageError(f"mosaic_rgb takes RGB images (B, 3, H, W), got {tuple(rgb.shape)}")
    rggb = F.pixel_unshuffle(mirror_to_rggb(rgb, cfa), 2)  # (B, 12, h, w): per color, the four 2x2 positions
    red, green, blue = rggb[:, 0:4], rggb[:, 4:8], rggb[:, 8:12]
    planes = torch.stack([red[:, 0], green[:, 1], green[:, 2], blue[:, 3]], dim=1)
    return unpack_bayer(planes, cfa)


def _check_mosaic(mosaic: Tensor) -> None:
    if mosaic.ndim != 4 or mosaic.shape[1] != 1:
        raise InvalidImageError(f"a Bayer mosaic must be (B, 1, H, W), got {tuple(mosaic.shape)}")
