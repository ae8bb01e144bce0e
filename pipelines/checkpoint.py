"""Resumable training state in one safetensors file: model, optimizer, random stream, step and run metadata (no
pickles)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save
from torch import nn

from restore.io.atomic import write_atomic

_GENERATOR_KEY = "generator.state"


def save_training_state(
    path: Path,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    step: int,
    info: dict,
    generator_state: torch.Tensor | None = None,
) -> None:
    """Write model and optimizer tensors, the batches' random stream (``torch.Generator.get_state()``, where given),
    ``step`` and ``info`` (JSON-able) atomically to ``path``."""
    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    if generator_state is not None:
        tensors[_GENERATOR_KEY] = generator_state.detach().cpu().contiguous()
    optim_state = optimizer.state_dict()
    for index, state in optim_state["state"].items():
        for name, value in state.items():
            tensors[f"optim.{index}.{name}"] = torch.as_tensor(value).detach().cpu().contiguous()
    metadata = {
        "step": str(step),
        "info": json.dumps(info),
        "param_groups": json.dumps(optim_state["param_groups"]),
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, save(tensors, metadata=metadata))


class StateHeader(NamedTuple):
    """What a training state file says without loading its tensors."""

    step: int
    info: dict
    param_groups: list[dict]
    model_shapes: dict[str, tuple[int, ...]]  # tensor names without their ``model.`` prefix


def read_state_header(path: Path) -> StateHeader:
    """The step, run metadata, optimizer settings and model tensor shapes of a training state, from its header.

    Raises:
        ValueError: the file is not a training state (a weights file, a truncated or foreign file).
    """
    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
            names = [k for k in f.keys() if k.startswith("model.")]  # noqa: SIM118 - safe_open is not iterable
            shapes = {k[6:]: tuple(f.get_slice(k).get_shape()) for k in names}
        return StateHeader(
            int(metadata["step"]), json.loads(metadata["info"]), json.loads(metadata["param_groups"]), shapes
        )
    except (SafetensorError, OSError, KeyError, ValueError) as error:
        raise ValueError(f"{path} is not a training state ({type(error).__name__}: {error})") from None


def read_state_info(path: Path) -> dict:
    """The run metadata (``info``) of a training state file, without loading its tensors.

    Raises:
        ValueError: the file is not a training state.
    """
    return read_state_header(path).info


def check_state_fits(path: Path, model: nn.Module) -> StateHeader:
    """Check from its header that the training state ``path`` holds ``model``'s architecture; returns the header.

    Raises:
        ValueError: it is not a training state, or its model tensors are not ``model``'s (names and shapes).
    """
    header = read_state_header(path)
    shapes = header.model_shapes
    expected = {key: tuple(tensor.shape) for key, tensor in model.state_dict().items()}
    if shapes != expected:
        differing = sorted(set(shapes) ^ set(expected)) or sorted(k for k in shapes if shapes[k] != expected[k])
        raise ValueError(f"the training state {path} holds another architecture (first difference: {differing[0]})")
    return header


def load_training_state(
    path: Path, model: nn.Module, optimizer: torch.optim.Optimizer
) -> tuple[int, dict, torch.Tensor | None]:
    """Restore ``model`` and ``optimizer`` from ``path`` in place; returns ``(step, info, generator_state)``, the
    last None for states saved without a random stream.

    Raises:
        ValueError: as for ``check_state_fits``.
    """
    header = check_state_fits(path, model)
    tensors = load_file(str(path))
    device = next(model.parameters()).device
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    state: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        if key.startswith("optim."):
            _, index, name = key.split(".", 2)
            state.setdefault(int(index), {})[name] = value if name == "step" else value.to(device)
    optimizer.load_state_dict({"state": state, "param_groups": header.param_groups})
    return header.step, header.info, tensors.get(_GENERATOR_KEY)
