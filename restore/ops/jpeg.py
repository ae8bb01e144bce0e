"""A differentiable simulation of baseline JPEG compression on (B, 3, H, W) sRGB tensors.

``simulate_jpeg`` runs the lossy steps of a libjpeg (IJG) encoder and decoder, the codec OpenCV uses, in PyTorch:
JFIF YCbCr, 4:2:0 chroma subsampling (2x2 mean), 8x8 block DCT-II, quantization with the Annex K tables scaled for
``quality`` by the IJG rule, rounding, and the way back, with chroma upsampled by libjpeg's "fancy" triangle filter
(which is bilinear interpolation at scale 2). Placed between the forward and inverse directions of an invertible
ISP network (Xing et al., "Invertible Image Signal Processing", CVPR 2021), it lets the inverse learn to undo real
JPEG files. The lossless entropy coding is left out, and so are libjpeg's intermediate roundings to 8-bit samples.

    >>> rgb = torch.rand(2, 3, 50, 70, requires_grad=True)   # (B, 3, H, W) on [0, 1], any size
    >>> out = simulate_jpeg(rgb, quality=90)                  # same shape, on [0, 1]
    >>> out.mean().backward()                                 # gradients reach rgb
"""

from __future__ import annotations

import math
from numbers import Integral

import torch
import torch.nn.functional as F
from torch import Tensor

from restore.errors import InvalidImageError, InvalidOptionError

__all__ = ["CHROMINANCE_TABLE", "LUMINANCE_TABLE", "quantization_tables", "simulate_jpeg"]

# ITU-T T.81 Annex K, tables K.1 and K.2, in row-major (not zigzag) order: quality 50 in the IJG scaling.
LUMINANCE_TABLE = (
    (16, 11, 10, 16, 24, 40, 51, 61),
    (12, 12, 14, 19, 26, 58, 60, 55),
    (14, 13, 16, 24, 40, 57, 69, 56),
    (14, 17, 22, 29, 51, 87, 80, 62),
    (18, 22, 37, 56, 68, 109, 103, 77),
    (24, 35, 55, 64, 81, 104, 113, 92),
    (49, 64, 78, 87, 103, 121, 120, 101),
    (72, 92, 95, 98, 112, 100, 103, 99),
)
CHROMINANCE_TABLE = (
    (17, 18, 24, 47, 99, 99, 99, 99),
    (18, 21, 26, 66, 99, 99, 99, 99),
    (24, 26, 56, 99, 99, 99, 99, 99),
    (47, 66, 99, 99, 99, 99, 99, 99),
    (99, 99, 99, 99, 99, 99, 99, 99),
    (99, 99, 99, 99, 99, 99, 99, 99),
    (99, 99, 99, 99, 99, 99, 99, 99),
    (99, 99, 99, 99, 99, 99, 99, 99),
)

# JFIF full-range BT.601 on 0..255: YCbCr = _YCBCR_FROM_RGB @ RGB + (0, 128, 128), and back with the JFIF inverse.
_YCBCR_FROM_RGB = (
    (0.299, 0.587, 0.114),
    (-0.168736, -0.331264, 0.5),
    (0.5, -0.418688, -0.081312),
)
_RGB_FROM_YCBCR = (
    (1.0, 0.0, 1.402),
    (1.0, -0.344136, -0.714136),
    (1.0, 1.772, 0.0),
)


def quantization_tables(quality: int) -> tuple[Tensor, Tensor]:
    """The luminance and chrominance tables (8, 8), float32 with integer values on [1, 255], for ``quality`` 1..100.

    The IJG rule (libjpeg's ``jpeg_quality_scaling``, integer arithmetic): scale = 5000 // quality below 50, else
    200 - 2 * quality; each entry becomes (T * scale + 50) // 100, clamped to [1, 255]. Quality 50 gives the Annex K
    tables, quality 100 all ones.
    """
    if isinstance(quality, bool) or not isinstance(quality, Integral) or not 1 <= quality <= 100:
        raise InvalidOptionError(f"JPEG quality must be an integer in 1..100, got {quality!r}")
    scale = 5000 // int(quality) if quality < 50 else 200 - 2 * int(quality)
    tables = torch.tensor((LUMINANCE_TABLE, CHROMINANCE_TABLE), dtype=torch.int64)
    tables = torch.div(tables * scale + 50, 100, rounding_mode="floor").clamp(1, 255).float()
    return tables[0], tables[1]


def _dct_matrix(dtype: torch.dtype, device: torch.device) -> Tensor:
    """The orthonormal 8x8 DCT-II matrix D (row k = frequency k): coefficients = D @ block @ D.T."""
    k = torch.arange(8, dtype=torch.float64).unsqueeze(1)
    n = torch.arange(8, dtype=torch.float64).unsqueeze(0)
    matrix = torch.cos((2 * n + 1) * k * math.pi / 16) * math.sqrt(2 / 8)
    matrix[0] = math.sqrt(1 / 8)
    return matrix.to(dtype=dtype, device=device)


def _quantize(planes: Tensor, table: Tensor, dct: Tensor, differentiable: bool) -> Tensor:
    """Level-shifted planes (B, C, H, W), H and W multiples of 8 -> the same after DCT, quantization and inverse DCT.

    Every 8x8 block goes to DCT coefficients, is divided by ``table`` (8, 8), rounded (straight-through when
    ``differentiable``), multiplied back and inverse transformed.
    """
    batch, channels, height, width = planes.shape
    blocks = planes.reshape(batch, channels, height // 8, 8, width // 8, 8).transpose(3, 4)  # (..., h, w, 8, 8)
    scaled = dct @ blocks @ dct.T / table
    rounded = torch.round(scaled)
    if differentiable:
        rounded = scaled + (rounded - scaled).detach()  # exact round forward, identity backward
    blocks = dct.T @ (rounded * table) @ dct
    return blocks.transpose(3, 4).reshape(batch, channels, height, width)


def simulate_jpeg(rgb: Tensor, quality: int = 90, differentiable: bool = True) -> Tensor:
    """Compress and decompress sRGB (B, 3, H, W) on [0, 1] as a baseline 4:2:0 JPEG -> (B, 3, H, W) on [0, 1].

    Any H and W: the image is padded (replicate) to multiples of 16 and the result cropped back. With
    ``differentiable`` the quantizer's rounding is a straight-through estimator, ``x + (round(x) - x).detach()``:
    its forward value is the exact round, so training sees exactly what the codec produces, and its gradient is the
    identity, which never vanishes (the cubic approximation of Shin & Song 2017 has a gradient 3 (x - round(x))^2
    that is zero on coefficients quantized to near-integers, as most high frequencies are, and a forward value off
    by up to 1/8 of a quantization step). Without it the rounding is plain ``torch.round`` (no gradient through it).
    Half-precision input is computed in float32 and cast back; the device is the input's.
    """
    if not isinstance(rgb, Tensor) or rgb.ndim != 4 or rgb.shape[1] != 3:
        raise InvalidImageError(f"simulate_jpeg takes RGB images (B, 3, H, W), got {tuple(getattr(rgb, 'shape', ()))}")
    if not rgb.is_floating_point() or rgb.shape[-2] == 0 or rgb.shape[-1] == 0:
        raise InvalidImageError(f"simulate_jpeg takes non-empty float images, got {rgb.dtype} {tuple(rgb.shape)}")
    luma_table, chroma_table = quantization_tables(quality)
    dtype = rgb.dtype if rgb.dtype in (torch.float32, torch.float64) else torch.float32
    device = rgb.device
    luma_table, chroma_table = luma_table.to(device, dtype), chroma_table.to(device, dtype)
    dct = _dct_matrix(dtype, device)
    ycbcr_from_rgb = torch.tensor(_YCBCR_FROM_RGB, dtype=dtype, device=device)
    rgb_from_ycbcr = torch.tensor(_RGB_FROM_YCBCR, dtype=dtype, device=device)
    chroma_offset = torch.tensor((0.0, 128.0, 128.0), dtype=dtype, device=device).view(1, 3, 1, 1)

    height, width = rgb.shape[-2:]
    pixels = rgb.to(dtype).clamp(0.0, 1.0) * 255.0
    pixels = F.pad(pixels, (0, -width % 16, 0, -height % 16), mode="replicate")
    ycbcr = torch.einsum("ij,bjhw->bihw", ycbcr_from_rgb, pixels) + chroma_offset
    luma = _quantize(ycbcr[:, :1] - 128.0, luma_table, dct, differentiable) + 128.0
    chroma = F.avg_pool2d(ycbcr[:, 1:], 2)  # 4:2:0
    chroma = _quantize(chroma - 128.0, chroma_table, dct, differentiable) + 128.0
    chroma = F.interpolate(chroma, scale_factor=2, mode="bilinear", align_corners=False)  # libjpeg fancy upsampling
    ycbcr = torch.cat([luma, chroma], dim=1).clamp(0.0, 255.0)  # the decoder's range limit on 8-bit samples
    out = torch.einsum("ij,bjhw->bihw", rgb_from_ycbcr, ycbcr - chroma_offset) / 255.0
    return out[..., :height, :width].clamp(0.0, 1.0).to(rgb.dtype)
