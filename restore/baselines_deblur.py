"""Classical deblurring baselines: unsharp masking (blind) and non-blind Wiener and Richardson-Lucy deconvolution
(scikit-image) given the true kernel, which a blind network does not get.

Images are float sRGB (H, W) or (H, W, 3) on [0, 1]; kernels (kh, kw) sum to 1. Camera shake blurs linear light,
so the deconvolutions undo the sRGB curve first and re-apply it after. Images are reflect-padded before deconvolution
and cropped back: Wiener (FFT, periodic borders) by the kernel size; Richardson-Lucy, whose convolutions pad with
zeros, by 8 kernel sizes, as each iteration carries that border's darkening further in (on a flat image, 30
iterations moved pixels 10 px inside the image by up to 12 levels of 255 with 1 kernel size of padding, and by
less than 1e-5 of the level with 8).
"""

from __future__ import annotations

import numpy as np
import torch
from skimage.filters import unsharp_mask
from skimage.restoration import richardson_lucy, wiener

from restore.errors import InvalidOptionError
from restore.ops.color import linear_from_srgb, srgb_from_linear

__all__ = ["richardson_lucy_deblur", "unsharp", "wiener_deblur"]

# The deconvolutions' defaults, chosen by ``python -m benchmarks.deblur_tuning`` on the training photos' validation
# crops blurred by validation kernels with 1% noise (benchmarks/results/deblur-tuning.md; a test checks that they
# match it). Unsharp masking is not tuned that way: in PSNR it does best doing least, so it stays a visible sharpening.
WIENER_BALANCE = 0.2
RICHARDSON_LUCY_ITERATIONS = 5
UNSHARP_RADIUS = 2.0
UNSHARP_AMOUNT = 1.0


def unsharp(image: np.ndarray, radius: float = UNSHARP_RADIUS, amount: float = UNSHARP_AMOUNT) -> np.ndarray:
    """Unsharp masking (scikit-image), clipped to [0, 1] as the deconvolutions are (scikit-image's own rule clips
    to [-1, 1] where the input has a negative value, else to [0, 1])."""
    channel_axis = 2 if image.ndim == 3 else None  # not -1: scikit-image 0.26 slices the wrong axis for -1
    sharpened = unsharp_mask(image, radius=radius, amount=amount, channel_axis=channel_axis, preserve_range=True)
    return np.clip(sharpened, 0.0, 1.0)


RICHARDSON_LUCY_PAD = 8  # kernel sizes of reflect padding (see the module docstring)
RICHARDSON_LUCY_MAX_ITERATIONS = 30  # what that padding keeps out of the image (tested on a flat image)


def _deconvolve_linear(image: np.ndarray, kernel: np.ndarray, deconvolve, pad_kernels: int = 1) -> np.ndarray:
    """``deconvolve`` (plane -> plane) run on each linear-light plane of ``image``, reflect-padded by ``pad_kernels``
    kernel sizes.

    Raises:
        InvalidOptionError: a kernel larger than the image (a blur that wide leaves nothing of the image to recover).
    """
    if kernel.shape[0] > image.shape[0] or kernel.shape[1] > image.shape[1]:
        raise InvalidOptionError(
            f"the kernel ({kernel.shape[0]}x{kernel.shape[1]}) is larger than the image "
            f"({image.shape[0]}x{image.shape[1]}); give the blur kernel at the image's scale"
        )
    pad = pad_kernels * max(kernel.shape)
    planes = linear_from_srgb(torch.from_numpy(np.moveaxis(np.atleast_3d(image), -1, 0).copy())).numpy()
    out = [deconvolve(np.pad(plane, pad, mode="reflect"))[pad:-pad, pad:-pad] for plane in planes]
    result = srgb_from_linear(torch.from_numpy(np.clip(np.stack(out), 0.0, 1.0))).numpy()
    return result[0] if image.ndim == 2 else np.moveaxis(result, 0, -1)


def wiener_deblur(image: np.ndarray, kernel: np.ndarray, balance: float = WIENER_BALANCE) -> np.ndarray:
    """Wiener deconvolution in linear light with the true kernel; ``balance`` trades noise against sharpness."""
    return _deconvolve_linear(image, kernel, lambda plane: wiener(plane, kernel, balance, clip=False))


def richardson_lucy_deblur(
    image: np.ndarray, kernel: np.ndarray, iterations: int = RICHARDSON_LUCY_ITERATIONS
) -> np.ndarray:
    """Richardson-Lucy deconvolution in linear light with the true kernel."""
    return _deconvolve_linear(
        image,
        kernel,
        lambda plane: richardson_lucy(np.clip(plane, 0, 1), kernel, iterations, clip=False),
        RICHARDSON_LUCY_PAD,
    )
