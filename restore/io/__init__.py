"""The NumPy boundary: image files (PNG, JPEG, TIFF, WebP, BMP), camera raws through rawpy, and DNG writing."""

from __future__ import annotations

from restore.io.atomic import write_atomic
from restore.io.dng import write_dng, write_linear_rgb_dng
from restore.io.image import (
    IMAGE_SUFFIXES,
    JPEG_SUFFIXES,
    ImageMetadata,
    read_image,
    read_image_with_metadata,
    write_image,
)
from restore.io.raw import CFA, RAW_SUFFIXES, RawImage, is_raw_path, read_raw

__all__ = [
    "CFA",
    "IMAGE_SUFFIXES",
    "ImageMetadata",
    "JPEG_SUFFIXES",
    "RAW_SUFFIXES",
    "RawImage",
    "is_raw_path",
    "read_image",
    "read_image_with_metadata",
    "read_raw",
    "write_atomic",
    "write_dng",
    "write_image",
    "write_linear_rgb_dng",
]
