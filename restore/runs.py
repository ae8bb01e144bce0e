"""How models are called whose input is not one image of the kind they return: camera raws, inverse directions,
bursts. Each function is a ``ModelSpec.run``: ``(restorer, source, options) -> result``.

- ``run_lowlight``: a dark camera raw -> sRGB float32 (H, W, 3) on [0, 1].
- ``run_invisp``: a camera raw or linear raw RGB -> sRGB; with ``inverse=True`` an sRGB image -> linear raw RGB.
- ``run_burst``: a burst of frames (N, H, W[, C]) -> the restored reference frame (H, W[, C]).
- ``run_raw_burst``: a burst of Bayer mosaics (arrays or camera raw files) -> the reference's denoised mosaic.
"""

from __future__ import annotations

import dataclasses
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from restore.convert import from_model_tensor, numpy_scale, to_model_tensor
from restore.errors import InvalidImageError, InvalidOptionError
from restore.io.image import IMAGE_SUFFIXES
from restore.io.orientation import apply_orientation
from restore.io.raw import CFA, XYZ_FROM_SRGB, RawImage, orientation_from_libraw_flip, read_raw
from restore.ops.color import linear_from_srgb, srgb_from_linear
from restore.ops.lowlight import amplified_planes, auto_ratio, render_output
from restore.ops.unprocess import CAMERA_FROM_XYZ

INVISP_CAMERA = ("Canon EOS 550D", np.asarray(CAMERA_FROM_XYZ[0]))  # the camera invisp is trained for, XYZ -> camera

__all__ = [
    "INVISP_CAMERA",
    "burst_groups",
    "in_burst_dtype",
    "merge_burst",
    "develop_linear_raw",
    "network_burst_merge",
    "run_burst",
    "run_invisp",
    "run_lowlight",
    "run_raw_burst",
    "write_burst_dng",
    "write_invisp_dng",
]


def _is_raw_source(source: Any) -> bool:
    return isinstance(source, (str, os.PathLike, RawImage)) or type(source).__module__.startswith("rawpy")


def _finite_raw(raw: RawImage) -> RawImage:
    """``raw`` itself, checked: a ``RawImage`` built by hand may hold NaN or infinite values, which a network would
    spread over its whole output.

    Raises:
        InvalidImageError: its mosaic holds NaN or infinite values.
    """
    if not np.isfinite(raw.mosaic).all():
        raise InvalidImageError("the raw's mosaic holds NaN or infinite values")
    return raw


def _raw_image(source: Any, model: str) -> RawImage:
    """A path, ``rawpy.RawPy`` or ``RawImage`` as a ``RawImage``; anything else, or a ``RawImage`` with NaN or
    infinite values, is refused with a clear error."""
    if isinstance(source, RawImage):
        return _finite_raw(source)
    if _is_raw_source(source):
        return read_raw(source)
    raise InvalidImageError(
        f"model {model!r} takes a camera raw: a file path, a rawpy.RawPy or a restore.io.RawImage, "
        f"not {type(source).__name__}"
    )


def run_lowlight(restorer, source: Any, options: dict[str, Any]) -> np.ndarray:
    """A camera raw -> sRGB float32 (H, W, 3) on [0, 1] at the raw's visible size, displayed as a raw viewer shows
    it: turned by the raw's orientation (a portrait raw comes out as (W, H, 3)).

    ``options["ratio"]`` amplifies the exposure; ``None`` means "auto" (``restore.ops.lowlight.auto_ratio``).
    Classical entries (``restorer.network is None``) get the raw, the resolved ratio and their other options (e.g.
    the denoisers' ``sigma``). The network and the classical pipelines see the mosaic as stored (their Bayer packing
    depends on it); their output is turned after.
    """
    raw = _raw_image(source, restorer.spec.name)
    mosaic = torch.from_numpy(raw.mosaic)[None, None].to(restorer.device)
    ratio = options["ratio"] or auto_ratio(mosaic, raw.cfa, raw.wb_gains)
    if restorer.network is None:
        rendering = restorer.spec.classical(raw, **{**options, "ratio": ratio})
        return apply_orientation(rendering, raw.orientation)
    camera_rgb = restorer.run_network(amplified_planes(mosaic, raw.cfa, raw.wb_gains, ratio), scale=2)
    matrix = None if raw.color_matrix is None else torch.from_numpy(raw.color_matrix)
    srgb = render_output(camera_rgb, raw.cfa, tuple(mosaic.shape[-2:]), matrix)
    return apply_orientation(srgb[0].permute(1, 2, 0).cpu().numpy(), raw.orientation)


def develop_linear_raw(source: Any) -> np.ndarray:
    """LibRaw's demosaiced, white-balanced linear camera RGB of a raw: float32 (H, W, 3) on [0, 1], in the raw's
    stored geometry (its orientation not applied: ``restore.io.orientation.apply_orientation`` turns it for display).

    ``source`` is a raw file's path, a ``RawImage`` read from a file, or a ``rawpy.RawPy``.
    """
    return _develop_linear_raw(source)[0]


def _develop_linear_raw(source: Any) -> tuple[np.ndarray, int]:
    """``develop_linear_raw`` and the raw's EXIF orientation.

    LibRaw develops with the file's own flip, which is then undone here: ``user_flip=0`` would leave a caller's
    ``rawpy.RawPy`` reporting flip 0 (no orientation) until its next ``postprocess``.
    """
    import rawpy

    settings = {
        "output_color": rawpy.ColorSpace.raw,
        "gamma": (1, 1),
        "use_camera_wb": True,
        "no_auto_bright": True,
        "output_bps": 16,
    }
    if isinstance(source, RawImage):
        if source.path is None:
            raise InvalidImageError("this RawImage was not read from a file; pass the rawpy.RawPy or the path")
        source = source.path
    if isinstance(source, (str, os.PathLike)):
        read_raw(source)  # a clear error for missing, unreadable or non-Bayer files
        with rawpy.imread(str(source)) as raw:
            rgb = raw.postprocess(**settings)
            flip = raw.sizes.flip
    else:
        rgb = source.postprocess(**settings)
        flip = source.sizes.flip  # the flip LibRaw has just applied
    orientation = orientation_from_libraw_flip(flip)
    stored = apply_orientation(rgb, orientation, inverse=True)
    return stored.astype(np.float32) / 65535.0, orientation


def run_invisp(restorer, source: Any, options: dict[str, Any]) -> np.ndarray | Tensor:
    """Forward: a camera raw (path, rawpy, RawImage) or linear raw RGB (array/tensor) -> sRGB on [0, 1]. A raw's
    rendering is displayed as a raw viewer shows it (the network sees it as stored; its output is turned by the
    raw's orientation); an array comes back in its own geometry.

    Inverse (``options["inverse"]``): an sRGB image (path, array or tensor, any supported dtype) -> white-balanced
    linear camera RGB on [0, 1]. Arrays and tensors come back as float32 in their own layout; raw files and image
    paths give NumPy float32 (H, W, 3). Forward outputs are clipped to [0, 1]; inverse outputs too (a raw has no
    values outside it). Unclipped round trips: ``restorer.network`` and its ``inverse`` method.
    """
    inverse = options["inverse"]
    orientation = 1
    if inverse and isinstance(source, (str, os.PathLike)):
        from restore.io import read_image

        source = read_image(source)
    elif not inverse and _is_raw_source(source):
        if isinstance(source, (str, os.PathLike)) and Path(source).suffix.lower() in IMAGE_SUFFIXES:
            raise InvalidImageError(
                f"{source} is an image, not a camera raw: invisp renders raws to sRGB; give inverse=True "
                "(--inverse) to turn an sRGB image into raw"
            )
        source, orientation = _develop_linear_raw(source)
    x, layout = to_model_tensor(source)
    if x.shape[1] != 3:
        raise InvalidImageError(f"model 'invisp' takes RGB (3 channels), got {x.shape[1]}")
    direction = restorer.network.inverse if inverse else restorer.network
    out = restorer.run_network(x, function=direction).clamp(0.0, 1.0)
    float_layout = dataclasses.replace(
        layout, dtype=torch.float32 if layout.is_tensor else np.dtype(np.float32), scale=1.0
    )
    result = from_model_tensor(out, float_layout)
    return result if orientation == 1 else apply_orientation(result, orientation)


def write_invisp_dng(path: str | os.PathLike, raw_rgb: np.ndarray, *, orientation: int = 1) -> None:
    """Write ``invisp``'s inverse output (H, W, 3) as a DNG of its camera (RGGB, 14 bits over black 2056).

    ``orientation`` is the EXIF orientation the DNG carries: 1 for the output of an image read for display
    (``restore.io.read_image``, as ``restore.restore`` reads a path), the image's own (``ImageMetadata.orientation``)
    for one read as stored (``restore.io.read_image_with_metadata``), so that the DNG displays as the image did.
    """
    from restore.io import write_linear_rgb_dng

    name, camera_from_xyz = INVISP_CAMERA
    write_linear_rgb_dng(
        path,
        raw_rgb,
        camera_from_xyz,
        black_level=2056,
        white_level=15000,
        camera_name=name,
        orientation=orientation,
    )


def burst_frames(source: Any) -> np.ndarray:
    """A burst as float32 (N, H, W, C) on [0, 1]: an array (N, H, W) or (N, H, W, C) or a list of same-shaped frames.

    Raises:
        InvalidImageError: fewer than 2 or more than 16 frames, frames of different shapes or dtypes, an unsupported
            dtype, or NaN/inf.
    """
    frames = list(source) if isinstance(source, (list, tuple)) else None
    if frames is not None:
        if any(not isinstance(f, np.ndarray) for f in frames):
            raise InvalidImageError("a burst given as a list must hold NumPy arrays")
        if len({(f.shape, f.dtype) for f in frames}) > 1:
            raise InvalidImageError("all frames of a burst must have the same shape and dtype")
        source = np.stack(frames) if frames else np.empty((0, 0, 0))
    if not isinstance(source, np.ndarray):
        raise InvalidImageError(f"a burst is an array (N, H, W[, C]) or a list of frames, not {type(source).__name__}")
    if source.ndim not in (3, 4) or not 2 <= source.shape[0] <= 16 or min(source.shape[1:3]) < 8:
        raise InvalidImageError(f"a burst is 2 to 16 frames of at least 8x8, (N, H, W[, C]); got shape {source.shape}")
    if source.ndim == 4 and source.shape[3] not in (1, 2, 3, 4):
        raise InvalidImageError(
            f"burst frames of shape {source.shape[1:]} have {source.shape[3]} channels; expected 1 (gray), "
            "2 (gray+alpha), 3 (RGB) or 4 (RGBA)"
        )
    scale = numpy_scale(source.dtype)
    if scale is None:
        raise InvalidImageError(
            f"unsupported dtype {source.dtype}; bursts must be uint8, uint16, float16, float32 or float64"
        )
    frames = source.astype(np.float32) / np.float32(scale)
    if not np.all(np.isfinite(frames)):
        raise InvalidImageError("the burst contains NaN or infinite values")
    return frames if frames.ndim == 4 else frames[..., None]


def reference_first(source: Any, reference: int) -> Any:
    """The burst ``source`` (an array (N, ...) or a list of frames) with frame ``reference`` moved to the front and
    the others in their order; anything else as it is, for the burst's own checks to refuse.

    Raises:
        InvalidOptionError: ``reference`` is not a frame of the burst.
    """
    if reference == 0 or not isinstance(source, (list, tuple, np.ndarray)) or getattr(source, "ndim", 1) == 0:
        return source
    if reference >= len(source):
        raise InvalidOptionError(
            f"reference={reference}, but the burst has {len(source)} frames (0 to {len(source) - 1})"
        )
    order = [reference, *(index for index in range(len(source)) if index != reference)]
    return source[order] if isinstance(source, np.ndarray) else [source[index] for index in order]


def burst_groups(count: int, size: int) -> list[np.ndarray]:
    """Frame indices (0 the reference) of the groups of exactly ``size`` frames a fixed-size network sees.

    Every group starts with the reference. A burst of at most ``size`` frames is one group, repeated cyclically up
    to ``size``; a longer one is split into as few groups as cover its other frames, each filled the same way.
    """
    others = np.arange(1, count)
    parts = np.array_split(others, max(1, -(-len(others) // (size - 1))))
    return [np.resize(np.concatenate([[0], part]), size) for part in parts]


def network_burst_merge(restorer, frames: np.ndarray, read: float, shot: float, align: bool) -> np.ndarray:
    """Burst (N, H, W, C) float32 -> the network's merged reference (H, W, C) float64, one pass per frame group.

    With ``align`` the frames are first moved onto the reference by whole pixels (``restore.ops.alignment``; on CUDA
    the translations are found on the GPU), so that shifts larger than the kernels' reach are merged too; that
    happens in place in ``frames`` when it is writeable (``run_burst`` passes its own converted copy), so a large
    burst is not held twice. The network takes a fixed number of frames (``network.frames``); ``burst_groups``
    adapts any burst length to it and the groups' results are averaged, weighted by their distinct frames. The
    channels of a frame share its kernels; the noise map comes from the reference's channel mean, or from each of
    its planes for a network that sees every plane (``network.planes``)."""
    from restore.ops.alignment import align_whole_pixels
    from restore.ops.burst_noise import noise_level_map

    if align:
        frames = frames if frames.flags.writeable else frames.copy()
        align_whole_pixels(frames, restorer.device if restorer.device.type == "cuda" else None)

    burst = torch.from_numpy(frames).float().permute(0, 3, 1, 2)  # (N, C, H, W); no copy for float32
    channels = burst.shape[1]
    network, merged, total = restorer.network, 0.0, 0
    planes = getattr(network, "planes", 1)  # a compiled network forwards attributes to its module
    noise = noise_level_map(burst[:1] if planes > 1 else burst[:1].mean(dim=1, keepdim=True), read, shot)

    def merge(packed: Tensor) -> Tensor:
        grouped = packed[:, :-planes].reshape(packed.shape[0], network.frames, channels, *packed.shape[-2:])
        return network(grouped, packed[:, -planes:])[0]

    for group in burst_groups(len(burst), network.frames):
        packed = torch.cat([*(burst[index] for index in group), noise[0]])[None]  # views: one copy
        weight = len(np.unique(group))
        merged = merged + weight * restorer.run_network(packed, function=merge)
        total += weight
    return (merged / total)[0].permute(1, 2, 0).cpu().double().numpy()


def merge_burst(restorer, frames: np.ndarray, read: float, shot: float, align: bool) -> np.ndarray:
    """Burst (N, H, W, C) float32 -> the merged reference (H, W, C) float64: the network (``network_burst_merge``),
    or a classical method (``restore.baselines_burst``: one alignment for all channels, merged channel by
    channel)."""
    if restorer.network is not None:
        return network_burst_merge(restorer, frames, read, shot, align)
    return restorer.spec.classical(frames.astype(np.float64), read, shot)


def in_burst_dtype(restored: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """A result on [0, 1] back in the input frames' dtype: integers rounded and clipped to their scale."""
    if np.issubdtype(dtype, np.integer):
        return np.round(np.clip(restored, 0.0, 1.0) * numpy_scale(dtype)).astype(dtype)
    return restored.astype(dtype)


def channel_mean_noise(read: float, shot: float, channels: int) -> tuple[float, float]:
    """The (read, shot) noise of the mean of ``channels`` channels whose noise is (read, shot) each and independent:
    its variance (read^2 + shot^2 * mean) / channels, so both divided by sqrt(channels)."""
    return read / math.sqrt(channels), shot / math.sqrt(channels)


def run_burst(restorer, source: Any, options: dict[str, Any]) -> np.ndarray:
    """Burst (see ``burst_frames``) -> its restored reference frame (``options["reference"]``, default 0) in the
    burst's dtype and layout; an alpha channel (gray+alpha, RGBA frames) is not merged: the reference's comes back
    untouched.

    Frames are linear intensities, or with ``options["encoding"]`` "srgb" sRGB-encoded ones, decoded to linear for
    the merge and the result encoded back. ``options["noise"]``: (read, shot) standard deviations on [0, 1] of the
    linear intensities of each channel, or ``None`` to estimate them (``restore.ops.burst_noise``). A network sees the
    frames' channel mean, so it gets that mean's noise: estimated on it, or a given one converted
    (``channel_mean_noise``); a classical method, which merges color frames channel by channel, gets the channels'.
    ``options["align"]`` (networks only): pre-align the frames by whole pixels.
    """
    from restore.ops.burst_noise import estimate_burst_noise

    source = reference_first(source, options["reference"])
    frames = burst_frames(source)
    first = np.asarray(source[0])
    has_alpha = first.ndim == 3 and first.shape[2] in (2, 4)
    if has_alpha:
        frames = frames[..., :-1]
    srgb = options["encoding"] == "srgb"
    if srgb:
        frames = linear_from_srgb(torch.from_numpy(frames)).numpy()
    if options["noise"] is not None:
        read, shot = options["noise"]
        if restorer.network is not None and getattr(restorer.network, "planes", 1) == 1:
            read, shot = channel_mean_noise(read, shot, frames.shape[3])
    elif getattr(restorer.spec.classical, "ignores_noise", False):  # a plain average needs no noise level
        read, shot = 0.0, 0.0
    else:
        read, shot = estimate_burst_noise(frames.mean(axis=3) if restorer.network is not None else frames)
    merged = merge_burst(restorer, frames, read, shot, options.get("align", False))
    if srgb:
        merged = srgb_from_linear(torch.from_numpy(merged)).numpy()
    restored = in_burst_dtype(merged, first.dtype)
    if has_alpha:
        return np.concatenate([restored, first[..., -1:]], axis=2)  # the reference's alpha, untouched
    return restored[..., 0] if first.ndim == 2 else restored


def raw_burst_mosaics(source: Any, cfa: CFA | None) -> tuple[np.ndarray, CFA, RawImage | None]:
    """A raw burst as float32 mosaics (N, H, W), their CFA and the reference's ``RawImage`` (None for arrays).

    ``source`` is a list of 2 to 16 camera raw files (paths or ``RawImage``s) of one size and CFA, whose mosaics are
    black-subtracted and scaled to the white level (``RawImage.mosaic``); or mosaics as an array (N, H, W) or a list
    of (H, W) arrays, uint8/uint16/float, linear and black-subtracted, scaled like ``burst_frames``. ``cfa`` is the
    arrays' pattern (default RGGB); for raw files it must match the files' if given.
    """
    items = list(source) if isinstance(source, (list, tuple)) else None
    if items and all(_is_raw_source(item) for item in items):
        if not 2 <= len(items) <= 16:
            raise InvalidImageError(f"a burst is 2 to 16 frames, got {len(items)} raw files")
        raws = [item if isinstance(item, RawImage) else read_raw(item) for item in items]
        if len({(raw.mosaic.shape, raw.cfa) for raw in raws}) > 1:
            raise InvalidImageError("all raw files of a burst must have the same size and CFA pattern")
        if cfa is not None and cfa != raws[0].cfa:
            raise InvalidImageError(f"cfa={cfa.value} was given, but the raw files are {raws[0].cfa.value}")
        return np.stack([_finite_raw(raw).mosaic for raw in raws]), raws[0].cfa, raws[0]
    frames = burst_frames(source)
    if frames.shape[3] != 1:
        raise InvalidImageError(f"raw burst frames are Bayer mosaics (N, H, W), got shape {np.shape(source)}")
    return frames[..., 0], cfa or CFA.RGGB, None


def run_raw_burst(restorer, source: Any, options: dict[str, Any]) -> np.ndarray:
    """Raw burst (see ``raw_burst_mosaics``) -> the denoised mosaic (H, W) of its reference frame
    (``options["reference"]``, default 0): in the arrays' dtype and scale, or float32 on ``RawImage.mosaic``'s scale
    for raw files.

    The mosaics are packed into RGGB planes (``restore.ops.bayer``; other CFAs are mirrored) and merged by the
    network like a 4-channel burst. ``options["noise"]``: (read, shot) on the mosaic's scale, or ``None`` to estimate
    them from the planes; ``options["align"]``: pre-align by whole packed pixels (2 mosaic pixels, so the CFA stays).
    """
    from restore.ops.bayer import pack_bayer, pad_to_even, unpack_bayer
    from restore.ops.burst_noise import estimate_burst_noise

    source = reference_first(source, options["reference"])
    mosaics, cfa, reference = raw_burst_mosaics(source, options["cfa"])
    even, (height, width) = pad_to_even(torch.from_numpy(mosaics)[:, None])
    planes = pack_bayer(even, cfa).permute(0, 2, 3, 1).numpy().copy()  # (N, h, w, 4), writeable for alignment
    read, shot = options["noise"] or estimate_burst_noise(planes, frames_of="packed Bayer planes")
    restored = merge_burst(restorer, planes, read, shot, options.get("align", False))  # (h, w, 4) float64
    mosaic = unpack_bayer(torch.from_numpy(restored).permute(2, 0, 1)[None], cfa)[0, 0, :height, :width].numpy()
    return in_burst_dtype(mosaic, np.float32 if reference is not None else np.asarray(source[0]).dtype)


def write_burst_dng(path: str | os.PathLike, mosaic: np.ndarray, reference: RawImage) -> None:
    """Write a denoised mosaic (H, W) on ``RawImage.mosaic``'s scale as a DNG with the reference raw's CFA, levels,
    white balance, colors and orientation, atomically; a raw editor develops and displays it like the original."""
    from restore.io import write_dng

    blacks = np.array([round(level) for level in reference.black_level]).reshape(2, 2)
    white = round(reference.white_level)
    black = np.tile(blacks, (mosaic.shape[0] // 2 + 1, mosaic.shape[1] // 2 + 1))[: mosaic.shape[0], : mosaic.shape[1]]
    values = np.clip(np.round(mosaic * (white - black) + black), 0, 65535).astype(np.uint16)
    matrix = None if reference.color_matrix is None else np.linalg.inv(XYZ_FROM_SRGB @ reference.color_matrix)
    write_dng(
        path,
        values,
        reference.cfa,
        black_level=blacks.ravel(),
        white_level=white,
        wb_gains=reference.wb_gains,
        color_matrix=matrix,
        orientation=reference.orientation,
    )
