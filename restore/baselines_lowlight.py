"""Classical low-light baselines, behind the same call as ``lowlight-raw``: a conventional camera pipeline on the
amplified raw, alone or followed by CBM3D or OpenCV's non-local means on its sRGB output.

Each takes a ``restore.io.RawImage`` and the exposure ratio and returns sRGB float32 (H, W, 3) on [0, 1] in the
mosaic's stored geometry, as the network's output is before ``restore.runs.run_lowlight`` turns both by the raw's
orientation for display. The conventional pipeline uses the same white balance, color matrix, transfer and tone
curves as the learned model (``restore.ops.lowlight.render_output``), so the comparison isolates denoising and
demosaicing.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from restore.baselines import cbm3d_denoise, wavelet_noise_sigma
from restore.io.raw import RawImage
from restore.ops.bayer import pad_to_even
from restore.ops.lowlight import amplified_planes, render_output

__all__ = ["conventional", "conventional_cbm3d", "conventional_nlmeans"]


def conventional(raw: RawImage, ratio: float) -> np.ndarray:
    """Amplify by ``ratio``, white-balance, demosaic (OpenCV edge-aware), color matrix, sRGB curve, tone curve."""
    mosaic = torch.from_numpy(raw.mosaic)[None, None]
    size = tuple(pad_to_even(mosaic)[1])
    planes = amplified_planes(mosaic, raw.cfa, raw.wb_gains, ratio).clamp(min=0.0)
    rggb = F.pixel_shuffle(planes, 2)[0, 0].numpy()  # the mosaic mirrored into RGGB, white-balanced and amplified
    # OpenCV names Bayer codes after the second row's pattern: an RGGB mosaic is its "BG" case.
    rgb = cv2.cvtColor(np.round(rggb * 65535).astype(np.uint16), cv2.COLOR_BayerBG2RGB_EA)
    camera_rgb = torch.from_numpy(rgb.astype(np.float32) / 65535).permute(2, 0, 1)[None]
    matrix = None if raw.color_matrix is None else torch.from_numpy(raw.color_matrix)
    return render_output(camera_rgb, raw.cfa, size, matrix)[0].permute(1, 2, 0).numpy()


def conventional_cbm3d(raw: RawImage, ratio: float, sigma: float | None = None) -> np.ndarray:
    """``conventional``, then CBM3D with noise level ``sigma`` (8-bit scale); ``None``: the level scikit-image
    estimates on the rendering, which reads low on such dark raws (their noise is coarse after demosaicing and
    tone-curved, the estimator sees the finest wavelet band only)."""
    rendering = conventional(raw, ratio).astype(np.float64)
    level = wavelet_noise_sigma(rendering) if sigma is None else sigma
    return cbm3d_denoise(rendering, level).clip(0.0, 1.0).astype(np.float32)


def conventional_nlmeans(raw: RawImage, ratio: float, sigma: float | None = None) -> np.ndarray:
    """``conventional``, then OpenCV's colored non-local means with h = ``sigma`` (8-bit scale; ``None``: estimated
    as for ``conventional_cbm3d``)."""
    rendering = conventional(raw, ratio)
    level = wavelet_noise_sigma(rendering.astype(np.float64)) if sigma is None else sigma
    image = np.round(rendering * 255).astype(np.uint8)
    denoised = cv2.fastNlMeansDenoisingColored(
        image, None, h=level, hColor=level, templateWindowSize=7, searchWindowSize=21
    )
    return denoised.astype(np.float32) / 255
