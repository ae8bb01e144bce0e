"""Analytic ISP baselines for the invertible ISP: closed-form sRGB -> raw (unprocessing) and raw -> sRGB.

Arrays are float (H, W, 3) on [0, 1]; the raw side is white-balanced linear camera RGB, as ``invisp`` uses it.
``rgb_from_camera`` is the camera's 3x3 camera RGB -> linear sRGB matrix.
"""

from __future__ import annotations

import numpy as np
import torch

from restore.ops.color import inverse_tone_curve

__all__ = ["bt709_forward", "bt709_unprocess", "brooks_unprocess"]


def brooks_unprocess(srgb: np.ndarray, rgb_from_camera: np.ndarray) -> np.ndarray:
    """Unprocessing of Brooks et al. 2019: inverse smoothstep tone curve, gamma 2.2 expansion, inverse color matrix.

    White balance is not undone (the raw side is white-balanced).
    """
    toned = inverse_tone_curve(torch.from_numpy(np.asarray(srgb, dtype=np.float64))).numpy()
    linear = np.maximum(toned, 1e-8) ** 2.2
    return np.clip(linear @ np.linalg.inv(rgb_from_camera).T, 0.0, 1.0)


def _bt709_oetf(linear: np.ndarray) -> np.ndarray:
    """LibRaw's default output curve, gamma (2.222, 4.5): BT.709."""
    linear = np.clip(linear, 0.0, 1.0)
    return np.where(linear < 0.018, 4.5 * linear, 1.099 * linear**0.45 - 0.099)


def bt709_unprocess(srgb: np.ndarray, rgb_from_camera: np.ndarray) -> np.ndarray:
    """The exact inverse of LibRaw's rendering steps (BT.709 curve, color matrix), where nothing was clipped."""
    srgb = np.clip(np.asarray(srgb, dtype=np.float64), 0.0, 1.0)
    linear = np.where(srgb < 0.081, srgb / 4.5, ((srgb + 0.099) / 1.099) ** (1 / 0.45))
    return np.clip(linear @ np.linalg.inv(rgb_from_camera).T, 0.0, 1.0)


def bt709_forward(raw: np.ndarray, rgb_from_camera: np.ndarray) -> np.ndarray:
    """LibRaw's rendering steps in closed form: color matrix, clip, BT.709 curve."""
    return _bt709_oetf(np.asarray(raw, dtype=np.float64) @ np.asarray(rgb_from_camera).T)
