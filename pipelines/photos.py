"""Clean training photos: listing, a deterministic train/validation split, downscaling, and a uint8 patch bank.

The bank is built once per (photos' content, channels, patch size, long side) and cached as ``.npy`` so that it can
be carried to a GPU machine (it is plain uint8 data, no image library is needed there). A photo that cannot be read
is skipped with a ``BadPhotoWarning``: one broken file does not stop a training run.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from pipelines.array_cache import cached_array

PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"}
DEFAULT_TRAIN_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "train"


class UnreadablePhotoError(ValueError):
    """A training photo that OpenCV cannot decode."""


class BadPhotoWarning(UserWarning):
    """A training photo was skipped (``read_photos``)."""


def list_photos(folder: Path, allow_empty: bool = False) -> list[Path]:
    """All photo files below ``folder``, sorted for determinism (entries that are no files, such as folders named
    like photos or broken links, left out).

    Raises:
        FileNotFoundError: there is none, unless ``allow_empty``.
    """
    photos = sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in PHOTO_SUFFIXES and p.is_file())
    if not photos and not allow_empty:
        raise FileNotFoundError(f"no photos ({', '.join(sorted(PHOTO_SUFFIXES))}) found under {folder}")
    return photos


def split_photos(folder: Path, validation_every: int = 24) -> tuple[list[Path], list[Path]]:
    """Training and validation photos of a folder.

    A folder with ``train/`` and ``validation/`` subfolders (as ``pipelines.pack_photos`` writes) is split that way
    (an empty ``validation/`` holds none out); otherwise every ``validation_every``-th photo, chosen by a hash of its
    file name, is held out.
    """
    folder = Path(folder)
    if (folder / "train").is_dir() and (folder / "validation").is_dir():
        return list_photos(folder / "train"), list_photos(folder / "validation", allow_empty=True)

    def held_out(path: Path) -> bool:
        digest = hashlib.sha1(path.name.encode()).digest()
        return digest[0] % validation_every == 0

    photos = list_photos(folder)
    return [p for p in photos if not held_out(p)], [p for p in photos if held_out(p)]


def read_photo(path: Path, channels: int, long_side: int) -> np.ndarray:
    """Read a photo as uint8 (H, W, channels) RGB or gray, area-downscaled so its long side is at most ``long_side``.

    Downscaling removes JPEG artefacts and sensor noise, so the patches are clean.
    """
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise UnreadablePhotoError(f"cannot read photo {path}")
    image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB if channels == 3 else cv2.COLOR_BGR2GRAY)
    image = downscale(image, long_side / max(image.shape[:2]))
    return image.reshape(image.shape[0], image.shape[1], channels)


def downscale(image: np.ndarray, scale: float) -> np.ndarray:
    """``image`` (H, W) or (H, W, C) uint8 area-downscaled by ``scale`` (unchanged at 1 and above), each side at
    least 1 pixel; (H', W', C) with C > 1 keeps its channel axis, gray comes back (H', W')."""
    if scale >= 1:
        return image
    size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def read_photos(photos: list[Path], channels: int, long_side: int) -> Iterator[tuple[Path, np.ndarray]]:
    """``read_photo`` of each photo, with its path; one that cannot be read is skipped with a ``BadPhotoWarning``."""
    for path in photos:
        try:
            image = read_photo(path, channels, long_side)
        except UnreadablePhotoError as error:
            warnings.warn(f"{error}: skipped", BadPhotoWarning, stacklevel=2)
            continue
        yield path, image


def photos_fingerprint(photos: list[Path]) -> str:
    """A digest of the photos' names and bytes: a cache key that changes when a photo is added, removed or edited,
    whatever folder they are in. A photo that cannot be read counts by its name (the bank skips it)."""
    digest = hashlib.sha1()
    for path in sorted(photos, key=lambda p: p.name):
        try:
            content = Path(path).read_bytes()
        except OSError:
            content = b"\0unreadable"
        digest.update(path.name.encode() + b"\0" + content)
    return digest.hexdigest()


@dataclass(frozen=True)
class BankSpec:
    """How a patch bank is cut: patch size, stride, the photos' long side, and extra downscales."""

    channels: int
    patch: int = 50
    stride: int = 40
    long_side: int = 720
    scales: tuple[float, ...] = (1.0, 0.75, 0.5)


def cut_patches(image: np.ndarray, patch: int, stride: int) -> np.ndarray:
    """All ``patch`` x ``patch`` windows of a (H, W, C) image on a ``stride`` grid, as (N, C, patch, patch)."""
    h, w, _ = image.shape
    tops = range(0, h - patch + 1, stride)
    lefts = range(0, w - patch + 1, stride)
    windows = [image[t : t + patch, l : l + patch] for t in tops for l in lefts]
    if not windows:
        return np.empty((0, image.shape[2], patch, patch), np.uint8)
    return np.stack(windows).transpose(0, 3, 1, 2)


def build_patch_bank(photos: list[Path], spec: BankSpec) -> np.ndarray:
    """Cut every photo, at every scale, into a uint8 bank (N, C, patch, patch)."""
    banks = [np.empty((0, spec.channels, spec.patch, spec.patch), np.uint8)]
    for _, image in read_photos(photos, spec.channels, spec.long_side):
        for scale in spec.scales:
            scaled = downscale(image, scale)
            banks.append(cut_patches(scaled.reshape(*scaled.shape[:2], -1), spec.patch, spec.stride))
    return np.concatenate(banks)


def cached_patch_bank(photos: list[Path], spec: BankSpec, cache_dir: Path) -> np.ndarray:
    """``build_patch_bank``, cached in ``cache_dir`` under a key of the photos' content and the spec."""
    key = hashlib.sha1(repr((photos_fingerprint(photos), spec)).encode()).hexdigest()[:12]
    path = Path(cache_dir) / f"patches_c{spec.channels}_p{spec.patch}_{key}.npy"
    return cached_array(path, lambda: build_patch_bank(photos, spec))


def validation_crops(
    photos: list[Path], channels: int, size: int = 256, long_side: int = 720, multiple: int = 1, min_side: int = 1
) -> list[np.ndarray]:
    """Center crops (size, size, channels) uint8 of the held-out photos, for validation during training; a photo
    smaller than ``size`` gives a smaller crop, its sides cut down to a multiple of ``multiple`` (what a network's
    pyramid or a Bayer mosaic needs), or none where a side would be under ``min_side`` (what the synthesis needs)."""
    crops = []
    for _, image in read_photos(photos, channels, long_side):
        h, w = (min(side, size) // multiple * multiple for side in image.shape[:2])
        if min(h, w) >= min_side:
            top, left = (image.shape[0] - h) // 2, (image.shape[1] - w) // 2
            crops.append(image[top : top + h, left : left + w])
    return crops


def validation_tiles(photos: list[Path], channels: int, size: int, long_side: int) -> list[np.ndarray]:
    """Every whole (size, size, channels) uint8 tile of the held-out photos, side by side in a grid centred on each
    photo: all of a photo that whole tiles hold, where a center crop would hold a small part of it (e.g. 6 tiles of
    320 px from a 1024x683 photo); a photo smaller than ``size`` gives none."""
    tiles = []
    for _, image in read_photos(photos, channels, long_side):
        rows, columns = image.shape[0] // size, image.shape[1] // size
        top, left = (image.shape[0] - rows * size) // 2, (image.shape[1] - columns * size) // 2
        tiles += [
            image[top + row * size : top + (row + 1) * size, left + column * size : left + (column + 1) * size]
            for row in range(rows)
            for column in range(columns)
        ]
    return tiles
