"""Minimal DNG writing, so that synthetic Bayer data goes through the same rawpy path as real camera raws."""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import tifffile

from restore.errors import InvalidImageError, InvalidOptionError
from restore.io.atomic import write_atomic
from restore.io.orientation import ORIENTATIONS
from restore.io.raw import CFA, XYZ_FROM_SRGB

__all__ = ["MIN_MOSAIC_SIDE", "write_dng", "write_linear_rgb_dng"]

MIN_MOSAIC_SIDE = 22  # LibRaw refuses raws narrower or shorter than this
_D65 = 21  # EXIF LightSource code
_DENOMINATOR = 1_000_000


def write_dng(
    path: str | os.PathLike[str],
    raw_values: np.ndarray,
    cfa: CFA | str,
    *,
    black_level: int | Sequence[int] = 0,
    white_level: int = 65535,
    wb_gains: Sequence[float] = (1.0, 1.0, 1.0),
    color_matrix: np.ndarray | None = None,
    camera_name: str = "restore synthetic",
    orientation: int = 1,
) -> None:
    """Write a Bayer mosaic as an uncompressed DNG 1.4, atomically.

    ``read_raw`` on the result gives back the same ``raw_values``, CFA and levels, and LibRaw develops it like a
    camera's DNG (``rawpy.imread(path).postprocess()``).

    Args:
        path: target .dng file; its folder must exist.
        raw_values: uint16 (H, W) mosaic in raw units, at least 22x22 (LibRaw's minimum).
        cfa: Bayer pattern of the top-left 2x2 block, a ``CFA`` or its name (case-insensitive).
        black_level: black level in raw units: one for every pixel, or four for the 2x2 positions in row-major
            order (as ``RawImage.black_level``).
        white_level: saturation level in raw units, above ``black_level``. Both levels are stored rounded to whole
            raw units (``RawImage``'s float levels are whole already).
        wb_gains: as-shot (R, G, B) white balance multipliers, stored as the AsShotNeutral ``G / gains``; any
            positive scale.
        color_matrix: 3x3 XYZ -> camera matrix (DNG ColorMatrix1, D65). Default: the inverse of ``XYZ_FROM_SRGB``,
            i.e. the camera's RGB is linear sRGB and LibRaw's camera -> sRGB matrix is the identity.
        camera_name: the UniqueCameraModel tag.
        orientation: EXIF orientation 1..8 (the Orientation tag): how raw viewers turn the stored mosaic for
            display, e.g. 6 for a portrait shot (``RawImage.orientation`` reads it back).

    Raises:
        InvalidImageError: ``raw_values`` is not a uint16 (H, W) array of at least 22x22.
        InvalidOptionError: an unknown CFA, levels outside 0 <= black < white <= 65535, non-positive gains, a
            color matrix that is not a finite 3x3 matrix or an orientation outside 1..8.
        OSError: the file cannot be written; an existing target is untouched.
    """
    path = Path(path)
    _check_raw_values(raw_values)
    levels = np.atleast_1d(np.asarray(black_level, dtype=np.float64))
    if levels.ndim != 1 or len(levels) not in (1, 4) or not all(0 <= b < float(white_level) <= 65535 for b in levels):
        raise InvalidOptionError(
            f"levels must be one or four blacks with 0 <= black < white <= 65535, got {black_level}, {white_level}"
        )
    blacks = tuple(round(float(level)) for level in levels)  # DNG stores whole raw units
    white_level = round(float(white_level))
    if isinstance(orientation, bool) or orientation not in ORIENTATIONS:
        raise InvalidOptionError(f"orientation must be an EXIF orientation 1..8, got {orientation!r}")
    tags = [
        (274, "H", 1, int(orientation), True),  # Orientation
        (50706, "B", 4, (1, 4, 0, 0), True),  # DNGVersion
        (50708, "s", 0, camera_name, True),  # UniqueCameraModel
        (33421, "H", 2, (2, 2), True),  # CFARepeatPatternDim
        (33422, "B", 4, tuple("RGB".index(color) for color in _parse_cfa(cfa).value), True),  # CFAPattern
        (50713, "H", 2, (2, 2) if len(blacks) == 4 else (1, 1), True),  # BlackLevelRepeatDim
        (50714, "I", len(blacks), blacks, True),  # BlackLevel
        (50717, "I", 1, white_level, True),  # WhiteLevel
        (50721, "2i", 9, _rationals(_camera_from_xyz(color_matrix).ravel()), True),  # ColorMatrix1
        (50778, "H", 1, _D65, True),  # CalibrationIlluminant1
        (50728, "2I", 3, _rationals(_as_shot_neutral(wb_gains)), True),  # AsShotNeutral
    ]
    buffer = io.BytesIO()
    tifffile.imwrite(
        buffer,
        raw_values,
        photometric=tifffile.PHOTOMETRIC.CFA,
        rowsperstrip=raw_values.shape[0],
        extratags=tags,
        metadata=None,
    )
    write_atomic(path, buffer.getvalue())


def write_linear_rgb_dng(
    path: str | os.PathLike[str],
    rgb: np.ndarray,
    color_matrix: np.ndarray | None = None,
    *,
    cfa: CFA | str = CFA.RGGB,
    black_level: int = 0,
    white_level: int = 16383,
    camera_name: str = "restore synthetic",
    orientation: int = 1,
) -> None:
    """Write white-balanced linear camera RGB (H, W, 3) on [0, 1] as a Bayer DNG (neutral as-shot white balance).

    The image is sampled through ``cfa`` (H and W cropped to even), scaled to ``white_level`` raw units over
    ``black_level`` and written with ``write_dng``; ``color_matrix`` is its XYZ -> camera matrix and
    ``orientation`` the EXIF orientation that turns ``rgb`` for display (1: ``rgb`` is displayed as it is).
    """
    import torch  # imported here: the rest of this module needs only NumPy

    from restore.ops.bayer import mosaic_rgb

    rgb = np.asarray(rgb, dtype=np.float32)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise InvalidImageError(f"write_linear_rgb_dng takes (H, W, 3) linear RGB, got shape {rgb.shape}")
    rgb = rgb[: rgb.shape[0] // 2 * 2, : rgb.shape[1] // 2 * 2]
    _refuse_smaller_than_libraw_reads(rgb.shape[:2])
    mosaic = mosaic_rgb(torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1)[None], _parse_cfa(cfa))[0, 0]
    values = np.round(np.clip(mosaic.numpy(), 0.0, 1.0) * (white_level - black_level) + black_level)
    write_dng(
        path,
        values.astype(np.uint16),
        cfa,
        black_level=black_level,
        white_level=white_level,
        color_matrix=color_matrix,
        camera_name=camera_name,
        orientation=orientation,
    )


def _check_raw_values(raw_values: np.ndarray) -> None:
    if not isinstance(raw_values, np.ndarray):
        raise InvalidImageError(f"write_dng takes a uint16 (H, W) NumPy array, got {type(raw_values).__name__}")
    if raw_values.dtype != np.uint16 or raw_values.ndim != 2:
        raise InvalidImageError(f"write_dng takes a uint16 (H, W) mosaic, got {raw_values.dtype} {raw_values.shape}")
    _refuse_smaller_than_libraw_reads(raw_values.shape)


def _refuse_smaller_than_libraw_reads(shape: tuple[int, ...]) -> None:
    """Raises InvalidImageError where a mosaic of ``shape`` (H, W) is narrower or shorter than LibRaw reads."""
    if min(shape) < MIN_MOSAIC_SIDE:
        raise InvalidImageError(f"LibRaw reads mosaics of at least {MIN_MOSAIC_SIDE}x{MIN_MOSAIC_SIDE}, got {shape}")


def _parse_cfa(cfa: CFA | str) -> CFA:
    try:
        return CFA(cfa.upper())
    except (AttributeError, ValueError):
        raise InvalidOptionError(f"unknown CFA pattern {cfa!r}; use one of {', '.join(CFA.__members__)}") from None


def _as_shot_neutral(wb_gains: Sequence[float]) -> np.ndarray:
    gains = np.asarray(wb_gains, dtype=np.float64)
    if gains.shape != (3,) or not np.all(np.isfinite(gains)) or np.any(gains <= 0):
        raise InvalidOptionError(f"wb_gains must be three positive (R, G, B) multipliers, got {wb_gains!r}")
    return gains[1] / gains


def _camera_from_xyz(color_matrix: np.ndarray | None) -> np.ndarray:
    if color_matrix is None:
        return np.linalg.inv(XYZ_FROM_SRGB)
    matrix = np.asarray(color_matrix, dtype=np.float64)
    if matrix.shape != (3, 3) or not np.all(np.isfinite(matrix)):
        raise InvalidOptionError(f"color_matrix must be a finite 3x3 XYZ -> camera matrix, got shape {matrix.shape}")
    return matrix


def _rationals(values: np.ndarray) -> tuple[int, ...]:
    """TIFF (S)RATIONALs as flat (numerator, denominator) pairs."""
    return tuple(int(part) for value in values for part in (round(value * _DENOMINATOR), _DENOMINATOR))
