"""Resumable training state in one safetensors file: model, optimizer, step and run metadata (no pickles)."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save
from torch import nn

from restore.io.atomic import write_atomic


def save_training_state(path: Path, model: nn.Module, optimizer: torch.optim.Optimizer, step: int, info: dict) -> None:
    """Write model and optimizer tensors plus ``step`` and ``info`` (JSON-able) atomically to ``path``."""
    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
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


def _metadata(path: Path) -> dict[str, str]:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        return f.metadata()


def read_state_info(path: Path) -> dict:
    """The run metadata (``info``) of a training state file, without loading its tensors."""
    return json.loads(_metadata(path)["info"])


def load_training_state(path: Path, model: nn.Module, optimizer: torch.optim.Optimizer) -> tuple[int, dict]:
    """Restore ``model`` and ``optimizer`` from ``path`` in place; returns ``(step, info)``.

    Raises:
        ValueError: the state holds another architecture (its tensors do not fit ``model``).
    """
    metadata = _metadata(path)
    tensors = load_file(str(path))
    device = next(model.parameters()).device
    try:
        model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    except RuntimeError as error:
        first = str(error).splitlines()[1].strip() if len(str(error).splitlines()) > 1 else str(error)
        raise ValueError(f"the training state {path} holds another architecture ({first})") from None
    state: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        if key.startswith("optim."):
            _, index, name = key.split(".", 2)
            state.setdefault(int(index), {})[name] = value if name == "step" else value.to(device)
    optimizer.load_state_dict({"state": state, "param_groups": json.loads(metadata["param_groups"])})
    return int(metadata["step"]), json.loads(metadata["info"])
