"""Training banks (patches, motion kernels, raw/sRGB pairs) are slow to build: built once, kept on disk as NumPy
files, written atomically so an interrupted build leaves no half-written cache."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import numpy as np

from restore.io.atomic import write_atomic

__all__ = ["cached_array", "cached_arrays"]


def cached_array(path: Path, build: Callable[[], np.ndarray]) -> np.ndarray:
    """The array in the ``.npy`` file ``path``; where there is none, ``build()``'s, saved there first."""
    if Path(path).exists():
        return np.load(path)
    array = build()
    _save(path, lambda buffer: np.save(buffer, array))
    return array


def cached_arrays(path: Path, build: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """The named arrays in the ``.npz`` file ``path``; where there is none, ``build()``'s, saved there first."""
    if Path(path).exists():
        with np.load(path) as data:
            return {name: data[name] for name in data.files}
    arrays = build()
    _save(path, lambda buffer: np.savez(buffer, **arrays))
    return arrays


def _save(path: Path, save: Callable[[io.BytesIO], None]) -> None:
    buffer = io.BytesIO()
    save(buffer)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, buffer.getvalue())
