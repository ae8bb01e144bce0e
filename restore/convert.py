"""The boundary between user images and model tensors.

User images are NumPy arrays (H, W) or (H, W, C) or torch tensors (C, H, W) or (B, C, H, W), with C from 1 to 4
(gray, gray+alpha, RGB, RGBA), of dtype uint8, uint16 or float (float16 to float64; bfloat16 for tensors). Models see
float tensors (B, C, H, W) on a [0, 1] scale: float32, or float64 for float64 images so that values passed through
untouched (alpha) come back bit-exactly. ``to_model_tensor`` records how an image was given in an
``ImageLayout`` and ``from_model_tensor`` gives the result back the same way: same type, layout, dtype, value scale
and device. Floats are never clipped on the way in (noisy inputs may leave [0, 1]) nor on the way out; integer
outputs are clipped and rounded.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from restore.errors import InvalidImageError

__all__ = ["ImageLayout", "from_model_tensor", "numpy_scale", "split_alpha", "to_model_tensor"]

_NUMPY_SCALES = {
    np.dtype(np.uint8): 255.0,
    np.dtype(np.uint16): 65535.0,
    np.dtype(np.float16): 1.0,
    np.dtype(np.float32): 1.0,
    np.dtype(np.float64): 1.0,
}


def numpy_scale(dtype: np.dtype) -> float | None:
    """The value of full scale for a NumPy dtype we take (uint8 255, uint16 65535, float16/32/64 1), in either byte
    order (big-endian data come from FITS and some TIFFs); None for any other dtype."""
    return _NUMPY_SCALES.get(np.dtype(dtype).newbyteorder("="))


_TORCH_SCALES = {
    torch.uint8: 255.0,
    torch.uint16: 65535.0,
    torch.float16: 1.0,
    torch.bfloat16: 1.0,
    torch.float32: 1.0,
    torch.float64: 1.0,
}
MAX_CHANNELS = 4


@dataclass(frozen=True)
class ImageLayout:
    """How a user image was given, so the result can be returned in the same form."""

    is_tensor: bool
    dtype: np.dtype | torch.dtype
    shape: tuple[int, ...]
    device: torch.device | None
    scale: float

    @property
    def is_integer(self) -> bool:
        return self.scale != 1.0


def _check_values(x: Tensor, what: str) -> None:
    if x.is_floating_point() and not bool(torch.isfinite(x).all()):
        raise InvalidImageError(f"{what} contains NaN or infinite values")


def _check_channels(channels: int, shape: tuple[int, ...], hint: str) -> None:
    if not 1 <= channels <= MAX_CHANNELS:
        raise InvalidImageError(
            f"image of shape {shape} has {channels} channels; expected 1 (gray), 2 (gray+alpha), 3 (RGB) "
            f"or 4 (RGBA){hint}"
        )


def to_model_tensor(image: np.ndarray | Tensor) -> tuple[Tensor, ImageLayout]:
    """Convert a user image to a float tensor (B, C, H, W) on a [0, 1] scale: float64 for float64, else float32.

    NumPy images come back on the CPU; tensors stay on their device.

    Raises:
        InvalidImageError: empty image, wrong number of dimensions or channels, unsupported dtype, NaN or inf.
    """
    if isinstance(image, np.ndarray):
        scale = numpy_scale(image.dtype)
        if scale is None:
            raise InvalidImageError(
                f"unsupported dtype {image.dtype}; NumPy images must be uint8, uint16, float16, float32 or float64"
            )
        if image.ndim not in (2, 3):
            raise InvalidImageError(f"NumPy images are (H, W) or (H, W, C); got shape {image.shape}")
        if image.ndim == 3:
            hint = "; NumPy images are channels-last (H, W, C)" if image.shape[0] <= MAX_CHANNELS else ""
            _check_channels(image.shape[2], image.shape, hint)
        if image.size == 0:
            raise InvalidImageError(f"image is empty (shape {image.shape})")
        hwc = np.ascontiguousarray(image if image.ndim == 3 else image[:, :, None])
        if not hwc.dtype.isnative:  # torch takes native byte order only; the result comes back in the input's
            hwc = hwc.astype(hwc.dtype.newbyteorder("="))
        if not hwc.flags.writeable:  # torch warns on read-only arrays (e.g. np.broadcast_to); copy them
            hwc = hwc.copy()
        x = torch.from_numpy(hwc).permute(2, 0, 1)[None]
        layout = ImageLayout(False, image.dtype, image.shape, None, scale)
    elif isinstance(image, Tensor):
        scale = _TORCH_SCALES.get(image.dtype)
        if scale is None:
            raise InvalidImageError(f"unsupported dtype {image.dtype}; tensors must be uint8, uint16 or floating point")
        if image.ndim not in (3, 4):
            raise InvalidImageError(f"tensors are (C, H, W) or (B, C, H, W); got shape {tuple(image.shape)}")
        _check_channels(image.shape[-3], tuple(image.shape), "; tensors are channels-first (C, H, W)")
        if image.numel() == 0:
            raise InvalidImageError(f"image is empty (shape {tuple(image.shape)})")
        x = image if image.ndim == 4 else image[None]
        layout = ImageLayout(True, image.dtype, tuple(image.shape), image.device, scale)
    else:
        raise InvalidImageError(f"expected a NumPy array, a torch tensor or a file path, got {type(image).__name__}")
    x = x.detach().to(torch.float64 if x.dtype == torch.float64 else torch.float32)
    _check_values(x, "image")
    if scale != 1.0:
        x = x / scale
    return x, layout


def from_model_tensor(x: Tensor, layout: ImageLayout) -> np.ndarray | Tensor:
    """Convert a model output (B, C, H, W) on a [0, 1] scale back to the user's form described by ``layout``."""
    if layout.is_integer:
        x = (x.float().clamp(0.0, 1.0) * layout.scale).round_()
    if layout.is_tensor:
        out = x if len(layout.shape) == 4 else x[0]
        return out.to(device=layout.device, dtype=layout.dtype)
    out = x[0].permute(1, 2, 0).cpu()
    if len(layout.shape) == 2:
        out = out[:, :, 0]
    return out.numpy().astype(layout.dtype, copy=False)


def split_alpha(x: Tensor) -> tuple[Tensor, Tensor | None]:
    """Split (B, C, H, W) into color channels and alpha: 2 channels are gray+alpha, 4 are RGBA."""
    if x.shape[1] in (2, 4):
        return x[:, :-1], x[:, -1:]
    return x, None
