"""The low-light raw pipeline around the SID network: what goes in (packed, white-balanced, amplified planes) and
how its output becomes sRGB. Shared by inference (``restore.api``), training and the benchmark, so that all three see
exactly the same steps.

    mosaic (B, 1, H, W), black 0 / white 1  --amplified_planes-->  (B, 4, H'/2, W'/2) RGGB, x gains x ratio, <= 1
    network                                 -->  (B, 3, H', W') white-balanced linear camera RGB
    render_output                           -->  (B, 3, H, W) sRGB on [0, 1], in the mosaic's own geometry

H' and W' are H and W rounded up to even (``restore.ops.bayer.pad_to_even``). The network restores light and noise
and demosaics; colors come from the raw's own white balance and color matrix, so one network serves every camera
(SID itself learns a single camera's colors).
"""

from __future__ import annotations

import torch
from torch import Tensor

from restore.io.raw import CFA
from restore.ops.bayer import mirror_to_rggb, pack_bayer, pad_to_even
from restore.ops.color import develop

__all__ = ["AUTO_RATIO_TARGET", "amplified_planes", "auto_ratio", "render_output"]

AUTO_RATIO_TARGET = 0.18  # mean white-balanced linear level that ratio="auto" aims at (linear mid-gray)


def _per_image(values: Tensor | float, batch: int, device: torch.device) -> Tensor:
    """A scalar, (B,) or (B, k) value as a tensor broadcastable over (B, k, h, w)."""
    values = torch.as_tensor(values, dtype=torch.float32, device=device)
    if values.ndim == 0:
        values = values.expand(batch)
    return values.reshape(batch, -1, 1, 1)


def amplified_planes(mosaic: Tensor, cfa: CFA, wb_gains: Tensor | tuple, ratio: Tensor | float) -> Tensor:
    """Normalized mosaic (B, 1, H, W) -> network input (B, 4, H'/2, W'/2): RGGB planes x white balance x ratio.

    Args:
        mosaic: (raw - black) / (white - black), not clipped.
        cfa: the mosaic's Bayer pattern.
        wb_gains: (R, G, B) multipliers, (3,) or (B, 3).
        ratio: exposure ratio (amplification), a number or (B,).

    Values are clipped above at 1, as in SID: amplified highlights that were saturated stay white.
    """
    even, _ = pad_to_even(mosaic)
    planes = pack_bayer(even, cfa)
    gains = torch.as_tensor(wb_gains, dtype=torch.float32, device=mosaic.device).reshape(-1, 3)
    plane_gains = gains[:, [0, 1, 1, 2]].reshape(gains.shape[0], 4, 1, 1)
    return (planes * plane_gains * _per_image(ratio, mosaic.shape[0], mosaic.device)).clamp(max=1.0)


def render_output(camera_rgb: Tensor, cfa: CFA, size: tuple[int, int], rgb_from_camera: Tensor | None) -> Tensor:
    """Network output (B, 3, H', W') -> sRGB (B, 3, H, W) on [0, 1]: undo the RGGB mirroring, crop, develop.

    ``rgb_from_camera`` is the raw's camera -> linear sRGB matrix (3, 3) or (B, 3, 3); ``None`` treats the camera's
    colors as sRGB's.
    """
    if rgb_from_camera is None:
        rgb_from_camera = torch.eye(3, device=camera_rgb.device)
    matrix = torch.as_tensor(rgb_from_camera, dtype=torch.float32, device=camera_rgb.device)
    height, width = size
    return develop(mirror_to_rggb(camera_rgb, cfa)[..., :height, :width], matrix)


def auto_ratio(mosaic: Tensor, cfa: CFA, wb_gains: Tensor | tuple, low: float = 1.0, high: float = 1000.0) -> float:
    """The exposure ratio that brings the white-balanced mean level of a mosaic (B, 1, H, W) to ``AUTO_RATIO_TARGET``.

    The rule: ``ratio = 0.18 / mean(white-balanced mosaic)``, clamped to [low, high]. The mean (not a median) is
    used because zero-mean noise leaves it unbiased even where the signal is a few raw units.
    """
    even, _ = pad_to_even(mosaic)
    gains = torch.as_tensor(wb_gains, dtype=torch.float32, device=mosaic.device).reshape(-1, 3)[0]
    planes = pack_bayer(even, cfa)
    mean = float(planes.mean(dim=(0, 2, 3)) @ gains[[0, 1, 1, 2]] / 4)
    return float(min(max(AUTO_RATIO_TARGET / max(mean, 1e-12), low), high))
