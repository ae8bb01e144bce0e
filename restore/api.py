"""The public API: ``models()``, ``load()`` and ``restore()``.

    >>> import restore
    >>> r = restore.load("dncnn-color", device="auto", precision="auto", tile="auto")
    >>> out = r(noisy_uint8_rgb, sigma=25)          # uint8 (H, W, 3) in, uint8 (H, W, 3) out

A ``Restorer`` converts the input to a float tensor on a [0, 1] scale (``restore.convert``), adapts its channels to
the model, runs the model (tiled on large images, in the chosen precision and device) and gives the result back in
the input's own type, layout, dtype, scale and device.

Channels: alpha (gray+alpha, RGBA) is kept as it is and never passed to the model. A gray model on an RGB image
restores each channel on its own; a color model on a gray image sees the gray replicated to RGB and returns the
mean of its three output channels, and so does it on an RGB image whose three channels are equal (a gray photo
stored as RGB, a gray+alpha file read as RGBA), so that no color appears in it.
"""

from __future__ import annotations

import functools
import operator
import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from restore import catalog  # noqa: F401  (registers the models)
from restore.baselines import estimate_noise_sigma
from restore.convert import from_model_tensor, split_alpha, to_model_tensor
from restore.errors import InvalidImageError, InvalidOptionError, PerformanceWarning
from restore.ops.ensemble import self_ensemble
from restore.ops.tiling import tiled_apply
from restore.registry import ModelInfo, ModelSpec, get_spec, list_specs, load_network, model_info, nearest_noise_level
from restore.runtime import cpu_description, native_bfloat16

__all__ = ["Restorer", "load", "models", "restore"]

AUTO_TILE = {"cpu": 1024, "cuda": 2048, "mps": 1024}
TILES_PER_BATCH = {"cuda": 4}  # tiles stacked per network call: keeps a GPU busy; 1 elsewhere (lowest memory)
PRECISIONS = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


def models() -> list[ModelInfo]:
    """Every registered model and classical baseline, with its task, input kind, channels, options and card."""
    return [model_info(spec) for spec in list_specs()]


def resolve_device(device: str | torch.device) -> torch.device:
    """``"auto"`` picks CUDA, then MPS, then CPU; anything else must name an available device."""
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise InvalidOptionError(f"unknown device {device!r}: {error}") from None
    available = {
        "cpu": True,
        "cuda": torch.cuda.is_available(),
        "mps": torch.backends.mps.is_available(),
    }
    if not available.get(resolved.type, False):
        raise InvalidOptionError(
            f"device {device!r} is not available on this machine (try device='auto', on the command line --device auto)"
        )
    if resolved.type == "cuda" and resolved.index is not None and resolved.index >= torch.cuda.device_count():
        raise InvalidOptionError(f"device {device!r}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    return resolved


def resolve_precision(precision: str | torch.dtype, device: torch.device) -> torch.dtype:
    """``"auto"``: bf16 (or fp16) on CUDA, fp16 on MPS, fp32 on CPU. fp16 is refused on the CPU (no fast kernels);
    bf16 on a CPU without native bfloat16 runs, with a ``PerformanceWarning`` (it is emulated there, many times
    slower than fp32)."""
    if precision == "auto":
        if device.type == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float16 if device.type == "mps" else torch.float32
    dtype = precision if isinstance(precision, torch.dtype) else PRECISIONS.get(str(precision))
    if dtype not in PRECISIONS.values():
        raise InvalidOptionError(f"precision must be 'auto', 'fp32', 'fp16' or 'bf16', got {precision!r}")
    if dtype == torch.float16 and device.type == "cpu":
        raise InvalidOptionError("fp16 is not supported on the CPU; use 'bf16' or 'fp32'")
    if dtype == torch.bfloat16 and device.type == "cpu" and not native_bfloat16(device):
        warnings.warn(
            f"bf16 on this CPU ({cpu_description()}) is emulated, not native (no AVX512-BF16): expect it to be many "
            "times slower than fp32 (benchmarks/results/speed-avx2.md); precision='auto' picks fp32 here",
            PerformanceWarning,
            stacklevel=4,  # the caller of restore.load
        )
    return dtype


def resolve_tile(tile: int | str | None, device: torch.device, overlap: int, max_auto: int | None = None) -> int | None:
    """Tile size in pixels: ``"auto"`` by device (at most ``max_auto``), ``None``/``0``/``"off"`` for no tiling, or an
    explicit size."""
    if tile == "auto":
        return min(AUTO_TILE.get(device.type, 1024), max_auto or 1 << 30)
    size = None if isinstance(tile, bool) else _whole_number(tile)
    if tile is None or tile == "off" or size == 0:
        return None
    if size is None or size <= 2 * overlap:
        raise InvalidOptionError(
            f"tile must be 'auto', 'off' or a size in pixels larger than twice the overlap ({2 * overlap}), "
            f"got {tile!r}"
        )
    return size


def _whole_number(value: Any) -> int | None:
    """``value`` as a Python int where it is an integer of any kind (NumPy's too), else None."""
    try:
        return operator.index(value)
    except TypeError:
        return None


class Restorer:
    """A loaded model, reusable over many images. Create it with ``restore.load``.

    Calling it restores one image (or a batch, for tensors (B, C, H, W)) and returns it in the input's own form;
    keyword arguments are the model's per-call options (see ``info.options``).
    """

    def __init__(
        self,
        spec: ModelSpec,
        device: str | torch.device = "auto",
        precision: str | torch.dtype = "auto",
        tile: int | str | None = "auto",
        compile: bool = False,
        ensemble: bool = False,
    ) -> None:
        if not isinstance(ensemble, bool):
            raise InvalidOptionError(f"ensemble must be True or False, got {ensemble!r}")
        if ensemble and not spec.self_ensemble:
            raise InvalidOptionError(
                f"model {spec.name!r} does not take ensemble=True (--ensemble): "
                "flips and quarter turns do not commute with it"
            )
        self.spec = spec
        self.device = resolve_device(device)
        self.dtype = resolve_precision(precision, self.device)
        self.overlap = max(16, -(-2 * spec.receptive_radius // 8) * 8)
        self.tile = resolve_tile(tile, self.device, self.overlap, spec.max_auto_tile)
        self.network = None
        self.compiled = compile
        self.ensemble = ensemble
        self._siblings: dict[str, Restorer] = {}  # per-level models: the siblings other sigmas went to
        if spec.build is not None:
            self.network = load_network(spec).to(self.device, memory_format=torch.channels_last)
            if compile:
                self.network = torch.compile(self.network)

    @property
    def info(self) -> ModelInfo:
        return model_info(self.spec)

    def __repr__(self) -> str:
        return (
            f"Restorer({self.spec.name!r}, device={str(self.device)!r}, precision={str(self.dtype)[6:]!r}, "
            f"tile={self.tile}{', ensemble=True' if self.ensemble else ''})"
        )

    def __call__(self, image: np.ndarray | Tensor | str | os.PathLike, **options: Any) -> np.ndarray | Tensor:
        """Restore ``image`` (array, tensor or path, see ``restore.convert``); returns it in the same form.

        A path is read with ``restore.io.read_image`` (EXIF orientation applied) and the result is a NumPy array.
        Models with their own call (``spec.run``: raw files, inverse directions) document their inputs and outputs
        in ``restore.runs``.
        """
        parsed = self.spec.parse_options(options)
        if self.spec.run is not None:
            return self.spec.run(self, image, parsed)
        if isinstance(image, (str, os.PathLike)):
            image = self._read(Path(image))
        x, layout = to_model_tensor(image)
        color, alpha = split_alpha(x)
        restored = self._restore_channels(color, parsed)
        if not bool(torch.isfinite(restored).all()):
            raise InvalidImageError(
                f"model {self.spec.name!r} overflowed: the image's values (up to {float(color.abs().max()):.3g} in "
                f"magnitude) lie far outside the [0, 1] scale it works on"
            )
        if alpha is not None:
            restored = torch.cat([restored.to(alpha.device), alpha], dim=1)  # where the input is: MPS has no float64
        return from_model_tensor(restored, layout)

    def _read(self, path: Path) -> np.ndarray:
        from restore.io import is_raw_path, read_image

        if is_raw_path(path):
            raise InvalidImageError(f"{path} is a camera raw file; model {self.spec.name!r} restores RGB/gray images")
        return read_image(path)

    def _restore_channels(self, x: Tensor, options: dict[str, Any]) -> Tensor:
        """Run the model on color channels (B, C, H, W), adapting gray and RGB to what the model takes."""
        channels, native = x.shape[1], self.spec.channels
        if channels == 3 and 1 not in native and _is_gray(x):  # a gray image stored as RGB: restored as gray
            return self._restore_channels(x[:, :1], options).repeat(1, 3, 1, 1)
        if channels in native:
            return self._run(x, options)
        if channels == 3 and 1 in native:
            batch = x.shape[0]
            out = self._run(x.reshape(batch * 3, 1, *x.shape[-2:]), options)
            return out.reshape(batch, 3, *out.shape[-2:])
        if channels == 1 and 3 in native:
            return self._run(x.expand(-1, 3, -1, -1), options).mean(dim=1, keepdim=True)
        raise InvalidImageError(f"model {self.spec.name!r} takes {native} color channels, the image has {channels}")

    def _run(self, x: Tensor, options: dict[str, Any]) -> Tensor:
        if self.network is None:
            return self._run_classical(x, options)
        if self.spec.noise_level is None:
            return self.run_network(x)
        if options["sigma"] is not None:  # one level for the whole batch
            return self._for_noise_level(options["sigma"]).run_network(x)
        restored = []
        for image in x.split(1):  # "auto": each image's own estimated level
            sigma = estimate_noise_sigma(image[0].permute(1, 2, 0).cpu().double().numpy())
            restored.append(self._for_noise_level(sigma).run_network(image))
        return torch.cat(restored)

    def _for_noise_level(self, sigma: float) -> Restorer:
        """A per-level model's restorer for ``sigma``: itself, or the sibling trained nearest to it, loaded once with
        the same device, precision, tiling and compilation."""
        spec = nearest_noise_level(self.spec, sigma)
        if spec.name == self.spec.name:
            return self
        if spec.name not in self._siblings:
            self._siblings[spec.name] = Restorer(spec, self.device, self.dtype, self.tile, self.compiled, self.ensemble)
        return self._siblings[spec.name]

    @torch.no_grad()  # not inference_mode: its tensors, returned as they are, would refuse in-place use and autograd
    def run_network(self, x: Tensor, scale: int = 1, function: Callable[[Tensor], Tensor] | None = None) -> Tensor:
        """(B, C, H, W) float on any device -> (B, C', H * scale, W * scale) float32 on ``self.device``.

        Runs ``function`` (default: the network itself; e.g. ``network.inverse``) in the chosen precision, tiled on
        large inputs. Networks with a ``multiple`` attribute get their input edge-padded to a multiple of it. With
        ``ensemble`` each tile's result is the mean over its eight flips and quarter turns (``self_ensemble``).
        """
        function = function or self.network
        if self.device.type == "cuda" and x.device.type == "cpu":
            x = x.float().pin_memory().to(self.device, non_blocking=True)  # the copy overlaps queued GPU work
        x = x.to(self.device, dtype=torch.float32)  # each tile goes channels_last in `run`: no whole-image copy
        autocast = torch.autocast(self.device.type, dtype=self.dtype, enabled=self.dtype != torch.float32)
        multiple = getattr(self.network, "multiple", 1)

        def call(tile: Tensor) -> Tensor:
            return function(tile.contiguous(memory_format=torch.channels_last)).float()

        def run(tile: Tensor) -> Tensor:
            height, width = tile.shape[-2:]
            if height % multiple or width % multiple:
                tile = F.pad(tile, (0, -width % multiple, 0, -height % multiple), mode="replicate")
            with autocast:
                out = self_ensemble(call, tile) if self.ensemble else call(tile)
            return out[..., : height * scale, : width * scale]

        if self.tile is None:
            return run(x)
        batch_tiles = TILES_PER_BATCH.get(self.device.type, 1)
        return tiled_apply(run, x, self.tile, self.overlap, scale=scale, batch_tiles=batch_tiles, multiple=multiple)

    def _run_classical(self, x: Tensor, options: dict[str, Any]) -> Tensor:
        outputs = []
        for image in x.cpu().double().numpy():
            hwc = image.transpose(1, 2, 0)
            result = self.spec.classical(hwc[:, :, 0] if hwc.shape[2] == 1 else hwc, **options)
            outputs.append(torch.from_numpy(np.asarray(result, dtype=np.float32).reshape(hwc.shape)).permute(2, 0, 1))
        return torch.stack(outputs)


def _is_gray(x: Tensor) -> bool:
    """Whether every image of a batch (B, 3, H, W) has three equal channels."""
    return bool(torch.equal(x[:, 0], x[:, 1]) and torch.equal(x[:, 1], x[:, 2]))


def load(
    name: str,
    device: str | torch.device = "auto",
    precision: str | torch.dtype = "auto",
    tile: int | str | None = "auto",
    compile: bool = False,
    ensemble: bool = False,
) -> Restorer:
    """Load a model by name (see ``models()``) as a reusable ``Restorer``.

    Args:
        name: registered model name, e.g. ``"dncnn-color"``.
        device: ``"auto"`` (CUDA, then MPS, then CPU), ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"`` or a
            ``torch.device``.
        precision: ``"auto"`` (bf16/fp16 on GPU, fp32 on CPU), ``"fp32"``, ``"fp16"`` (GPU only) or ``"bf16"``.
        tile: ``"auto"`` (1024 px on CPU and MPS, 2048 px on CUDA; at most 1024 for the burst networks), an explicit
            tile size, or ``None``/``0``/``"off"``.
        compile: ``torch.compile`` the network (a slow first call, then faster; off by default).
        ensemble: geometric self-ensemble: average the network over the eight flips and quarter turns of the input
            (8x the time; a small PSNR gain, measured in ``benchmarks/results``). Only for models whose
            ``info.self_ensemble`` is true (the DnCNNs, kpn-burst, deblur-ms).

    Raises:
        UnknownModelError: no model of that name. WeightsError: missing or corrupted weights.
        InvalidOptionError: unavailable device, bad precision or tile; ensemble on a model that does not take it.
    """
    return Restorer(get_spec(name), device=device, precision=precision, tile=tile, compile=compile, ensemble=ensemble)


@functools.lru_cache(maxsize=4, typed=True)  # typed: ensemble=1 is refused even after ensemble=True
def _cached_load(
    name: str, device: str | torch.device, precision: str | torch.dtype, tile: int | str | None, ensemble: bool
):
    return load(name, device=device, precision=precision, tile=tile, ensemble=ensemble)


def restore(
    image: np.ndarray | Tensor | str | os.PathLike,
    model: str = "dncnn-color",
    *,
    device: str | torch.device = "auto",
    precision: str | torch.dtype = "auto",
    tile: int | str | None = "auto",
    ensemble: bool = False,
    **options: Any,
) -> np.ndarray | Tensor:
    """Restore one image with a model; the last few loaded models are kept for the next call.

    See ``Restorer`` for the accepted inputs and ``load`` for the arguments; ``options`` are per-call options of
    the model, e.g. ``sigma=25``.
    """
    arguments = (model, device, precision, tile, ensemble)
    try:
        hash(arguments)
    except TypeError:  # e.g. a list: load uncached, so that the argument's own check refuses it by name
        return load(model, device=device, precision=precision, tile=tile, ensemble=ensemble)(image, **options)
    return _cached_load(*arguments)(image, **options)
