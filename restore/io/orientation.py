"""EXIF orientation: how stored pixels are turned for display (image files' EXIF tag, camera raws' LibRaw flip)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from restore.errors import InvalidOptionError

__all__ = ["ORIENTATIONS", "apply_orientation"]

# EXIF orientation -> what turns the stored pixels into the displayed ones (rows are axis 0, columns axis 1).
_ORIENT: dict[int, Callable[[np.ndarray], np.ndarray]] = {
    1: lambda a: a,
    2: np.fliplr,
    3: lambda a: np.rot90(a, 2),
    4: np.flipud,
    5: lambda a: np.swapaxes(a, 0, 1),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: np.swapaxes(np.rot90(a, 2), 0, 1),
    8: lambda a: np.rot90(a, 1),
}
_INVERSE_ORIENTATION = {6: 8, 8: 6}  # every other orientation is its own inverse
ORIENTATIONS = frozenset(_ORIENT)


def apply_orientation(image: np.ndarray, orientation: int, *, inverse: bool = False) -> np.ndarray:
    """Turn an image from its stored geometry into the one it is displayed in (or back, with ``inverse``).

    Args:
        image: (H, W) or (H, W, C), in the stored geometry (displayed geometry with ``inverse``).
        orientation: EXIF orientation 1..8, e.g. ``RawImage.orientation`` or ``ImageMetadata.orientation``.
        inverse: undo the orientation instead: displayed geometry -> stored.

    Returns:
        A C-contiguous array; (W, H[, C]) for orientations 5 to 8, which swap the axes.

    Raises:
        InvalidOptionError: ``orientation`` is not 1..8.

    Examples:
        >>> apply_orientation(np.zeros((2, 3)), 6).shape
        (3, 2)
    """
    if orientation not in _ORIENT:
        raise InvalidOptionError(f"orientation must be an EXIF orientation 1..8, got {orientation!r}")
    if inverse:
        orientation = _INVERSE_ORIENTATION.get(orientation, orientation)
    return np.ascontiguousarray(_ORIENT[orientation](image))
