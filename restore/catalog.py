"""Every model ``restore`` ships, registered by name (names as in ../shared/DESIGN.md)."""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from restore import baselines, baselines_burst, baselines_deblur, baselines_lowlight
from restore.errors import InvalidOptionError
from restore.io.raw import CFA
from restore.models.deblur import MultiScaleDeblur
from restore.models.dncnn import DnCNN
from restore.models.invisp import InvertibleISP
from restore.models.kpn import KPN
from restore.models.lowlight import SIDUNet
from restore.registry import ModelSpec, Option, register
from restore.runs import run_burst, run_invisp, run_lowlight, run_raw_burst


def _is_auto(value: Any) -> bool:
    """Whether an option was left to the model: ``None`` or the word "auto" (an array is neither)."""
    return value is None or (isinstance(value, str) and value == "auto")


def _is_finite_real(value: Any) -> bool:
    """A real number (not a bool) that is finite, also where it is too large for a float."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int beyond the float range
        return False


def _number_or_auto(value: Any, name: str, kind: str, meaning: str, low: float, high: float) -> float | None:
    """A finite real ``value`` in [low, high] as a float, or ``None`` for "auto"; anything else is refused with a
    message naming the option (``name``), what kind of number it takes (``kind``) and what it means."""
    if _is_auto(value):
        return None
    if not _is_finite_real(value):
        raise InvalidOptionError(f"{name} must be a number {kind} or 'auto', got {value!r}")
    if not low <= value <= high:
        raise InvalidOptionError(f"{name} is {meaning} and must lie in [{low:g}, {high:g}], got {value}")
    return float(value)


def parse_sigma(value: Any) -> float | None:
    """A noise level on the 8-bit scale in [0, 255], or ``None`` for "auto" (estimate from the image)."""
    return _number_or_auto(value, "sigma", "on the 8-bit scale (e.g. 25)", "on the 8-bit scale", 0, 255)


def parse_noise(value: Any) -> tuple[float, float] | None:
    """Burst noise: ``(read, shot)`` standard deviations on the [0, 1] scale, or ``None`` for "auto"."""
    if _is_auto(value):
        return None
    try:
        if isinstance(value, (str, bytes)):
            raise TypeError("a string is not a pair of numbers")
        read, shot = (float(v) for v in value)
    except (TypeError, ValueError, OverflowError):
        raise InvalidOptionError(f"noise must be (read, shot) or 'auto', got {value!r}") from None
    if not (math.isfinite(read) and math.isfinite(shot) and read >= 0 and shot >= 0 and read + shot > 0):
        raise InvalidOptionError(f"noise (read, shot) must be finite, non-negative and not both zero, got {value!r}")
    return read, shot


def parse_flag(value: Any, name: str) -> bool:
    """The yes/no option ``name``: ``True`` or ``False`` only (no truthy strings)."""
    if not isinstance(value, bool):
        raise InvalidOptionError(f"{name} must be True or False, got {value!r}")
    return value


ENCODINGS = ("linear", "srgb")


def parse_encoding(value: Any) -> str:
    """How burst frames encode intensity: "linear" or "srgb" (any case)."""
    if not isinstance(value, str) or value.lower() not in ENCODINGS:
        raise InvalidOptionError(f"encoding must be one of {', '.join(ENCODINGS)}, got {value!r}")
    return value.lower()


def parse_cfa(value: Any) -> CFA | None:
    """A Bayer pattern name (RGGB, BGGR, GRBG, GBRG; any case) or ``CFA``, or ``None`` (the file's, or RGGB)."""
    if value is None or isinstance(value, CFA):
        return value
    try:
        return CFA(str(value).upper())
    except ValueError:
        raise InvalidOptionError(f"cfa must be one of {', '.join(CFA.__members__)}, got {value!r}") from None


def parse_kernel(value: Any) -> np.ndarray:
    """A blur kernel: a 2-D array of finite non-negative weights with a positive sum, returned normalized to sum 1,
    each even side padded with a zero at its end (its centre stays at index side // 2, where ``scipy.ndimage``
    centres an even kernel; scikit-image's Richardson-Lucy flips an even kernel about another centre and drifts)."""
    if value is None:
        raise InvalidOptionError(
            "this method is non-blind: give the blur kernel, e.g. kernel=np.ones((5, 5)) / 25 "
            "(command line: --kernel k.npy)"
        )
    if isinstance(value, (str, os.PathLike)):
        raise InvalidOptionError(
            f"kernel must be an array of weights, not a path ({str(value)!r}): load the file first, e.g. with np.load "
            "(the command line's --kernel reads .npy and image files)"
        )
    if hasattr(value, "detach"):  # a torch tensor, perhaps on a GPU or taking part in autograd
        value = value.detach().cpu()
    try:
        kernel = np.asarray(value)
    except ValueError:  # ragged nested lists
        raise InvalidOptionError(
            "kernel must be a 2-D array of finite weights, got rows of different lengths"
        ) from None
    if kernel.dtype.kind not in "biuf":
        raise InvalidOptionError(f"kernel must be a 2-D array of real weights, got {kernel.dtype} values")
    kernel = kernel.astype(np.float64)
    if kernel.ndim != 2 or min(kernel.shape) < 1 or not np.all(np.isfinite(kernel)):
        raise InvalidOptionError(f"kernel must be a 2-D array of finite weights, got shape {kernel.shape}")
    if np.any(kernel < 0) or kernel.sum() <= 0:
        raise InvalidOptionError("kernel weights must be non-negative with a positive sum")
    kernel = np.pad(kernel, [(0, 1 - side % 2) for side in kernel.shape])
    return kernel / kernel.sum()


def parse_balance(value: Any) -> float:
    """Wiener's regularization weight: a finite real number above 0."""
    if not _is_finite_real(value) or value <= 0:
        raise InvalidOptionError(f"balance must be a finite number above 0 (e.g. 0.1), got {value!r}")
    return float(value)


def parse_iterations(value: Any) -> int:
    """Richardson-Lucy's iteration count: a whole number from 1 to ``RICHARDSON_LUCY_MAX_ITERATIONS`` (its border
    padding is sized for that many)."""
    top = baselines_deblur.RICHARDSON_LUCY_MAX_ITERATIONS
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not 1 <= value <= top:
        raise InvalidOptionError(f"iterations must be a whole number from 1 to {top}, got {value!r}")
    return int(value)


def parse_ratio(value: Any) -> float | None:
    """An exposure ratio (amplification) >= 1, or ``None`` for "auto" (from the raw's brightness)."""
    return _number_or_auto(value, "ratio", "(e.g. 100)", "an amplification factor", 1, 10_000)


BLIND_SIGMA_RANGE = (0, 55)  # the noise levels the blind DnCNNs are trained on (8-bit scale)


def parse_blind_sigma(value: Any) -> float | None:
    """A noise level on the 8-bit scale within what the blind models are trained on, or ``None`` for "auto"."""
    return _number_or_auto(
        value,
        "sigma",
        "on the 8-bit scale (e.g. 25)",
        "a noise level on the 8-bit scale that the blind model is trained for",
        *BLIND_SIGMA_RANGE,
    )


BLIND_SIGMA = Option(
    "sigma",
    None,
    parse_blind_sigma,
    "noise level on the 8-bit scale; checked but not needed: the model is blind (0-55)",
)
SIGMA = Option("sigma", None, parse_sigma, "noise level on the 8-bit scale (25 means 25/255); 'auto' estimates it")


def per_level_sigma(level: float) -> Option:
    """The ``sigma`` option of a denoiser trained for one noise level."""
    return Option(
        "sigma",
        level,
        parse_sigma,
        f"noise level on the 8-bit scale, default {level:g} (what this model is trained for); 'auto' estimates it "
        "from the image (benchmarks/results/noise_estimation.md), and any level runs the per-level model nearest to it",
    )


def dncnn(
    name: str,
    channels: int,
    depth: int,
    summary: str,
    options: tuple[Option, ...],
    batch_norm: bool = True,
    noise_level: float | None = None,
) -> ModelSpec:
    """A DnCNN entry: weights file named after the model, receptive-field radius = depth."""
    return ModelSpec(
        name=name,
        task="denoise",
        summary=summary,
        channels=(channels,),
        options=options,
        build=partial(DnCNN, channels=channels, depth=depth, batch_norm=batch_norm),
        weights=name,
        receptive_radius=depth,
        noise_level=noise_level,
        self_ensemble=True,
    )


def classical_denoiser(
    name: str, channels: tuple[int, ...], summary: str, function: Callable[..., np.ndarray]
) -> ModelSpec:
    """A classical denoiser entry taking ``sigma`` (or estimating it)."""
    return ModelSpec(
        name=name, task="denoise", summary=summary, channels=channels, options=(SIGMA,), classical=function
    )


register(
    dncnn(
        "dncnn-color",
        3,
        20,
        "CDnCNN-B: blind color Gaussian denoiser, sigma 0-55 (20 layers, no batch norm)",
        (BLIND_SIGMA,),
        batch_norm=False,
    )
)
register(
    dncnn("dncnn-gray", 1, 20, "DnCNN-B: blind grayscale Gaussian denoiser, sigma 0-55 (20 layers)", (BLIND_SIGMA,))
)
for level in (15, 25, 50):
    register(
        dncnn(
            f"dncnn-gray-{level}",
            1,
            17,
            f"DnCNN-S: grayscale Gaussian denoiser trained for sigma {level} (17 layers)",
            (per_level_sigma(level),),
            noise_level=level,
        )
    )
register(
    classical_denoiser(
        "bm3d",
        (1,),
        "BM3D (bm3d package), grayscale; color images are denoised channel by channel",
        baselines.bm3d_denoise,
    )
)
register(classical_denoiser("cbm3d", (3,), "CBM3D (bm3d package), color", baselines.cbm3d_denoise))
register(
    classical_denoiser(
        "nlmeans", (1, 3), "non-local means (scikit-image, fast mode), gray or color", baselines.nlmeans_denoise
    )
)
RATIO = Option(
    "ratio",
    "auto",
    parse_ratio,
    "exposure ratio to make up (e.g. 100); 'auto' brings the mean white-balanced level to 0.18",
)

register(
    ModelSpec(
        name="lowlight-raw",
        task="lowlight",
        summary="Learning to See in the Dark U-Net (half width): dark camera raw -> sRGB, colors from the raw's metadata",
        channels=(3,),
        input_kind="raw",
        options=(RATIO,),
        build=partial(SIDUNet, features=16),
        weights="lowlight-raw",
        receptive_radius=107,  # packed pixels: four poolings and their way back up, from the grid's worst phase
        run=run_lowlight,
    )
)
RENDERING_SIGMA = Option(
    "sigma",
    None,
    parse_sigma,
    "noise level of the conventional rendering on the 8-bit scale; 'auto' estimates it (reads low on dark raws)",
)
for name, function, options, summary in (
    ("lowlight-conventional", baselines_lowlight.conventional, (RATIO,), "conventional pipeline on the amplified raw"),
    (
        "lowlight-cbm3d",
        baselines_lowlight.conventional_cbm3d,
        (RATIO, RENDERING_SIGMA),
        "conventional pipeline, then CBM3D",
    ),
    (
        "lowlight-nlmeans",
        baselines_lowlight.conventional_nlmeans,
        (RATIO, RENDERING_SIGMA),
        "conventional pipeline, then OpenCV NL-means",
    ),
):
    register(
        ModelSpec(
            name=name,
            task="lowlight",
            summary=summary,
            channels=(3,),
            input_kind="raw",
            options=options,
            classical=function,
            run=run_lowlight,
        )
    )

register(
    ModelSpec(
        name="invisp",
        task="isp",
        summary="invertible ISP: camera raw -> sRGB, and sRGB/JPEG -> raw with inverse=True (Canon 550D colors)",
        channels=(3,),
        input_kind="raw",
        options=(
            Option("inverse", False, partial(parse_flag, name="inverse"), "True: sRGB or JPEG image -> linear raw RGB"),
        ),
        build=InvertibleISP,
        weights="invisp",
        receptive_radius=49,
        run=run_invisp,
    )
)


def parse_reference(value: Any) -> int:
    """The index of a burst's reference frame: a whole number >= 0 (checked against the burst when it runs)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise InvalidOptionError(f"reference is the index of the reference frame, a whole number >= 0, got {value!r}")
    return int(value)


NOISE = Option("noise", "auto", parse_noise, "(read, shot) noise standard deviations on [0, 1], or 'auto'")
REFERENCE = Option("reference", 0, parse_reference, "index of the reference frame, the one restored (default 0)")
ALIGN = Option(
    "align",
    True,
    partial(parse_flag, name="align"),
    "True: move the frames onto the reference by whole pixels (phase correlation) first",
)
ENCODING = Option(
    "encoding",
    "linear",
    parse_encoding,
    "linear: frames are linear intensities; srgb: sRGB-encoded (as most image files), merged in linear light",
)


def _ignores_noise(method: Callable[[np.ndarray], np.ndarray]) -> Callable[..., np.ndarray]:
    """``method`` behind the burst methods' call shape; marked so that no noise is estimated for it."""

    def merge(burst: np.ndarray, read: float, shot: float) -> np.ndarray:
        return method(burst)

    merge.ignores_noise = True
    return merge


register(
    ModelSpec(
        name="kpn-burst",
        task="burst",
        summary="kernel prediction network (Mildenhall et al. 2018): 5x5 kernels per pixel and frame, trained on 8",
        channels=(1, 3),
        input_kind="burst",
        options=(NOISE, ALIGN, REFERENCE, ENCODING),
        build=partial(KPN, frames=8, kernel_size=5, widths=(32, 64, 128, 256)),
        weights="kpn-burst",
        receptive_radius=81,  # from the worst phase of its 16-px pooling grid (77 from a grid corner)
        # a 1024^2 tile holds about 0.5 GB of activations (the kernels stream one frame at a time); on CUDA, where
        # four tiles go through per call, 2048^2 ones have not been measured, so the cap keeps them at 1024
        max_auto_tile=1024,
        run=run_burst,
        self_ensemble=True,
    )
)
register(
    ModelSpec(
        name="kpn-burst-raw",
        task="burst",
        summary="kpn-burst for raw Bayer bursts: packed RGGB frames, every plane seen, 5x5 kernels shared by a frame's "
        "planes",
        channels=(1,),
        input_kind="raw-burst",
        options=(
            NOISE,
            ALIGN,
            REFERENCE,
            Option("cfa", None, parse_cfa, "the mosaics' Bayer pattern (arrays only; raw files carry theirs): RGGB..."),
        ),
        build=partial(KPN, frames=8, kernel_size=5, widths=(32, 64, 128, 256), planes=4),
        weights="kpn-burst-raw",
        receptive_radius=81,  # from the worst phase of its 16-px pooling grid (77 from a grid corner)
        max_auto_tile=1024,
        run=run_raw_burst,
    )
)
for name, function, summary in (
    ("burst-average", _ignores_noise(baselines_burst.average), "burst: plain average of the frames"),
    ("burst-align", _ignores_noise(baselines_burst.align_and_average), "burst: phase-correlation align, average"),
    ("burst-hdrplus", baselines_burst.hdrplus_merge, "burst: HDR+-style tiled align and robust merge"),
    ("burst-bm3d", baselines_burst.reference_bm3d, "burst: BM3D (CBM3D if RGB) on the reference, noise stabilized"),
    ("burst-bm4d", baselines_burst.aligned_bm4d, "burst: BM4D on the aligned frames as a volume, noise stabilized"),
):
    register(
        ModelSpec(
            name=name,
            task="burst",
            summary=summary,
            channels=(1, 3),
            input_kind="burst",
            options=(NOISE, REFERENCE, ENCODING),
            classical=function,
            run=run_burst,
        )
    )

register(
    ModelSpec(
        name="deblur-ms",
        task="deblur",
        summary="multi-scale blind motion deblurring (Nah et al. 2017): 3 scales coarse to fine, 6 ResBlocks each",
        channels=(3,),
        build=partial(MultiScaleDeblur, scales=3, features=32, blocks=6, kernel_size=3),
        weights="deblur-ms",
        receptive_radius=112,
        self_ensemble=True,
    )
)
KERNEL = Option("kernel", None, parse_kernel, "the true blur kernel, a 2-D array (normalized to sum 1)")
register(
    ModelSpec(
        name="deblur-unsharp",
        task="deblur",
        summary="unsharp masking (scikit-image), blind: sharpens, does not undo motion",
        channels=(1, 3),
        classical=baselines_deblur.unsharp,
    )
)
BALANCE = Option(
    "balance",
    baselines_deblur.WIENER_BALANCE,
    parse_balance,
    f"Wiener's regularization: more suppresses noise, less sharpens (default {baselines_deblur.WIENER_BALANCE:g}, "
    "chosen for 1% noise)",
)
ITERATIONS = Option(
    "iterations",
    baselines_deblur.RICHARDSON_LUCY_ITERATIONS,
    parse_iterations,
    f"Richardson-Lucy iterations: more sharpen and amplify noise (default {baselines_deblur.RICHARDSON_LUCY_ITERATIONS}"
    f", chosen for 1% noise; at most {baselines_deblur.RICHARDSON_LUCY_MAX_ITERATIONS})",
)
for name, function, option, summary in (
    (
        "deblur-wiener",
        baselines_deblur.wiener_deblur,
        BALANCE,
        "non-blind Wiener deconvolution in linear light (true kernel)",
    ),
    ("deblur-rl", baselines_deblur.richardson_lucy_deblur, ITERATIONS, "non-blind Richardson-Lucy (true kernel)"),
):
    register(
        ModelSpec(
            name=name, task="deblur", summary=summary, channels=(1, 3), options=(KERNEL, option), classical=function
        )
    )
