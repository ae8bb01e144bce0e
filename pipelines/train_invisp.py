"""Train the invertible ISP (``invisp``) on RAW / sRGB / JPEG pairs of one camera (``pipelines.invisp_data``).

    python -m pipelines.train_invisp --minutes 60                  # CPU, as far as it goes (resumable)
    python -m pipelines.train_invisp --steps 40000 --device cuda   # a GPU run (carry cache/invisp_pairs_*.npz)
    python -m pipelines.train_invisp --minutes 0                   # only validate and export the saved state

Loss: L1(f(raw), srgb) + lambda * [L1(f^-1(JPEG_sim(f(raw))), raw) + L1(f^-1(real JPEG of srgb), raw)] / 2, where
JPEG_sim is the differentiable JPEG-90 simulator of ``restore.ops.jpeg``: the inverse learns to undo compression.
The pair bank is rendered once with rawpy and cached in ``cache/``; training itself needs only torch.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from pipelines.arguments import multiple_of
from pipelines.invisp_data import (
    CAMERA_NAME,
    JPEG_QUALITY,
    cached_pair_bank,
    camera_550d,
    random_wb_gains,
    render_pair,
)
from pipelines.model_card import export_weights, round_to_storage
from pipelines.photos import split_photos, validation_crops
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
from restore.io.dng import MIN_MOSAIC_SIDE
from restore.metrics import psnr
from restore.models.invisp import InvertibleISP
from restore.ops.jpeg import simulate_jpeg

NAME = "invisp"


@dataclass(frozen=True)
class TrainConfig(RunConfig):
    """One training run (see ``RunConfig``), with this pipeline's defaults and settings."""

    steps: int = 20_000
    batch: int = 8
    patch: int = 64
    lr: float = 2e-4
    raw_weight: float = 1.0  # lambda
    blocks: int = 8
    hidden: int = 32
    precision: str = "float32"  # the inverse pass must undo the forward one closely: bfloat16 steps only on request


def sample_batch(bank: dict[str, torch.Tensor], cfg: TrainConfig, generator: torch.Generator):
    """Aligned random crops (B, 3, patch, patch) on [0, 1] of raw, sRGB and JPEG, with a random dihedral flip."""
    index = torch.randint(0, bank["raw"].shape[0], (cfg.batch,), generator=generator, device=bank["raw"].device)
    size = bank["raw"].shape[-1]
    top, left = (2 * v for v in random_ints((size - cfg.patch) // 2 + 1, 2, generator))
    dihedral = random_dihedral(generator)
    return [
        dihedral(bank[kind][index, :, top : top + cfg.patch, left : left + cfg.patch].float() / scale)
        for kind, scale in (("raw", 65535.0), ("srgb", 255.0), ("jpeg", 255.0))
    ]


def loss_function(model: InvertibleISP, raw, srgb, jpeg, raw_weight: float) -> torch.Tensor:
    rendered = model(raw)
    recovered_sim = model.inverse(simulate_jpeg(rendered, JPEG_QUALITY))
    recovered_real = model.inverse(jpeg)
    raw_loss = (F.l1_loss(recovered_sim, raw) + F.l1_loss(recovered_real, raw)) / 2
    return F.l1_loss(rendered, srgb) + raw_weight * raw_loss


def validation_pairs(photos: list[Path], seed: int = 1000, size: int = 256) -> list:
    """Held-out photos through the camera (fixed white balances), center-cropped to size x size (those too small
    for LibRaw left out)."""
    rng = np.random.default_rng(seed)
    crops = validation_crops(photos, 3, size, long_side=384, min_side=MIN_MOSAIC_SIDE)
    return [render_pair(crop, random_wb_gains(rng)) for crop in crops]


@torch.inference_mode()
def validate(model: InvertibleISP, pairs: list, device: torch.device) -> dict:
    """Forward sRGB PSNR vs LibRaw (8-bit), inverse RAW PSNR from the JPEG, and round-trip mean absolute error; empty
    without pairs."""
    if not pairs:
        return {}
    model.eval()
    forward, inverse, round_trip = [], [], []
    for pair in pairs:
        raw = torch.from_numpy(pair.raw.astype(np.float32) / 65535).permute(2, 0, 1)[None].to(device)
        jpeg = torch.from_numpy(pair.jpeg.astype(np.float32) / 255).permute(2, 0, 1)[None].to(device)
        rendered = model(raw)
        srgb8 = np.round(pair.srgb / 257.0).astype(np.uint8)
        forward.append(
            psnr(np.round(rendered[0].clamp(0, 1).permute(1, 2, 0).cpu().numpy() * 255).astype(np.uint8), srgb8)
        )
        recovered = model.inverse(jpeg).clamp(0, 1)
        inverse.append(10 * math.log10(1 / F.mse_loss(recovered, raw).item()))
        round_trip.append((model.inverse(rendered) - raw).abs().mean().item())
    model.train()
    return {
        "forward_srgb_psnr": round(float(np.mean(forward)), 3),
        "inverse_raw_psnr_from_jpeg90": round(float(np.mean(inverse)), 3),
        "round_trip_mae": float(np.mean(round_trip)),
    }


def train(cfg: TrainConfig, command: str) -> Path:
    """Run (or resume) training, then validate and export the weights and model card. Returns the card's path."""
    device = start_run(cfg, NAME)
    model = InvertibleISP(cfg.blocks, cfg.hidden)
    check_model(cfg, NAME, model)
    train_photos, val_photos = split_photos(cfg.data)
    bank = {
        kind: torch.from_numpy(array).to(device)
        for kind, array in cached_pair_bank(train_photos, cfg.cache_dir).items()
    }
    if bank["raw"].shape[0] == 0:
        raise TrainingSetupError(f"no photo in {cfg.data} holds a {bank['raw'].shape[-1]} px patch: give larger photos")
    pairs = validation_pairs(val_photos)
    print(f"{NAME}: {bank['raw'].shape[0]} patch pairs from {len(train_photos)} photos, {len(pairs)} validation photos")

    with torch.no_grad():  # start from the camera's own colors; training refines them
        model.color.weight.copy_(camera_550d((1.0, 1.0, 1.0)).rgb_from_camera[0])
    model = model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    run = ResumableRun.for_config(cfg, NAME, model, optimizer, command, device)
    generator = run.generator(cfg.seed)
    while run.running():
        raw, srgb, jpeg = sample_batch(bank, cfg, generator)
        learning_rate = cosine_learning_rate(run.progress(), cfg.lr)
        run.optimize(learning_rate, loss_function, model, raw, srgb, jpeg, cfg.raw_weight, clip_grad_norm=1.0)
    run.finish()
    round_to_storage(model, cfg.storage_dtype)  # validate what is exported

    validation = validate(model, pairs, device)
    print(f"validation at step {run.step}: {validation}")
    card = {
        "architecture": {"class": "InvertibleISP", "blocks": cfg.blocks, "hidden": cfg.hidden},
        "task": "isp",
        "camera": f"{CAMERA_NAME} color matrix (from shared/data/raw/tinydng_colorchart.dng), LibRaw's ISP via rawpy",
        "training": {
            "data": f"{len(train_photos)} photos from {cfg.data}, {bank['raw'].shape[0]} patch pairs "
            "(pipelines.invisp_data: unprocessed into the camera's raw, rendered by rawpy, JPEG quality 90)",
            **run.record(),
        },
        "validation": {
            "what": f"{len(pairs)} held-out photos (256x256 center crops) through the same synthesis, fixed seeds",
            **validation,
        },
    }
    return export_weights(model, cfg.weights_dir, NAME, card, cfg.storage_dtype)


def parse_args(argv: list[str] | None = None) -> TrainConfig:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    add_run_arguments(parser, TrainConfig())
    parser.add_argument(
        "--patch",
        type=multiple_of(16, 16, 128, "the JPEG simulator works on 16x16 MCUs"),
        default=TrainConfig.patch,
        help="crop side, a multiple of 16 up to 128",
    )
    args = parser.parse_args(argv)
    return replace(TrainConfig(), **vars(args))


def main(argv: list[str] | None = None) -> None:
    run_command("train_invisp", parse_args, train, argv)


if __name__ == "__main__":
    main()
