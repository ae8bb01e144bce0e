"""The model registry: name -> architecture or classical method, weights file, task, input kind and model card.

Models are registered in ``restore.catalog`` by explicit calls to ``register``. Learned weights are safetensors
files in the weights folder, each with a JSON model card whose sha256 is verified before loading; pickled
checkpoints are never read.

The weights folder is ``$RESTORE_WEIGHTS_DIR`` if set, else the ``weights/`` folder of a source checkout (editable
install), else where pip installed the wheel's weights: ``<prefix>/share/restore/weights``, with the user base as the
prefix after ``pip install --user`` and the target folder after ``--target``.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
import os
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from safetensors import SafetensorError
from safetensors.torch import load_file
from torch import nn

from restore.errors import InvalidOptionError, UnknownModelError, WeightsError
from restore.models.fusion import fold_batch_norm

__all__ = [
    "ModelInfo",
    "ModelSpec",
    "Option",
    "file_sha256",
    "get_spec",
    "list_specs",
    "load_network",
    "nearest_noise_level",
    "register",
    "weights_dir",
]

InputKind = Literal["image", "burst", "raw", "raw-burst"]


@dataclass(frozen=True)
class Option:
    """A per-call option of a model (e.g. ``sigma``): its default and a parser that validates and normalizes it."""

    name: str
    default: Any
    parse: Callable[[Any], Any]
    help: str


@dataclass(frozen=True)
class ModelSpec:
    """Everything the registry knows about one model.

    Learned models give ``build`` (returns the bare ``nn.Module``) and ``weights`` (file stem in the weights folder).
    Classical methods give ``classical``: a NumPy function ``(image (H, W[, C]) float64, **options) -> same shape``.
    ``channels`` lists the color channel counts the model takes natively (1 gray, 3 RGB). ``max_auto_tile`` caps
    ``tile="auto"`` for models whose activations per pixel are large (memory stays bounded on big inputs).
    ``run`` replaces the image-in, image-out call for models with other inputs (raw files, inverse directions,
    bursts): ``(restorer, input, options) -> result``, see ``restore.runs``. ``noise_level`` marks a denoiser trained
    for one sigma (8-bit scale); such a model hands other sigmas to its nearest sibling (``nearest_noise_level``).
    ``self_ensemble`` marks a learned model whose task commutes with flips and quarter turns of the image, so that
    ``load(..., ensemble=True)`` may average its network over them (``restore.ops.ensemble``).
    """

    name: str
    task: str
    summary: str
    channels: tuple[int, ...]
    input_kind: InputKind = "image"
    options: tuple[Option, ...] = ()
    build: Callable[[], nn.Module] | None = None
    weights: str | None = None
    receptive_radius: int = 0
    max_auto_tile: int | None = None
    classical: Callable[..., np.ndarray] | None = None
    run: Callable[[Any, Any, dict[str, Any]], Any] | None = None
    noise_level: float | None = None
    self_ensemble: bool = False

    @property
    def kind(self) -> str:
        return "learned" if self.build is not None else "classical"

    def parse_options(self, given: dict[str, Any]) -> dict[str, Any]:
        """Validate per-call options against this model's; unknown names raise ``InvalidOptionError``."""
        known = {option.name: option for option in self.options}
        unknown = sorted(set(given) - set(known))
        if unknown:
            accepted = ", ".join(sorted(known)) or "none"
            raise InvalidOptionError(f"model {self.name!r} takes no option {', '.join(unknown)} (it takes: {accepted})")
        return {name: option.parse(given.get(name, option.default)) for name, option in known.items()}


@dataclass(frozen=True)
class ModelInfo:
    """What ``restore.models()`` tells about a model; ``card`` is its model card, ``None`` for classical methods;
    ``self_ensemble``: whether ``load(name, ensemble=True)`` is accepted."""

    name: str
    task: str
    kind: str
    input_kind: str
    channels: tuple[int, ...]
    summary: str
    options: dict[str, str] = field(default_factory=dict)
    card: dict | None = None
    self_ensemble: bool = False


_REGISTRY: dict[str, ModelSpec] = {}


def register(spec: ModelSpec) -> ModelSpec:
    """Add a model to the registry; registering a name twice warns and keeps the newer spec."""
    if spec.name in _REGISTRY:
        warnings.warn(f"model {spec.name!r} registered twice; the later registration wins", stacklevel=2)
    _REGISTRY[spec.name] = spec
    return spec


def get_spec(name: str) -> ModelSpec:
    """The spec of a registered model, or ``UnknownModelError`` listing the known names."""
    if not isinstance(name, str) or name not in _REGISTRY:
        raise UnknownModelError(f"unknown model {name!r}; known models: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name]


def list_specs() -> list[ModelSpec]:
    """All registered specs, sorted by name."""
    return [_REGISTRY[name] for name in sorted(_REGISTRY)]


def nearest_noise_level(spec: ModelSpec, sigma: float) -> ModelSpec:
    """The per-level model (``noise_level`` set, same task and channels as ``spec``) trained nearest to ``sigma``;
    a tie goes to the higher level, which errs towards smoothing over leaving noise."""
    siblings = [
        s
        for s in _REGISTRY.values()
        if s.noise_level is not None and (s.task, s.channels) == (spec.task, spec.channels)
    ]
    if spec.noise_level is None or not siblings:
        raise InvalidOptionError(f"model {spec.name!r} is not trained for one noise level")
    return min(siblings, key=lambda s: (abs(s.noise_level - sigma), -s.noise_level))


def weights_dir() -> Path:
    """The folder learned weights and model cards are read from (see the module docstring)."""
    override = os.environ.get("RESTORE_WEIGHTS_DIR")
    if override:
        return Path(override)
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "pyproject.toml").is_file() and (checkout / "weights").is_dir():
        return checkout / "weights"
    return installed_weights_dir()


@functools.cache
def installed_weights_dir() -> Path:
    """Where pip put the weights of the installed ``restore`` distribution: as its list of files says (a virtual
    environment, the system's Python, ``--user``), else in ``share/`` beside the package (``--target``, which moves
    them there), else ``<sys.prefix>/share/restore/weights``."""
    candidates = []
    try:
        distribution = importlib.metadata.distribution("restore")
    except importlib.metadata.PackageNotFoundError:
        distribution = None
    if distribution is not None:
        listed = [f for f in distribution.files or [] if f.parent.parts[-3:] == ("share", "restore", "weights")]
        candidates += [Path(f.locate()).resolve().parent for f in listed[:1]]
        candidates.append(Path(distribution.locate_file("")) / "share" / "restore" / "weights")
    candidates.append(Path(sys.prefix) / "share" / "restore" / "weights")
    return next((folder for folder in candidates if folder.is_dir()), candidates[-1])


def read_card(spec: ModelSpec) -> dict | None:
    """The model card of a learned model, or ``None`` when it is absent or unreadable."""
    if spec.weights is None:
        return None
    path = weights_dir() / f"{spec.weights}.json"
    try:
        card = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return card if isinstance(card, dict) else None


def model_info(spec: ModelSpec) -> ModelInfo:
    """The public description of a spec, with its card."""
    return ModelInfo(
        name=spec.name,
        task=spec.task,
        kind=spec.kind,
        input_kind=spec.input_kind,
        channels=spec.channels,
        summary=spec.summary,
        options={option.name: option.help for option in spec.options},
        card=read_card(spec),
        self_ensemble=spec.self_ensemble,
    )


def run_used_its_minutes(training: dict) -> bool:
    """Whether a card's ``training`` run ended a leg that ran until its ``--minutes`` were up, in one session or
    resumed across several (the card's ``leg``; cards saved before legs were recorded count the last session alone,
    whose ``config`` the card holds). Its learning rate then annealed fully
    (``pipelines.training.ResumableRun.progress``): the run is finished, though with fewer steps than
    ``steps_planned``."""
    leg = training.get("leg")
    if leg is not None:
        minutes, seconds = leg.get("minutes") or 0, leg.get("seconds", 0)
    else:
        minutes = float(training.get("config", {}).get("minutes") or 0)
        sessions = training.get("sessions") or [{}]
        seconds = sessions[-1].get("seconds") or (training.get("train_seconds", 0) if len(sessions) == 1 else 0)
    return bool(minutes) and seconds >= 0.99 * 60 * minutes


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_network(spec: ModelSpec) -> nn.Module:
    """Build a learned model and load its verified weights (strict), in eval mode on the CPU, batch norm folded.

    Raises:
        WeightsError: the weights file or its card is missing, the sha256 does not match the card, the file is not
            valid safetensors, or its tensors do not fit the architecture. The message names the file.
    """
    if spec.build is None or spec.weights is None:
        raise InvalidOptionError(f"model {spec.name!r} is a classical method and has no network")
    folder = weights_dir()
    path, card_path = folder / f"{spec.weights}.safetensors", folder / f"{spec.weights}.json"
    if not path.is_file():
        raise WeightsError(f"weights file {path} for model {spec.name!r} is missing (set RESTORE_WEIGHTS_DIR?)")
    try:
        expected = json.loads(card_path.read_text())["sha256"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise WeightsError(f"model card {card_path} for {spec.name!r} is missing or has no sha256: {error}") from None
    if not isinstance(expected, str):
        raise WeightsError(f"model card {card_path} for {spec.name!r} has no valid sha256 (got {expected!r})")
    actual = file_sha256(path)
    if actual != expected:
        raise WeightsError(
            f"weights file {path} is corrupted: sha256 {actual[:16]}... does not match its card ({expected[:16]}...)"
        )
    try:
        state = load_file(str(path))
    except (SafetensorError, OSError) as error:
        raise WeightsError(f"weights file {path} is not a valid safetensors file: {error}") from None
    network = spec.build()
    try:
        network.load_state_dict(state, strict=True)
    except RuntimeError as error:
        raise WeightsError(f"weights file {path} does not fit model {spec.name!r}: {error}") from None
    return fold_batch_norm(network.eval())
