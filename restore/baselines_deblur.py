"""Classical deblurring baselines: unsharp masking (blind) and non-blind Wiener and Richardson-Lucy deconvolution
(scikit-image) given the true kernel, which a blind network does not get.

Images are float (H, W) or (H, W, 3) on [0, 1]; kernels (k, k) sum to 1. Images are reflect-padded by the kernel
size before deconvolution (which assumes periodic borders) and cropped back.
"""

from __future__ import annotations

import numpy as np
from skimage.filters import unsharp_mask
from skimage.restoration import richardson_lucy, wiener

__all__ = ["richardson_lucy_deblur", "unsharp", "wiener_deblur"]


def unsharp(image: np.ndarray, radius: float = 2.0, amount: float = 1.0) -> np.ndarray:
    """Unsharp masking (scikit-image), clipped to [0, 1]."""
    channel_axis = -1 if image.ndim == 3 else None
    return unsharp_mask(image, radius=radius, amount=amount, channel_axis=channel_axis)


def _per_channel(image: np.ndarray, kernel: np.ndarray, deconvolve) -> np.ndarray:
    pad = kernel.shape[0]
    planes = image[..., None] if image.ndim == 2 else image
    out = []
    for plane in np.moveaxis(planes, -1, 0):
        padded = np.pad(plane, pad, mode="reflect")
        out.append(deconvolve(padded)[pad:-pad, pad:-pad])
    result = np.stack(out, axis=-1)
    return np.clip(result[..., 0] if image.ndim == 2 else result, 0.0, 1.0)


def wiener_deblur(image: np.ndarray, kernel: np.ndarray, balance: float = 0.01) -> np.ndarray:
    """Wiener deconvolution with the true kernel; ``balance`` trades noise against sharpness."""
    return _per_channel(image, kernel, lambda plane: wiener(plane, kernel, balance, clip=False))


def richardson_lucy_deblur(image: np.ndarray, kernel: np.ndarray, iterations: int = 30) -> np.ndarray:
    """Richardson-Lucy deconvolution with the true kernel."""
    return _per_channel(
        image, kernel, lambda plane: richardson_lucy(np.clip(plane, 0, 1), kernel, iterations, clip=False)
    )
