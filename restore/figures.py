"""Labelled side-by-side panels: the demo's before/after figure and the benchmarks' crop figures."""

from __future__ import annotations

import cv2
import numpy as np

FONT = cv2.FONT_HERSHEY_SIMPLEX
LABEL_HEIGHT = 24  # pixels of the band above each panel


def label_band(label: str, width: int, height: int = LABEL_HEIGHT) -> np.ndarray:
    """A dark (height, width, 3) uint8 band with ``label`` in white, its font shrunk to fit ``width`` if need be."""
    band = np.full((height, width, 3), 24, np.uint8)
    scale = 0.55
    text_width = cv2.getTextSize(label, FONT, scale, 1)[0][0]
    scale *= min(1.0, (width - 8) / max(text_width, 1))
    cv2.putText(band, label, (4, height - 8), FONT, scale, (255, 255, 255), 1, cv2.LINE_AA)
    return band


def side_by_side(images: list[np.ndarray], labels: list[str], band: int = LABEL_HEIGHT) -> np.ndarray:
    """Uint8 images of one height, RGB (H, W, 3) or gray (H, W), side by side, each under a band of ``band`` pixels
    naming it (on the band rather than the photo, so that it reads on any background) -> (H + band, sum of W, 3)
    uint8 RGB."""
    if len(images) != len(labels):
        raise ValueError(f"{len(images)} images but {len(labels)} labels")
    panels = []
    for image, label in zip(images, labels):
        rgb = image if image.ndim == 3 else np.repeat(image[..., None], 3, axis=-1)
        panels.append(np.concatenate([label_band(label, image.shape[1], band), rgb]))
    return np.concatenate(panels, axis=1)


def zoomed(image: np.ndarray, region: tuple[slice, slice], factor: int) -> np.ndarray:
    """``image[region]`` enlarged ``factor`` times by repeating pixels, so that noise and detail stay visible."""
    return image[region].repeat(factor, axis=0).repeat(factor, axis=1)
