"""Train a DnCNN denoiser from a folder of clean photos.

One command per model (presets named as in the registry), resumable, useful at any length:

    python -m pipelines.train_dncnn dncnn-color --minutes 60            # CPU, as far as it goes
    python -m pipelines.train_dncnn dncnn-gray-25 --steps 60000 --device cuda
    python -m pipelines.train_dncnn dncnn-color --minutes 0            # only validate and export the saved state
    python -m pipelines.train_dncnn dncnn-gray-50 --init weights/dncnn-gray-25.safetensors   # fine-tune a sibling

The run keeps its resumable state in ``--state`` (default ``weights/checkpoints/<name>.train.safetensors``) every
``--checkpoint-minutes``; on exit it validates on held-out photos and exports ``weights/<name>.safetensors`` and its
model card. Noise is synthesized on the fly on the training device; patches come from a cached uint8 bank (of larger
patches for ``--patch`` above 50). A batch-normed model trained on 40 px patches loses 1.1 dB when its statistics move
to 96 px ones and takes thousands of steps to win it back (weights/TRAINING.md has the run).
"""

from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from pipelines.arguments import bounded_int
from pipelines.model_card import export_weights, round_to_storage
from pipelines.photos import BankSpec, cached_patch_bank, read_photos, split_photos
from pipelines.training import (
    HelpFormatter,
    ResumableRun,
    RunConfig,
    TrainingSetupError,
    add_run_arguments,
    check_model,
    cosine_learning_rate,
    random_dihedral,
    random_ints,
    run_command,
    start_run,
)
from restore.metrics import psnr, to_uint8
from restore.models.dncnn import DnCNN
from restore.ops.noise import add_gaussian_noise


@dataclass(frozen=True)
class DnCNNRecipe:
    """What distinguishes the DnCNN variants: architecture and training noise."""

    channels: int
    depth: int
    sigma_range: tuple[float, float]  # on the 8-bit scale; equal ends mean one fixed level
    validation_sigmas: tuple[float, ...]
    batch_norm: bool = True
    lr: float = 1e-3  # Adam's peak learning rate


RECIPES = {
    "dncnn-gray-15": DnCNNRecipe(1, 17, (15, 15), (15,)),
    "dncnn-gray-25": DnCNNRecipe(1, 17, (25, 25), (25,)),
    "dncnn-gray-50": DnCNNRecipe(1, 17, (50, 50), (50,)),
    "dncnn-gray": DnCNNRecipe(1, 20, (0, 55), (15, 25, 50)),
    # With batch norm the color network sat at the identity for 700+ steps on the CPU; without it, it learns at once.
    "dncnn-color": DnCNNRecipe(3, 20, (0, 55), (15, 25, 50), batch_norm=False, lr=3e-4),
}

VALIDATION_SIDE = 720
"""Held-out photos are validated whole at this long side: center crops of 256 px (until 2026-12-06) held too little of
seven photos to tell legs a few hundredths of a dB apart (weights/TRAINING.md)."""


@dataclass(frozen=True, kw_only=True)
class TrainConfig(RunConfig):
    """One training run (see ``RunConfig``), with this pipeline's defaults and settings; ``name`` picks the recipe."""

    name: str
    steps: int = 100_000
    batch: int = 64
    patch: int = 40
    lr: float | None = None  # None: the recipe's
    final_lr_fraction: float = 0.01
    frozen_batch_norm: bool = False


def learning_rate(cfg: TrainConfig, progress: float) -> float:
    """Cosine decay from the peak rate (``cfg.lr`` or the recipe's) to ``final_lr_fraction`` of it as the run's
    progress (``ResumableRun.progress``) goes from 0 to 1."""
    peak = cfg.lr if cfg.lr is not None else RECIPES[cfg.name].lr
    return cosine_learning_rate(progress, peak, cfg.final_lr_fraction)


def bank_spec(channels: int, patch: int) -> BankSpec:
    """How the patch bank is cut for training patches of ``patch`` pixels: the default bank (50 px on a 40 px stride)
    up to 50, larger bank patches (10 px of crop freedom, a stride of ``patch``) above it."""
    default = BankSpec(channels)
    if patch <= default.patch:
        return default
    return replace(default, patch=patch + 10, stride=patch)


def sample_batch(bank: torch.Tensor, cfg: TrainConfig, generator: torch.Generator) -> torch.Tensor:
    """A random batch (B, C, patch, patch) float on [0, 1]: random patches, a random crop and a dihedral flip."""
    index = torch.randint(0, bank.shape[0], (cfg.batch,), generator=generator, device=bank.device)
    size = bank.shape[-1]
    top, left = random_ints(size - cfg.patch + 1, 2, generator)
    batch = bank[index, :, top : top + cfg.patch, left : left + cfg.patch].float().div_(255.0)
    return random_dihedral(generator)(batch)


def sample_sigmas(recipe: DnCNNRecipe, batch: int, generator: torch.Generator, device: torch.device) -> torch.Tensor:
    """Per-sample noise levels (B, 1, 1, 1) on the [0, 1] scale, uniform over the recipe's range."""
    low, high = recipe.sigma_range
    u = torch.rand((batch, 1, 1, 1), generator=generator, device=device)
    return (low + (high - low) * u) / 255.0


def freeze_batch_norm(model: nn.Module) -> None:
    """Batch-norm layers normalize with their running statistics, as at inference, and keep them; their scale and shift
    still learn. For fine-tuning on patches other than those the statistics were gathered on."""
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.eval()


def residual_loss(model: DnCNN, noisy: torch.Tensor, clean: torch.Tensor) -> torch.Tensor:
    """Mean squared error of the denoised batch (B, C, H, W) against the clean one: the paper's residual loss, as
    the model subtracts its predicted noise from ``noisy``."""
    return F.mse_loss(model(noisy).float(), clean)


@torch.inference_mode()
def validate(model: DnCNN, images: list[np.ndarray], sigmas: tuple[float, ...], device: torch.device) -> dict:
    """Mean PSNR (protocol of ../shared/DESIGN.md) on held-out images per sigma, with fixed seeds; {} without images."""
    if not images:
        return {}
    model.eval()
    results = {}
    for sigma in sigmas:
        scores = []
        for seed, image in enumerate(images):
            rng = np.random.default_rng(seed)
            clean = image.astype(np.float32) / 255.0
            noisy = clean + rng.normal(0.0, sigma / 255.0, clean.shape).astype(np.float32)
            x = torch.from_numpy(noisy).permute(2, 0, 1)[None].to(device)
            out = model(x)[0].permute(1, 2, 0).float().cpu().numpy()
            scores.append(psnr(to_uint8(out), image))
        results[f"sigma{sigma:g}"] = round(float(np.mean(scores)), 3)
    model.train()
    return results


def train(cfg: TrainConfig, command: str) -> Path:
    """Run (or resume) training, then validate and export the weights and model card. Returns the card's path."""
    recipe = RECIPES[cfg.name]
    device = start_run(cfg, cfg.name)
    model = DnCNN(recipe.channels, recipe.depth, batch_norm=recipe.batch_norm)
    check_model(cfg, cfg.name, model)
    if cfg.frozen_batch_norm and not recipe.batch_norm:
        raise TrainingSetupError(f"{cfg.name} has no batch norm to freeze: leave out --frozen-batch-norm")

    train_photos, val_photos = split_photos(cfg.data)
    spec = bank_spec(recipe.channels, cfg.patch)
    bank = torch.from_numpy(cached_patch_bank(train_photos, spec, cfg.cache_dir)).to(device)
    if bank.shape[0] == 0:
        smaller = " or a smaller --patch" if spec.patch > BankSpec(recipe.channels).patch else ""
        raise TrainingSetupError(f"no photo in {cfg.data} holds a {spec.patch} px patch: give larger photos{smaller}")
    val_images = [image for _, image in read_photos(val_photos, recipe.channels, VALIDATION_SIDE)]
    print(f"{cfg.name}: {bank.shape[0]} patches from {len(train_photos)} photos, {len(val_images)} validation photos")

    model = model.to(device).to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate(cfg, 0))
    run = ResumableRun.for_config(cfg, cfg.name, model, optimizer, command, device)
    if cfg.frozen_batch_norm:
        freeze_batch_norm(model)
    generator = run.generator(cfg.seed)
    while run.running():
        clean = sample_batch(bank, cfg, generator).contiguous(memory_format=torch.channels_last)
        noisy = add_gaussian_noise(clean, sample_sigmas(recipe, cfg.batch, generator, device), generator=generator)
        run.optimize(learning_rate(cfg, run.progress()), residual_loss, model, noisy, clean, report_every=500)
    run.finish()
    round_to_storage(model, cfg.storage_dtype)  # validate what is exported

    validation = validate(model, val_images, recipe.validation_sigmas, device)
    print(f"validation PSNR at step {run.step}: {validation}")
    card = {
        "architecture": {
            "class": "DnCNN",
            "channels": recipe.channels,
            "depth": recipe.depth,
            "features": 64,
            "batch_norm": recipe.batch_norm,
        },
        "task": "denoise",
        "training": {
            "recipe": asdict(recipe),
            "data": f"{len(train_photos)} photos from {cfg.data} (downscaled, {bank.shape[0]} patches)",
            **run.record(),
        },
        "validation": {
            "what": f"mean PSNR (dB) on {len(val_images)} whole held-out photos, downscaled to a long side of at most "
            f"{VALIDATION_SIDE} px, fixed seeds",
            "psnr": validation,
        },
    }
    return export_weights(model, cfg.weights_dir, cfg.name, card, cfg.storage_dtype)


def parse_args(argv: list[str] | None = None) -> TrainConfig:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    parser.add_argument("name", choices=sorted(RECIPES), help="model to train")
    add_run_arguments(parser, TrainConfig(name=min(RECIPES)))  # --lr defaults to None: the recipe's
    parser.add_argument(
        "--patch", type=bounded_int(8), default=TrainConfig.patch, help="training patch side in pixels, 8 or more"
    )
    parser.add_argument(
        "--frozen-batch-norm",
        action="store_true",
        help="normalize with the running statistics, as at inference, and keep them (fine-tuning on other patches)",
    )
    args = parser.parse_args(argv)
    return replace(TrainConfig(name=args.name), **{k: v for k, v in vars(args).items() if k != "name"})


def main(argv: list[str] | None = None) -> None:
    run_command("train_dncnn", parse_args, train, argv)


if __name__ == "__main__":
    main()
