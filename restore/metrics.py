"""Image quality metrics, following the benchmark protocol of ../shared/DESIGN.md.

PSNR and SSIM are computed on 8-bit images (data range 255, no border crop unless asked, RGB rather than Y for
color). SSIM is scikit-image's ``structural_similarity`` with Gaussian weights, sigma 1.5 and population covariance,
the settings of the reference DnCNN/KAIR test code. These two functions are the only PSNR/SSIM in the project.
"""

from __future__ import annotations

import numpy as np
from skimage.metrics import structural_similarity

__all__ = ["psnr", "ssim", "to_uint8"]

SSIM_WINDOW = 11  # pixels: the side of scikit-image's Gaussian window at sigma 1.5


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Clip a float image on a [0, 1] scale to [0, 1] and round it to uint8; uint8 input passes through.

    Raises:
        ValueError: another dtype, or NaN or infinite values (a broken result, which would otherwise be scored).
    """
    if image.dtype == np.uint8:
        return image
    if not np.issubdtype(image.dtype, np.floating):
        raise ValueError(f"to_uint8 expects uint8 or a float image on [0, 1], got dtype {image.dtype}")
    if not np.isfinite(image).all():
        raise ValueError("to_uint8 got NaN or infinite values: a broken result is not scored")
    return np.round(np.clip(image, 0.0, 1.0) * 255.0).astype(np.uint8)


def _check_pair(estimate: np.ndarray, reference: np.ndarray, crop_border: int) -> tuple[np.ndarray, np.ndarray]:
    if estimate.shape != reference.shape:
        raise ValueError(f"images differ in shape: {estimate.shape} vs {reference.shape}")
    if estimate.dtype != np.uint8 or reference.dtype != np.uint8:
        raise ValueError(f"metrics take uint8 images (use to_uint8 first), got {estimate.dtype} and {reference.dtype}")
    if not 0 <= crop_border < min(estimate.shape[:2]) / 2:
        raise ValueError(
            f"crop_border must be 0 or more and leave pixels of the {estimate.shape[:2]} image, got {crop_border}"
        )
    if crop_border:
        estimate = estimate[crop_border:-crop_border, crop_border:-crop_border]
        reference = reference[crop_border:-crop_border, crop_border:-crop_border]
    return estimate, reference


def psnr(estimate: np.ndarray, reference: np.ndarray, *, crop_border: int = 0) -> float:
    """Peak signal-to-noise ratio in dB between two uint8 images (H, W) or (H, W, C), data range 255.

    Identical images give ``inf``.
    """
    estimate, reference = _check_pair(estimate, reference, crop_border)
    mse = np.mean((estimate.astype(np.float64) - reference.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else float(10.0 * np.log10(255.0**2 / mse))


def ssim(estimate: np.ndarray, reference: np.ndarray, *, crop_border: int = 0) -> float:
    """Structural similarity between two uint8 images (H, W) or (H, W, C), with the protocol's settings
    (../shared/DESIGN.md); both sides at least 11 pixels (its Gaussian window) after the crop."""
    estimate, reference = _check_pair(estimate, reference, crop_border)
    if min(estimate.shape[:2]) < SSIM_WINDOW:
        raise ValueError(f"SSIM needs images of at least {SSIM_WINDOW}x{SSIM_WINDOW} pixels, got {estimate.shape[:2]}")
    return float(
        structural_similarity(
            estimate,
            reference,
            gaussian_weights=True,
            sigma=1.5,
            use_sample_covariance=False,
            data_range=255,
            channel_axis=-1 if estimate.ndim == 3 else None,
        )
    )
