"""Exporting trained weights: a safetensors file plus its JSON model card, in the format ``restore.registry`` reads."""

from __future__ import annotations

import datetime
import json
import os
import subprocess
from pathlib import Path

import torch
from safetensors.torch import save
from torch import nn

from restore.io.atomic import write_atomic
from restore.registry import file_sha256
from restore.runtime import cpu_description

REPO = Path(__file__).resolve().parent.parent  # the checkout
RESULTS = "benchmarks/results"  # what benchmarks write, relative to REPO
STATES = "weights/checkpoints"  # the training states that runs write there, relative to REPO


def git_commit() -> str:
    """The current commit (with ``-dirty`` if tracked files have changes, other than the records benchmarks write in
    ``benchmarks/results/``, so that benchmarks run one after another keep a clean commit, and the training states
    in ``weights/checkpoints/``, which a resumed leg whose state is tracked overwrites), or ``unknown`` outside
    git. ``RESTORE_COMMIT`` overrides it where the tree is a copy whose git metadata lags behind it (the GPU machine
    of the ``device`` tool gets the working tree but the ``.git`` of the session's start): set it to the commit the
    copy was made from. It is this checkout's commit, from whatever folder the command runs."""
    if os.environ.get("RESTORE_COMMIT"):
        return os.environ["RESTORE_COMMIT"]
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True, cwd=REPO
        )
        unrecorded = [f":(exclude){path}" for path in (RESULTS, STATES)]
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", ".", *unrecorded],
            capture_output=True,
            text=True,
            check=True,
            cwd=REPO,
        )
        return commit.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def hardware_description(device: torch.device) -> str:
    """A short description of the machine a run used."""
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} (CUDA), torch {torch.__version__}"
    return f"{cpu_description()} CPU, {torch.get_num_threads()} threads, torch {torch.__version__}"


def round_to_storage(model: nn.Module, dtype: torch.dtype) -> None:
    """Round ``model``'s floating-point parameters and buffers in place to ``dtype`` and back, as ``export_weights``
    stores them (nothing changes for float32), so that what is validated next is what is exported."""
    with torch.no_grad():
        for tensor in model.state_dict().values():
            if tensor.is_floating_point():
                tensor.copy_(tensor.to(dtype))


def export_weights(
    model: nn.Module, weights_dir: Path, name: str, card: dict, dtype: torch.dtype = torch.float32
) -> Path:
    """Save ``model``'s state dict as ``<name>.safetensors`` and write ``<name>.json`` with its sha256.

    Floating-point tensors are stored in ``dtype``: float32, or float16 to halve a large model's file (loading casts
    them back to the network's float32). Returns the path of the card.
    """
    weights_dir = Path(weights_dir)
    weights_dir.mkdir(parents=True, exist_ok=True)
    weights_path = weights_dir / f"{name}.safetensors"
    state = {
        k: (v.to(dtype) if v.is_floating_point() else v).detach().cpu().contiguous()
        for k, v in model.state_dict().items()
    }
    write_atomic(weights_path, save(state))
    card = {
        "name": name,
        "weights": weights_path.name,
        "sha256": file_sha256(weights_path),
        "exported": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        **card,
    }
    card_path = weights_dir / f"{name}.json"
    write_atomic(card_path, json.dumps(card, indent=2) + "\n")
    return card_path
