"""Paired RAW / sRGB / JPEG data of one real camera, for the invertible ISP.

Each clean photo is unprocessed into the linear raw of a Canon EOS 550D (the camera of
``shared/data/raw/tinydng_colorchart.dng``: its color matrix, black 2056, white 15000, RGGB) under a random white
balance, written as a DNG, and rendered by LibRaw through rawpy twice:

- RAW: ``postprocess(output_color=raw, gamma=(1, 1), use_camera_wb=True, no_auto_bright=True, output_bps=16)``, the
  demosaiced, white-balanced linear camera RGB (white balance not undone, as in InvISP);
- sRGB: ``postprocess(use_camera_wb=True, no_auto_bright=True, output_bps=16)``, LibRaw's own ISP;

and the sRGB is saved as a quality-90 JPEG (OpenCV) and decoded again. The network learns LibRaw's ISP for this
camera's colors. Photos are downscaled first (their long side at most ``long_side``), which removes noise and JPEG
artefacts of the originals.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from pipelines.array_cache import cached_arrays
from pipelines.photos import cut_patches, photos_fingerprint, read_photos
from restore.io import CFA, write_dng
from restore.io.raw import XYZ_FROM_SRGB
from restore.ops.bayer import mosaic_rgb
from restore.ops.unprocess import CAMERA_FROM_XYZ, Camera, unprocess

__all__ = ["CAMERA_NAME", "ISPPair", "camera_550d", "cached_pair_bank", "render_pair"]

CAMERA_NAME = "Canon EOS 550D"
BLACK_LEVEL, WHITE_LEVEL = 2056, 15000
JPEG_QUALITY = 90


def camera_550d(wb_gains: tuple[float, float, float]) -> Camera:
    """The 550D's colors (``CAMERA_FROM_XYZ[0]``, read from the shared DNG) with the given white balance."""
    camera_from_rgb = np.asarray(CAMERA_FROM_XYZ[0], dtype=np.float64) @ XYZ_FROM_SRGB
    camera_from_rgb /= camera_from_rgb.sum(axis=1, keepdims=True)
    return Camera(torch.from_numpy(camera_from_rgb).float()[None], torch.tensor([wb_gains], dtype=torch.float32))


def random_wb_gains(rng: np.random.Generator) -> tuple[float, float, float]:
    """Red U(1.9, 2.4), blue U(1.5, 1.9), as the unprocessing of Brooks et al."""
    return (float(rng.uniform(1.9, 2.4)), 1.0, float(rng.uniform(1.5, 1.9)))


@dataclass(frozen=True)
class ISPPair:
    """One photo through the camera. Arrays (H, W, 3): ``raw`` uint16 linear, ``srgb`` uint16, ``jpeg`` uint8."""

    raw: np.ndarray
    srgb: np.ndarray
    jpeg: np.ndarray
    wb_gains: tuple[float, float, float]


def mosaic_dng(photo: np.ndarray, wb_gains: tuple[float, float, float], path: Path) -> None:
    """Unprocess an sRGB uint8 photo (even H, W) into the 550D's raw and write it as a DNG."""
    camera = camera_550d(wb_gains)
    clean = torch.from_numpy(photo).permute(2, 0, 1)[None].float() / 255
    linear = mosaic_rgb(unprocess(clean, camera), CFA.RGGB)[0, 0].numpy()
    values = np.round(linear * (WHITE_LEVEL - BLACK_LEVEL) + BLACK_LEVEL).astype(np.uint16)
    camera_from_xyz = camera.camera_from_rgb[0].double().numpy() @ np.linalg.inv(XYZ_FROM_SRGB)
    write_dng(
        path,
        values,
        CFA.RGGB,
        black_level=BLACK_LEVEL,
        white_level=WHITE_LEVEL,
        wb_gains=wb_gains,
        color_matrix=camera_from_xyz,
        camera_name=CAMERA_NAME,
    )


def render_pair(photo: np.ndarray, wb_gains: tuple[float, float, float]) -> ISPPair:
    """An sRGB uint8 photo (H, W, 3) -> its raw, LibRaw rendering and JPEG (cropped to even H, W)."""
    import rawpy

    photo = photo[: photo.shape[0] // 2 * 2, : photo.shape[1] // 2 * 2]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "photo.dng"
        mosaic_dng(photo, wb_gains, path)
        common = {"use_camera_wb": True, "no_auto_bright": True, "output_bps": 16, "user_flip": 0}
        with rawpy.imread(str(path)) as raw:
            linear = raw.postprocess(output_color=rawpy.ColorSpace.raw, gamma=(1, 1), **common)
        with rawpy.imread(str(path)) as raw:
            srgb = raw.postprocess(**common)
    srgb8 = np.round(srgb / 257.0).astype(np.uint8)
    ok, encoded = cv2.imencode(".jpg", cv2.cvtColor(srgb8, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise RuntimeError("OpenCV could not encode a JPEG")
    jpeg = cv2.cvtColor(cv2.imdecode(encoded, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    return ISPPair(linear, srgb, jpeg, wb_gains)


def build_pair_bank(photos: list[Path], long_side: int, draws: int, seed: int, patch: int = 128) -> dict:
    """Render every photo under ``draws`` random white balances and cut the renderings into aligned patches.

    Returns ``raw`` (N, 3, patch, patch) uint16, ``srgb`` and ``jpeg`` (N, 3, patch, patch) uint8 (the rendering
    rounded to 8 bits, and its JPEG).
    """
    rng = np.random.default_rng(seed)
    banks = {  # empty where no photo holds a patch
        kind: [np.empty((0, 3, patch, patch), dtype)]
        for kind, dtype in (("raw", np.uint16), ("srgb", np.uint8), ("jpeg", np.uint8))
    }
    for _, image in read_photos(photos, 3, long_side):
        if min(image.shape[:2]) < patch:
            continue  # holds no patch
        for _ in range(draws):
            pair = render_pair(image, random_wb_gains(rng))
            srgb8 = np.round(pair.srgb / 257.0).astype(np.uint8)
            for kind, array in (("raw", pair.raw), ("srgb", srgb8), ("jpeg", pair.jpeg)):
                banks[kind].append(cut_patches(array, patch, patch))
    return {kind: np.concatenate(arrays) for kind, arrays in banks.items()}


def cached_pair_bank(photos: list[Path], cache_dir: Path, long_side: int = 384, draws: int = 2, seed: int = 0):
    """``build_pair_bank``, cached as one ``.npz`` in ``cache_dir`` keyed by the photos' content and the settings."""
    key = hashlib.sha1(repr((photos_fingerprint(photos), long_side, draws, seed)).encode()).hexdigest()[:12]
    path = Path(cache_dir) / f"invisp_pairs_{key}.npz"
    return cached_arrays(path, lambda: build_pair_bank(photos, long_side, draws, seed))
