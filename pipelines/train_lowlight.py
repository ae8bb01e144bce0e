"""Train the low-light raw-to-sRGB network (``lowlight-raw``) on dark raws synthesized from clean photos.

    python -m pipelines.train_lowlight --minutes 60                  # CPU, as far as it goes (resumable)
    python -m pipelines.train_lowlight --steps 40000 --device cuda   # a GPU run
    python -m pipelines.train_lowlight --minutes 0                   # only validate and export the saved state

Every step unprocesses a batch of clean patches with random cameras, underexposes them by a ratio in [100, 300],
adds the unprocessing model's noise and quantizes to 14 bits (``pipelines.lowlight_data``), all on the training
device. The loss is L1 on the developed sRGB against the clean patch, plus a small L1 term on the linear output that
keeps gradients alive where the sRGB clip is flat. State is saved every ``--checkpoint-minutes`` in
``weights/checkpoints/lowlight-raw.train.safetensors``; on exit the run validates on held-out photos and exports
``weights/lowlight-raw.safetensors`` with its card.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from pipelines.arguments import multiple_of
from pipelines.lowlight_data import DarkRaws, random_ratios, synthesize_dark_raws
from pipelines.model_card import export_weights, round_to_storage
from pipelines.photos import BankSpec, cached_patch_bank, split_photos, validation_crops
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
from restore.models.lowlight import SIDUNet
from restore.ops.lowlight import amplified_planes, render_output

NAME = "lowlight-raw"
BANK = BankSpec(channels=3, patch=128, stride=112, long_side=720, scales=(1.0, 0.6))
VALIDATION_RATIOS = (100, 300)
LINEAR_LOSS_WEIGHT = 0.1


@dataclass(frozen=True)
class TrainConfig(RunConfig):
    """One training run (see ``RunConfig``), with this pipeline's defaults and settings."""

    steps: int = 40_000
    batch: int = 8
    patch: int = 128  # clean sRGB patch side; the network sees (patch/2)^2 packed pixels
    lr: float = 3e-4
    features: int = 16  # SID uses 32; half width is 4x cheaper and its weights fit the GPU's 16 MiB return


def sample_clean(bank: torch.Tensor, cfg: TrainConfig, generator: torch.Generator) -> torch.Tensor:
    """A random batch (B, 3, patch, patch) on [0, 1] with a random dihedral flip."""
    index = torch.randint(0, bank.shape[0], (cfg.batch,), generator=generator, device=bank.device)
    size = bank.shape[-1]
    top, left = (v // 2 * 2 for v in random_ints(size - cfg.patch + 1, 2, generator))
    batch = bank[index, :, top : top + cfg.patch, left : left + cfg.patch].float().div_(255.0)
    return random_dihedral(generator)(batch)


def forward(model: SIDUNet, raws: DarkRaws) -> tuple[torch.Tensor, torch.Tensor]:
    """Run the network on a synthetic batch: (linear camera RGB output, developed sRGB), both (B, 3, H, W)."""
    planes = amplified_planes(raws.normalized(), raws.cfa, raws.camera.wb_gains, raws.ratio)
    linear = model(planes.contiguous(memory_format=torch.channels_last))
    size = tuple(raws.raw_values.shape[-2:])
    return linear, render_output(linear, raws.cfa, size, raws.camera.rgb_from_camera)


def loss_function(model: SIDUNet, clean: torch.Tensor, raws: DarkRaws) -> torch.Tensor:
    """L1 on sRGB plus ``LINEAR_LOSS_WEIGHT`` x L1 on white-balanced linear camera RGB."""
    linear, srgb = forward(model, raws)
    target_linear = raws.linear * raws.camera.wb_gains[:, :, None, None]
    return F.l1_loss(srgb, clean) + LINEAR_LOSS_WEIGHT * F.l1_loss(linear, target_linear)


@torch.inference_mode()
def validate(model: SIDUNet, crops: list[np.ndarray], device: torch.device) -> dict:
    """Mean sRGB PSNR on held-out crops per exposure ratio, fixed seeds; {} without crops."""
    if not crops:
        return {}
    model.eval()
    results = {}
    for ratio in VALIDATION_RATIOS:
        scores = []
        for seed, crop in enumerate(crops):
            generator = torch.Generator(device=device).manual_seed(seed)
            clean = torch.from_numpy(crop).permute(2, 0, 1)[None].float().div(255).to(device)
            _, srgb = forward(model, synthesize_dark_raws(clean, ratio, generator))
            scores.append(psnr(to_uint8(srgb[0].permute(1, 2, 0).cpu().numpy()), crop))
        results[f"ratio{ratio}"] = round(float(np.mean(scores)), 3)
    model.train()
    return results


def train(cfg: TrainConfig, command: str) -> Path:
    """Run (or resume) training, then validate and export the weights and model card. Returns the card's path."""
    device = start_run(cfg, NAME)
    model = SIDUNet(features=cfg.features)
    check_model(cfg, NAME, model)
    train_photos, val_photos = split_photos(cfg.data)
    bank = torch.from_numpy(cached_patch_bank(train_photos, BANK, cfg.cache_dir)).to(device)
    if bank.shape[0] == 0:
        raise TrainingSetupError(f"no photo in {cfg.data} holds a {BANK.patch} px patch: give larger photos")
    crops = validation_crops(val_photos, 3, multiple=32)  # as the patches: whole Bayer blocks at every U-Net level
    print(f"{NAME}: {bank.shape[0]} patches from {len(train_photos)} photos, {len(crops)} validation crops")

    model = model.to(device).to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    run = ResumableRun.for_config(cfg, NAME, model, optimizer, command, device)
    generator = run.generator(cfg.seed)
    while run.running():
        clean = sample_clean(bank, cfg, generator)
        raws = synthesize_dark_raws(clean, random_ratios(cfg.batch, generator=generator, device=device), generator)
        run.optimize(cosine_learning_rate(run.progress(), cfg.lr), loss_function, model, clean, raws)
    run.finish()
    round_to_storage(model, cfg.storage_dtype)  # validate what is exported

    validation = validate(model, crops, device)
    print(f"validation PSNR at step {run.step}: {validation}")
    card = {
        "architecture": {
            "class": "SIDUNet",
            "in_channels": 4,
            "out_channels": 3,
            "features": cfg.features,
            "levels": 4,
        },
        "task": "lowlight",
        "training": {
            "data": f"{len(train_photos)} photos from {cfg.data} (downscaled, {bank.shape[0]} patches of {BANK.patch})",
            "synthesis": "pipelines.lowlight_data: unprocessing (random cameras), ratio log-U[100, 300], "
            "unprocessing noise model, 14-bit quantization over black 512",
            **run.record(),
        },
        "validation": {
            "what": f"mean sRGB PSNR (dB) on center 256x256 crops of {len(crops)} held-out photos, "
            "synthetic dark raws with fixed seeds",
            "psnr": validation,
        },
    }
    return export_weights(model, cfg.weights_dir, NAME, card, cfg.storage_dtype)


def parse_args(argv: list[str] | None = None) -> TrainConfig:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    add_run_arguments(parser, TrainConfig())
    parser.add_argument(
        "--patch",
        type=multiple_of(32, 32, BANK.patch, "whole Bayer blocks at every U-Net level"),
        default=TrainConfig.patch,
        help=f"clean patch side, a multiple of 32 up to {BANK.patch}",
    )
    args = parser.parse_args(argv)
    return replace(TrainConfig(), **vars(args))


def main(argv: list[str] | None = None) -> None:
    run_command("train_lowlight", parse_args, train, argv)


if __name__ == "__main__":
    main()
