"""Train the burst denoisers on synthetic handheld bursts (``pipelines.burst_data``): ``kpn-burst`` on gray bursts,
``kpn-burst-raw`` (``--bayer``) on raw Bayer bursts packed into RGGB planes.

    python -m pipelines.train_kpn --minutes 60                  # CPU, as far as it goes (resumable)
    python -m pipelines.train_kpn --steps 50000 --device cuda   # a GPU run
    python -m pipelines.train_kpn --minutes 0                   # only validate and export the saved state
    python -m pipelines.train_kpn --bayer --prealign --init weights/kpn-burst.safetensors --minutes 60 # the raw model

The raw model can start from the gray model's weights (``--init``): its first layer is widened to read each frame's
four planes and four noise maps, so that it begins as the gray network on the planes' mean (``widen_to_planes``).

Train ``kpn-burst`` with ``--prealign``: its inference moves every frame onto the reference by whole pixels first, and
a network trained on such bursts learns to trust the other frames. From the same weights, 110 minutes on one thread
(2026-12-03) with ``--prealign`` added 1.0-1.9 dB in every row of the burst benchmark, the same run without it
0.00-0.04 dB; 95 more pre-aligned minutes on two threads, from those weights with a new optimizer, added 0.01-0.15 dB,
and the legs resumed from that run's training state since (``--state``, optimizer included; 110, 130, 123 and 85
minutes) 0.16-0.41, 0.18-0.36, 0.05-0.19 and 0.04-0.10 dB (112 more minutes from those weights with a new optimizer,
2026-12-05: -0.01 to +0.03 dB, not shipped; on 2026-12-07 one from those weights and two resumed from its state, 72,
78 and 75 minutes, -0.02 to +0.23 dB in all): continue a run from its state where it is kept. Train ``kpn-burst-raw``
with ``--prealign`` too (its packed planes move by whole 2x2 blocks, as its inference moves them):
100 minutes of it on two threads (2026-12-04), from weights trained 19572 steps without, added 0.42-1.20 dB in every
row of the raw burst benchmark.

Loss (the paper's): in gamma space (the sRGB curve), L2 on the image plus L1 on its gradients, for the merged output
and, annealed, for every frame's filtered output alone: ``loss(merged) + beta * alpha^step * sum_n loss(frame_n)``
with beta = 100 and alpha = 0.9998 as in the paper (``--anneal`` sets alpha: a short CPU run wants the terms gone
sooner, e.g. 0.998). The per-frame terms make every kernel useful early on (otherwise the network settles on the
reference frame alone); they fade out over a few thousand steps. The step counts the weights' whole chain, so a run
from ``--init`` goes on where its weights left them (until 2026-12-07 every such run restarted them at full weight,
which in its first 80 steps took the shipped ``kpn-burst`` 1.1-2.0 dB down on validation).

Validation (``validate``) reads every gain twice: on bursts whose outlier frames stay displaced, as in training, and
on the same bursts without outlier frames, as the benchmarks' bursts are once inference has aligned them. Legs since
2026-12-05 (outlier frames displaced in training) can raise the first and lower the second; a leg ships only if both
rise (weights/TRAINING.md).
"""

from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass, replace
from functools import partial
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from pipelines.arguments import bounded_float, bounded_int, multiple_of
from pipelines.burst_data import GAINS, Burst, BurstSpec, gain_noise, prealigned, synthesize_bursts
from pipelines.model_card import export_weights, round_to_storage
from pipelines.photos import BankSpec, cached_patch_bank, split_photos, validation_tiles
from pipelines.training import (
    HelpFormatter,
    ResumableRun,
    RunConfig,
    TrainingSetupError,
    add_run_arguments,
    check_model,
    cosine_learning_rate,
    random_dihedral,
    run_command,
    start_run,
)
from restore.metrics import psnr, to_uint8
from restore.models.kpn import KPN, widen_to_planes
from restore.ops.color import srgb_from_linear

NAMES = {False: "kpn-burst", True: "kpn-burst-raw"}  # by TrainConfig.bayer
ANNEAL_BETA = 100.0
VALIDATION_BURSTS = 4  # per held-out crop and gain
FRAME_SCALE_SIDE = 256  # a frame pixel is a pixel of the photo scaled to this long side (1024 px, downsampled 4x)


@dataclass(frozen=True)
class TrainConfig(RunConfig):
    """One training run (see ``RunConfig``), with this pipeline's defaults and settings."""

    steps: int = 50_000
    batch: int = 8
    size: int = 64
    lr: float = 1e-4
    widths: tuple[int, ...] = (32, 64, 128, 256)  # half the paper's widths, as `kpn-burst` is registered
    anneal: float = 0.9998  # per-step decay of the per-frame loss terms
    max_shift: float = 2.0  # frame translations in output pixels (per axis); see --max-shift
    bayer: bool = False  # raw Bayer bursts (packed RGGB planes) for kpn-burst-raw, instead of gray ones
    prealign: bool = False  # train on bursts pre-aligned by whole pixels, as kpn-burst's inference sees them
    downsample: int | None = None  # photo pixels per frame pixel before Bayer packing; None: 4 gray, 2 raw

    @property
    def burst_spec(self) -> BurstSpec:
        """Gray frames come from 4x downsampled photos; raw frames from 2x, then packed (another 2x)."""
        downsample = self.downsample or (2 if self.bayer else 4)
        return BurstSpec(size=self.size, max_shift=self.max_shift, bayer=self.bayer, downsample=downsample)

    @property
    def photo_side(self) -> int:
        """Long side the photos are scaled to before crops are cut: FRAME_SCALE_SIDE photo pixels per frame pixel
        step, so that a frame pixel always covers the same part of a photo, whatever ``downsample``."""
        spec = self.burst_spec
        return FRAME_SCALE_SIDE * spec.downsample * spec.mosaic_scale


def training_bursts(
    crops: torch.Tensor,
    spec: BurstSpec,
    generator: torch.Generator,
    prealign: bool,
    read: torch.Tensor | None = None,
    shot: torch.Tensor | None = None,
) -> Burst:
    """Synthetic bursts from clean crops, pre-aligned by whole pixels (``prealigned``) if ``prealign``; ``read`` and
    ``shot`` (B,) fix the noise levels (drawn per burst by default)."""
    burst = synthesize_bursts(crops, spec, generator, read, shot)
    return prealigned(burst) if prealign else burst


def gamma(x: torch.Tensor) -> torch.Tensor:
    """The sRGB curve on linear intensities (B, ..., H, W), clipped to [0, 1] first."""
    return srgb_from_linear(x.clamp(0.0, 1.0))


def image_loss(estimate: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """L2 on gamma-corrected images plus L1 on their horizontal and vertical gradients."""
    a, b = gamma(estimate), gamma(target)
    gradients = (a.diff(dim=-1) - b.diff(dim=-1)).abs().mean() + (a.diff(dim=-2) - b.diff(dim=-2)).abs().mean()
    return F.mse_loss(a, b) + gradients


def loss_function(model: KPN, burst, step: int, anneal: float = TrainConfig.anneal) -> torch.Tensor:
    merged, per_frame = model(burst.noisy, burst.noise_level)
    annealing = ANNEAL_BETA * anneal**step
    frame_terms = sum(image_loss(per_frame[:, n], burst.clean) for n in range(per_frame.shape[1]))
    return image_loss(merged, burst.clean) + annealing * frame_terms


def sample_crops(bank: torch.Tensor, spec: BurstSpec, batch: int, generator: torch.Generator) -> torch.Tensor:
    """Random (B, C, crop, crop) crops on [0, 1] of a uint8 bank (N, C, crop, crop), with a random dihedral flip."""
    index = torch.randint(0, bank.shape[0], (batch,), generator=generator, device=bank.device)
    crops = bank[index].float().div_(255.0)
    return random_dihedral(generator)(crops)


def validation_border(spec: BurstSpec) -> int:
    """Pixels cropped from each side of a validation frame before PSNR: 8, a quarter of frames under 32 px."""
    return min(8, spec.size // 4)


@torch.inference_mode()
def validate(model: KPN, crops: list[np.ndarray], spec: BurstSpec, device: torch.device, prealign: bool) -> dict:
    """Mean PSNR after gamma (``validation_border`` cropped; raw bursts: over the packed planes) on bursts from
    held-out crops (H, W, C) uint8, made as in training (``training_bursts``) but at white level 1 and at each of the
    benchmarks' gains (``GAINS``), ``VALIDATION_BURSTS`` per crop and gain: ``kpn`` and ``average`` (the plain
    average of the frames) over every burst, ``gain<g>`` the KPN's at each gain, and ``matched_gain<g>`` the KPN's on
    the same bursts without outlier frames (every frame matches the reference once aligned, as in the benchmarks,
    whose outlier frames are global translations that inference's alignment undoes); {} without crops."""
    if not crops:  # no held-out photo holds a whole crop (tiny test photos): no number rather than NaN
        return {}
    model.eval()
    spec = replace(spec, white_level=(1.0, 1.0))
    border = validation_border(spec)

    def shown(x: torch.Tensor) -> list[np.ndarray]:  # (B, C, H, W) linear -> B (H, W, C) uint8, gamma, border cropped
        return list(to_uint8(gamma(x)[..., border:-border, border:-border].permute(0, 2, 3, 1).cpu().numpy()))

    def scores(spec: BurstSpec) -> tuple[dict[int, list[float]], list[float]]:  # KPN's by gain, the average's
        ours: dict[int, list[float]] = {gain: [] for gain in GAINS}
        average = []
        for index, crop in enumerate(crops):
            clean = torch.from_numpy(crop[: spec.crop, : spec.crop]).float().div(255).permute(2, 0, 1).to(device)
            clean = clean.expand(VALIDATION_BURSTS, -1, -1, -1)
            for gain in GAINS:
                generator = torch.Generator(device=device).manual_seed(len(GAINS) * index + GAINS.index(gain))
                read, shot = (torch.full((VALIDATION_BURSTS,), level, device=device) for level in gain_noise(gain))
                burst = training_bursts(clean, spec, generator, prealign, read, shot)
                merged, _ = model(burst.noisy, burst.noise_level)
                targets = shown(burst.clean)
                ours[gain] += [psnr(a, b) for a, b in zip(shown(merged), targets, strict=True)]
                average += [psnr(a, b) for a, b in zip(shown(burst.noisy.mean(dim=1)), targets, strict=True)]
        return ours, average

    ours, average = scores(spec)
    matched, _ = scores(replace(spec, outlier_probability=0.0))
    model.train()
    result = {"kpn": np.mean([value for values in ours.values() for value in values]), "average": np.mean(average)}
    result.update({f"gain{gain}": np.mean(values) for gain, values in ours.items()})
    result.update({f"matched_gain{gain}": np.mean(values) for gain, values in matched.items()})
    return {name: round(float(value), 3) for name, value in result.items()}


def train(cfg: TrainConfig, command: str) -> Path:
    """Run (or resume) training, then validate and export the weights and model card. Returns the card's path."""
    spec, name, planes = cfg.burst_spec, NAMES[cfg.bayer], 4 if cfg.bayer else 1
    device = start_run(cfg, name)
    model = KPN(widths=cfg.widths, planes=planes)
    check_model(cfg, name, model)
    train_photos, val_photos = split_photos(cfg.data)
    bank_spec = BankSpec(
        channels=spec.channels, patch=spec.crop, stride=spec.crop // 2, long_side=cfg.photo_side, scales=(1.0,)
    )
    bank = torch.from_numpy(cached_patch_bank(train_photos, bank_spec, cfg.cache_dir)).to(device)
    if bank.shape[0] == 0:
        raise TrainingSetupError(f"no training photo in {cfg.data} holds a {spec.crop} px crop (--size {spec.size})")
    # every whole crop of the held-out photos at the training photos' scale (a center crop each until 2026-12-07:
    # seven crops, whose mean rose by 0.11-0.20 dB at every gain with weights that fell at gains 1-2 on the benchmark)
    crops = validation_tiles(val_photos, spec.channels, size=spec.crop, long_side=bank_spec.long_side)
    print(f"{name}: {bank.shape[0]} crops from {len(train_photos)} photos, {len(crops)} validation crops")

    model = model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    adapt = partial(widen_to_planes, frames=model.frames, planes=planes)
    run = ResumableRun.for_config(cfg, name, model, optimizer, command, device, adapt_init=adapt)
    generator = run.generator(cfg.seed)
    while run.running():
        burst = training_bursts(sample_crops(bank, spec, cfg.batch, generator), spec, generator, cfg.prealign)
        learning_rate = cosine_learning_rate(run.progress(), cfg.lr)
        run.optimize(learning_rate, loss_function, model, burst, run.steps_including_lineage, cfg.anneal)
    run.finish()
    round_to_storage(model, cfg.storage_dtype)  # validate what is exported

    validation = validate(model, crops, spec, device, cfg.prealign)
    print(f"validation PSNR at step {run.step}: {validation}")
    card = {
        "architecture": {"class": "KPN", "frames": 8, "kernel_size": 5, "widths": list(cfg.widths), "planes": planes},
        "task": "burst",
        "training": {
            "data": f"{len(train_photos)} photos from {cfg.data} ({bank.shape[0]} {'RGB' if cfg.bayer else 'gray'} "
            f"crops of {spec.crop})",
            "synthesis": f"pipelines.burst_data, {asdict(spec)}"
            + (", pre-aligned by whole pixels except the outlier frames" if cfg.prealign else ""),
            **run.record(),
        },
        "validation": {
            "what": f"mean PSNR (dB) after gamma, {validation_border(spec)}-px border crop, {VALIDATION_BURSTS} bursts "
            f"at each gain ({', '.join(map(str, GAINS))}, white level 1) from each of {len(crops)} whole {spec.crop} px "
            f"tiles of {len(val_photos)} held-out photos (long side {bank_spec.long_side} px, as the training photos)"
            + (", pre-aligned by whole pixels (both the network's input and the average)" if cfg.prealign else ""),
            "psnr": validation,
        },
    }
    return export_weights(model, cfg.weights_dir, name, card, cfg.storage_dtype)


def parse_args(argv: list[str] | None = None) -> TrainConfig:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    add_run_arguments(parser, TrainConfig())
    parser.add_argument(
        "--size",
        type=multiple_of(KPN.multiple, KPN.multiple),
        default=TrainConfig.size,
        help=f"burst frame side, a multiple of {KPN.multiple}",
    )
    parser.add_argument(
        "--widths",
        type=bounded_int(1),
        nargs="+",
        default=list(TrainConfig.widths),
        help="U-Net widths (other than the default, the weights fit only a model built with them)",
    )
    parser.add_argument(
        "--anneal",
        type=bounded_float(0, 1),
        default=TrainConfig.anneal,
        help="decay per step of the per-frame loss terms (0 to 1)",
    )
    parser.add_argument(
        "--max-shift",
        type=bounded_float(0),
        default=TrainConfig.max_shift,
        help="largest frame translation in output pixels (kpn-burst pre-aligns by whole pixels, leaving at most 0.5 "
        "plus the estimate's error)",
    )
    parser.add_argument("--bayer", action="store_true", help="train kpn-burst-raw on raw Bayer bursts (packed RGGB)")
    parser.add_argument(
        "--prealign",
        action="store_true",
        help="move every burst's frames onto its reference by whole pixels before the network sees them, as "
        "kpn-burst's inference does, all but the outlier frames (pipelines.burst_data.prealigned)",
    )
    parser.add_argument(
        "--downsample",
        type=bounded_int(1),
        default=None,
        help="photo pixels per frame pixel, before Bayer packing (default 4, raw 2): 2 (raw 1) cuts the crops from "
        "photos of half the long side (512 px instead of 1024), so that frames keep their scale, with shifts in "
        "steps of half a frame pixel instead of a quarter; for photo packs of 512 px (pipelines.pack_photos)",
    )
    args = parser.parse_args(argv)
    cfg = replace(TrainConfig(), **{**vars(args), "widths": tuple(args.widths)})
    try:
        cfg.burst_spec  # noqa: B018 - checks the shifts
    except ValueError as error:
        parser.error(str(error))
    return cfg


def main(argv: list[str] | None = None) -> None:
    run_command("train_kpn", parse_args, train, argv)


if __name__ == "__main__":
    main()
