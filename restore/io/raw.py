"""Camera raw files through rawpy (LibRaw): the Bayer mosaic with its CFA pattern, levels, white balance and colors."""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from restore.errors import InvalidImageError, UnreadableFileError

if TYPE_CHECKING:  # rawpy is imported where raws are read, so that `import restore` works without it
    import rawpy

__all__ = [
    "CFA",
    "RAW_SUFFIXES",
    "XYZ_FROM_SRGB",
    "RawImage",
    "is_raw_path",
    "orientation_from_libraw_flip",
    "read_raw",
]

RAW_SUFFIXES = frozenset(
    {
        ".dng", ".cr2", ".cr3", ".nef", ".arw", ".raf", ".orf", ".rw2", ".pef", ".srw", ".kdc",
        ".dcr", ".mrw", ".nrw", ".3fr", ".erf", ".mef", ".mos", ".raw", ".rwl", ".x3f",
    }
)  # fmt: skip

# Linear sRGB (D65) -> CIE XYZ, with the digits LibRaw uses, so that colors derived here agree with LibRaw's.
XYZ_FROM_SRGB = np.array(
    [
        [0.4124564, 0.3575761, 0.1804375],
        [0.2126729, 0.7151522, 0.0721750],
        [0.0193339, 0.1191920, 0.9503041],
    ]
)

# LibRaw's flip (bit 0 mirror left-right, bit 1 mirror top-bottom, bit 2 transpose) -> EXIF orientation, as LibRaw
# maps the TIFF/EXIF Orientation tag: 0 none, 3 180 degrees, 5 90 degrees counter-clockwise, 6 90 degrees clockwise.
_ORIENTATION_FROM_FLIP = {0: 1, 1: 2, 3: 3, 2: 4, 4: 5, 6: 6, 7: 7, 5: 8}


class CFA(str, Enum):
    """A Bayer color filter array, named by its top-left 2x2 block read row by row."""

    RGGB = "RGGB"
    BGGR = "BGGR"
    GRBG = "GRBG"
    GBRG = "GBRG"

    @classmethod
    def from_rawpy(cls, raw_pattern: np.ndarray | None, color_desc: bytes) -> CFA:
        """The CFA that rawpy describes with ``raw.raw_pattern`` and ``raw.color_desc``.

        Args:
            raw_pattern: 2x2 indices into ``color_desc``, for the visible area's top-left pixels.
            color_desc: the color of each index, e.g. ``b"RGBG"`` (the second green is index 3).

        Returns:
            The matching pattern, e.g. ``CFA.RGGB`` for ``[[0, 1], [3, 2]]`` and ``b"RGBG"``.

        Raises:
            InvalidImageError: the sensor is not a Bayer RGB sensor (X-Trans, CMYG, Foveon, monochrome, linear).

        Examples:
            >>> CFA.from_rawpy(np.array([[0, 1], [3, 2]]), b"RGBG")
            <CFA.RGGB: 'RGGB'>
        """
        pattern = None if raw_pattern is None else np.asarray(raw_pattern)
        if pattern is None or pattern.shape != (2, 2):
            shape = "no" if pattern is None else f"a {pattern.shape[0]}x{pattern.shape[1]}"
            guess = "a linear DNG, demosaiced already?" if pattern is None else "X-Trans?"
            raise InvalidImageError(f"the sensor has {shape} color filter pattern, not a 2x2 Bayer one ({guess})")
        colors = color_desc.decode("ascii")
        letters = "".join(colors[index] for index in pattern.ravel())
        try:
            return cls(letters)
        except ValueError:
            raise InvalidImageError(
                f"color filter pattern {letters} ({colors} sensor) is not one of RGGB, BGGR, GRBG, GBRG"
            ) from None


@dataclass(frozen=True, eq=False)
class RawImage:
    """A camera raw's Bayer mosaic and what it takes to develop it.

    Attributes:
        mosaic: float32 (H, W), ``(raw - black) / (white - black)`` with the black level of each pixel's 2x2
            position. Not clipped: read noise leaves values below 0 and saturated pixels may exceed 1, so that noise
            statistics stay intact; clip where that is wanted.
        cfa: the Bayer pattern of the mosaic's top-left 2x2 block.
        black_level: black level of the 2x2 positions in row-major order, in raw units.
        white_level: saturation level in raw units.
        wb_gains: the camera's as-shot (R, G, B) white balance multipliers with G = 1; the camera's daylight
            multipliers where the file has no as-shot ones, (1, 1, 1) where it has neither.
        color_matrix: 3x3 camera RGB -> linear sRGB matrix (rows sum to 1, apply after white balance), or None where
            LibRaw knows no colors for this camera.
        raw_values: uint16 (H, W), the visible area as stored in the file.
        path: the file it came from, or None when read from an open ``rawpy.RawPy``.
        orientation: EXIF orientation 1..8 (1: display as stored): how a raw viewer turns the stored mosaic for
            display (LibRaw's ``sizes.flip``, e.g. 6 for a portrait shot with the camera turned clockwise). The
            mosaic, ``raw_values`` and the CFA stay as stored; ``restore.io.orientation.apply_orientation`` turns a rendering for display.
    """

    mosaic: np.ndarray
    cfa: CFA
    black_level: tuple[float, float, float, float]
    white_level: float
    wb_gains: tuple[float, float, float]
    color_matrix: np.ndarray | None
    raw_values: np.ndarray
    path: str | None = None
    orientation: int = 1


def is_raw_path(path: str | os.PathLike[str]) -> bool:
    """Whether the path's suffix is a camera raw suffix (case-insensitive), e.g. ``IMG_0001.CR2``."""
    return Path(path).suffix.lower() in RAW_SUFFIXES


def orientation_from_libraw_flip(flip: int) -> int:
    """The EXIF orientation 1..8 of LibRaw's ``sizes.flip`` code (0..7); 1 for a code LibRaw does not define.

    Examples:
        >>> orientation_from_libraw_flip(5)  # LibRaw's 90 degrees counter-clockwise
        8
    """
    return _ORIENTATION_FROM_FLIP.get(int(flip), 1)


def read_raw(source: str | os.PathLike[str] | rawpy.RawPy) -> RawImage:
    """Read a Bayer camera raw (anything LibRaw opens) into a normalized mosaic and its metadata.

    Args:
        source: a raw file's path, or an open ``rawpy.RawPy`` (it is not closed).

    Returns:
        The mosaic of the visible area with its CFA pattern, levels, white balance, color matrix and orientation.
        The orientation of a ``rawpy.RawPy`` is its ``sizes.flip``: after ``postprocess(user_flip=...)`` LibRaw
        reports that flip instead of the file's, until the next ``postprocess`` without one.

    Raises:
        UnreadableFileError: the file is missing, not a raw file LibRaw reads, broken, or from a sensor that is not
            a Bayer RGB sensor.
    """
    import rawpy

    if isinstance(source, rawpy.RawPy):
        return _from_rawpy(source, None)
    path = Path(source)
    if not path.is_file():
        problem = "it is a folder, not a file" if path.is_dir() else "no such file"
        raise UnreadableFileError(f"cannot read {str(path)!r}: {problem}")
    try:
        with open(path, "rb") as file:  # LibRaw tells an empty or forbidden file as an input/output error
            empty = not file.read(1)
    except OSError as error:
        raise UnreadableFileError(f"cannot read {str(path)!r}: {error.strerror or error}") from error
    if empty:
        raise UnreadableFileError(f"cannot read {str(path)!r}: the file is empty (0 bytes)")
    try:
        with rawpy.imread(str(path)) as raw:
            return _from_rawpy(raw, str(path))
    except rawpy.LibRawError as error:
        from restore.io.image import IMAGE_SUFFIXES

        hint = f"; a {path.suffix} file is an image, not a camera raw" if path.suffix.lower() in IMAGE_SUFFIXES else ""
        message = f"cannot read {str(path)!r}: LibRaw cannot read it ({_reason(error)}){hint}"
        raise UnreadableFileError(message) from error


def _reason(error: Exception) -> str:
    """An error's message; LibRaw's come as bytes."""
    message = error.args[0] if error.args else error
    return message.decode(errors="replace") if isinstance(message, bytes) else str(message)


def _from_rawpy(raw: rawpy.RawPy, path: str | None) -> RawImage:
    import rawpy

    name = repr(path) if path is not None else "the rawpy image"
    if raw.sizes.raw_width == 0:  # LibRaw has no image: closed, or never opened
        raise UnreadableFileError(f"cannot read {name}: it is closed or was never opened (read it in its `with` block)")
    try:
        cfa = CFA.from_rawpy(raw.raw_pattern, raw.color_desc)
        raw_values = np.array(raw.raw_image_visible, dtype=np.uint16)  # a copy: rawpy's array dies with the RawPy
    except InvalidImageError as error:
        raise UnreadableFileError(f"cannot read {name}: {error}") from error
    except rawpy.LibRawError as error:
        raise UnreadableFileError(f"cannot read {name}: LibRaw cannot decode it ({_reason(error)})") from error
    per_color = raw.black_level_per_channel  # indexed by color, not by position
    black_level = tuple(float(per_color[index]) for index in raw.raw_pattern.ravel())
    white_level = _white_level(raw, raw.raw_pattern)
    if white_level <= max(black_level):
        raise UnreadableFileError(f"cannot read {name}: white level {white_level} is not above black {black_level}")
    return RawImage(
        mosaic=_normalize(raw_values, black_level, white_level),
        cfa=cfa,
        black_level=black_level,
        white_level=white_level,
        wb_gains=_wb_gains(raw),
        color_matrix=_color_matrix(raw),
        raw_values=raw_values,
        path=path,
        orientation=orientation_from_libraw_flip(raw.sizes.flip),
    )


def _white_level(raw: rawpy.RawPy, pattern: np.ndarray) -> float:
    """The file's own white level where it has one (the lowest of the CFA's colors: each saturates at >= 1)."""
    per_color = raw.camera_white_level_per_channel
    if per_color is not None:
        lowest = min(per_color[index] for index in pattern.ravel())
        if lowest > 0:
            return float(lowest)
    return float(raw.white_level)


def _normalize(raw_values: np.ndarray, black_level: tuple[float, ...], white_level: float) -> np.ndarray:
    mosaic = raw_values.astype(np.float32)
    for (row, col), black in zip(((0, 0), (0, 1), (1, 0), (1, 1)), black_level):
        plane = mosaic[row::2, col::2]
        plane -= black
        plane /= white_level - black
    return mosaic


def _wb_gains(raw: rawpy.RawPy) -> tuple[float, float, float]:
    colors = raw.color_desc.decode("ascii")
    for multipliers in (raw.camera_whitebalance, raw.daylight_whitebalance):
        red, green, blue = (float(multipliers[colors.index(color)]) for color in "RGB")
        if all(np.isfinite(gain) and gain > 0 for gain in (red, green, blue)):
            return (red / green, 1.0, blue / green)  # LibRaw may normalize to red, e.g. (1.0, 0.404, 0.684)
    return (1.0, 1.0, 1.0)


def _color_matrix(raw: rawpy.RawPy) -> np.ndarray | None:
    """LibRaw's camera -> sRGB matrix, or one derived from its XYZ -> camera matrix; None where both are zero."""
    rgb_from_camera = np.asarray(raw.color_matrix, dtype=np.float64)[:, :3]
    if np.any(rgb_from_camera):
        return rgb_from_camera.astype(np.float32)
    camera_from_xyz = np.asarray(raw.rgb_xyz_matrix, dtype=np.float64)[:3]
    if np.any(camera_from_xyz):
        return _rgb_from_camera(camera_from_xyz).astype(np.float32)
    return None


def _rgb_from_camera(camera_from_xyz: np.ndarray) -> np.ndarray:
    """Camera RGB -> linear sRGB from an XYZ -> camera matrix, as LibRaw does it (white stays white)."""
    camera_from_rgb = camera_from_xyz @ XYZ_FROM_SRGB
    camera_from_rgb /= camera_from_rgb.sum(axis=1, keepdims=True)
    return np.linalg.inv(camera_from_rgb)
