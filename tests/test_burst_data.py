"""Synthetic bursts (shapes, a centred reference, sub-pixel misalignment, noise that matches the model) and the
burst network's plumbing (kernel outputs, bursts of any length, validation at every gain)."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from pipelines.burst_data import Burst, BurstSpec, prealigned, synthesize_bursts
from restore.models.kpn import KPN
from restore.ops.burst_noise import noise_level_map
from restore.ops.color import linear_from_srgb
from restore.ops.kernels import filter_frames
from restore.runs import burst_groups, network_burst_merge

SPEC = BurstSpec(frames=4, size=16, downsample=2, max_shift=1.0, outlier_shift=3.0)


def test_shapes_and_a_centred_clean_reference() -> None:
    generator = torch.Generator().manual_seed(0)
    crops = torch.rand(3, 1, SPEC.crop, SPEC.crop, generator=generator)
    burst = synthesize_bursts(crops, SPEC, generator)
    assert burst.noisy.shape == (3, 4, 1, 16, 16) and burst.clean.shape == (3, 1, 16, 16)
    assert burst.noise_level.shape == (3, 1, 16, 16) and burst.read.shape == burst.shot.shape == (3,)
    margin = (SPEC.crop - SPEC.size * SPEC.downsample) // 2
    linear = linear_from_srgb(crops.expand(-1, 3, -1, -1))[:, :1, margin:-margin, margin:-margin]
    reference = F.avg_pool2d(linear, SPEC.downsample)
    ratio = burst.clean / reference  # the same window, scaled by the white level
    assert torch.allclose(ratio, ratio.flatten(1).mean(dim=1).view(-1, 1, 1, 1), rtol=1e-4)


def test_other_frames_are_shifted() -> None:
    generator = torch.Generator().manual_seed(1)
    crops = torch.rand(8, 1, SPEC.crop, SPEC.crop, generator=generator)
    tiny = torch.full((8,), 1e-6)
    burst = synthesize_bursts(crops, SPEC, generator, read=tiny, shot=tiny)
    differs = (burst.noisy[:, 1:, 0] - burst.clean[:, None, 0]).abs().amax(dim=(-2, -1)) > 1e-3
    assert differs.float().mean() > 0.5


def textured_bursts(spec: BurstSpec, seed: int) -> Burst:
    """Four bursts of ``spec`` from a smooth random texture, with next to no noise (read and shot 1e-4), so that
    alignment sees the displacements alone."""
    generator = torch.Generator().manual_seed(seed)
    texture = F.avg_pool2d(torch.rand(4, 1, spec.crop + 6, spec.crop + 6, generator=generator), 7, stride=1)
    tiny = torch.full((4,), 1e-4)
    return synthesize_bursts(texture, spec, generator, read=tiny, shot=tiny)


def test_prealigned_moves_displaced_frames_back_onto_the_reference_and_keeps_the_rest() -> None:
    # whole-pixel displacements (downsample 1), up to 4 pixels: alignment undoes them exactly, but at the edges
    spec = BurstSpec(frames=6, size=48, downsample=1, max_shift=4.0, outlier_probability=0.0, outlier_shift=4.0)
    burst = textured_bursts(spec, seed=3)
    aligned = prealigned(burst)

    def misfit(frames: torch.Tensor) -> torch.Tensor:  # mean |frame - reference| inside a 6-px border, per frame
        return (frames[:, 1:] - frames[:, :1]).abs()[..., 6:-6, 6:-6].mean(dim=(-3, -2, -1))

    assert misfit(burst.noisy).amin() > 0.005  # every frame displaced (none drew a zero shift with this seed)
    assert misfit(aligned.noisy).amax() < 0.1 * misfit(burst.noisy).mean()
    assert torch.equal(aligned.noisy[:, 0], burst.noisy[:, 0])
    assert aligned.clean is burst.clean and aligned.noise_level is burst.noise_level


def test_prealigned_leaves_the_frames_that_do_not_match_where_they_are() -> None:
    spec = BurstSpec(frames=6, size=48, downsample=1, max_shift=0, outlier_probability=0.5, outlier_shift=4.0)
    burst = textured_bursts(spec, seed=4)
    aligned = prealigned(burst)
    assert burst.outliers.shape == (4, 6) and not burst.outliers[:, 0].any()
    assert 0 < burst.outliers.sum() < 20  # some frames of each kind
    assert torch.equal(aligned.noisy[burst.outliers], burst.noisy[burst.outliers])
    assert torch.equal(aligned.noisy[~burst.outliers], burst.noisy[~burst.outliers])  # no shift to undo (max_shift 0)


@pytest.mark.parametrize(
    ("options", "message"),
    [({"max_shift": 9.0}, "cannot exceed outlier_shift"), ({"max_shift": 0.2}, "multiple of 1/4 output pixel")],
)
def test_shifts_the_crop_cannot_hold_or_that_are_not_whole_pixels_are_refused(options: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        BurstSpec(**options)


@pytest.mark.parametrize(("read", "shot"), [(0.01, 0.05), (0.03, 0.01)])
def test_noise_matches_the_model(read: float, shot: float) -> None:
    spec = BurstSpec(frames=8, size=64, downsample=1, max_shift=0, outlier_probability=0, white_level=(1.0, 1.0))
    crops = torch.full((4, 1, spec.crop, spec.crop), 0.6)
    level = linear_from_srgb(torch.full((1, 3, 1, 1), 0.6))[0, 0, 0, 0]
    burst = synthesize_bursts(
        crops, spec, torch.Generator().manual_seed(2), torch.full((4,), read), torch.full((4,), shot)
    )
    residual = burst.noisy - level
    assert residual.mean().abs() < 1e-3
    assert residual.var().item() == pytest.approx(read**2 + shot**2 * level.item(), rel=0.03)
    expected = noise_level_map(burst.noisy[:, 0], burst.read, burst.shot)
    assert torch.equal(burst.noise_level, expected)


def test_kpn_output_shapes() -> None:
    network = KPN(frames=4, kernel_size=3, widths=(8, 16)).eval()
    frames, level = torch.rand(2, 4, 1, 16, 16), torch.rand(2, 1, 16, 16)
    with torch.no_grad():
        merged, per_frame = network(frames, level)
    assert merged.shape == (2, 1, 16, 16) and per_frame.shape == (2, 4, 1, 16, 16)
    with pytest.raises(ValueError, match="bursts of 4 frames"):
        network(torch.rand(2, 3, 1, 16, 16), level)


def test_kpn_kernels_are_convex_weights_that_start_centred_and_equal_across_frames() -> None:
    torch.manual_seed(0)
    network = KPN(frames=4, kernel_size=5, widths=(8, 16)).eval()
    frames, level = torch.rand(1, 4, 1, 32, 32), torch.rand(1, 1, 32, 32) * 0.1
    with torch.no_grad():
        kernels = network.predict_kernels(frames, level)
        flat, _ = network(torch.full((1, 4, 1, 32, 32), 0.3), level)
    assert kernels.min() >= 0 and torch.allclose(kernels.sum(dim=(1, 2)), torch.ones(1, 32, 32))
    centre = kernels[:, :, 12]  # (B, N, H, W): most of every frame's share sits on its centre tap
    assert (
        torch.allclose(centre, torch.full_like(centre, centre.mean().item()), atol=0.01) and centre.sum(1).min() > 0.6
    )
    assert torch.allclose(flat[..., 2:-2, 2:-2], torch.tensor(0.3), atol=1e-6)  # a convex merge keeps the level


def test_kpn_streams_frames_to_the_same_merge_as_its_full_softmax_kernels() -> None:
    torch.manual_seed(0)
    network = KPN(frames=4, kernel_size=3, widths=(8, 16))
    with torch.no_grad():
        network.to_logits.weight.normal_(0.0, 2.0)  # logits spread far apart: the streaming softmax must rescale
    frames, level = torch.rand(2, 4, 3, 16, 16), torch.rand(2, 1, 16, 16)
    merged, per_frame = network(frames, level)
    kernels = network.predict_kernels(frames, level)
    filtered = filter_frames(frames, kernels)
    assert torch.allclose(merged, filtered.sum(dim=1), atol=1e-5)
    assert torch.allclose(per_frame, filtered / kernels.sum(dim=2, keepdim=True), atol=1e-5)
    (merged.mean() + per_frame.mean()).backward()
    assert network.to_logits.weight.grad.abs().sum() > 0


@pytest.mark.parametrize("count", [2, 3, 8, 9, 16])
def test_burst_groups_cover_every_frame_once_in_fixed_size_groups(count: int) -> None:
    groups = burst_groups(count, 8)
    assert all(len(group) == 8 and group[0] == 0 for group in groups)
    distinct = [set(group.tolist()) - {0} for group in groups]
    assert set().union(*distinct) == set(range(1, count))
    assert sum(len(d) for d in distinct) == count - 1  # no frame in two groups


@pytest.mark.parametrize(("count", "channels"), [(4, 1), (2, 1), (7, 3)])
def test_a_fixed_size_network_merges_bursts_of_any_length(count: int, channels: int) -> None:
    torch.manual_seed(0)
    network = KPN(frames=4, kernel_size=5, widths=(8, 16)).eval()
    restorer = SimpleNamespace(network=network, run_network=lambda x, function: function(x))
    levels = np.random.default_rng(0).uniform(0.2, 0.8, size=(count, 1, 1, channels))
    frames = np.broadcast_to(levels, (count, 32, 32, channels)).astype(np.float32)  # flat frames, distinct levels
    with torch.no_grad():
        merged = network_burst_merge(restorer, frames, read=0.01, shot=0.02, align=False)
    assert merged.shape == (32, 32, channels) and merged.dtype == np.float64
    groups = burst_groups(count, 4)  # the untrained network weighs each group's frames nearly equally
    expected = sum(len(set(g.tolist())) * frames[g].mean(axis=0) for g in groups) / sum(
        len(set(g.tolist())) for g in groups
    )
    assert np.abs(merged - expected)[2:-2, 2:-2].max() < 0.01


def test_a_fractional_outlier_shift_gets_a_crop_that_holds_it() -> None:
    spec = BurstSpec(frames=4, size=16, downsample=4, max_shift=8.25, outlier_probability=1.0, outlier_shift=8.25)
    assert spec.crop == 16 * 4 + 2 * 33
    burst = synthesize_bursts(torch.rand(2, 1, spec.crop, spec.crop), spec, torch.Generator().manual_seed(0))
    assert burst.noisy.shape == (2, 4, 1, 16, 16)


@pytest.mark.parametrize(
    "bayer, downsample, side", [(False, None, 1024), (False, 2, 512), (True, None, 1024), (True, 1, 512)]
)
def test_train_kpn_downsample_keeps_the_frames_scale_on_smaller_photos(bayer: bool, downsample, side: int) -> None:
    from pipelines.train_kpn import TrainConfig, parse_args

    argv = (
        ["--max-shift", "1"] + (["--bayer"] if bayer else []) + ([f"--downsample={downsample}"] if downsample else [])
    )
    cfg = parse_args(argv)
    spec = cfg.burst_spec
    assert cfg.photo_side == side and side // (spec.downsample * spec.mosaic_scale) == 256  # a frame pixel: the same
    assert spec.crop * 1024 // side == TrainConfig(bayer=bayer, max_shift=1.0).burst_spec.crop  # the same photo area


class ReferenceFrame(torch.nn.Module):
    """A stand-in for the KPN that returns each burst's reference frame as its merge."""

    def forward(self, noisy: torch.Tensor, noise_level: torch.Tensor) -> tuple[torch.Tensor, None]:
        return noisy[:, 0], None


class FrameAverage(torch.nn.Module):
    """A stand-in for the KPN that returns the plain average of each burst's frames as its merge."""

    def forward(self, noisy: torch.Tensor, noise_level: torch.Tensor) -> tuple[torch.Tensor, None]:
        return noisy.mean(dim=1), None


@pytest.mark.parametrize("bayer", [False, True])
def test_kpn_validation_scores_every_gain(bayer: bool) -> None:
    from pipelines.train_kpn import VALIDATION_BURSTS, validate

    spec = BurstSpec(frames=4, size=16, downsample=2, max_shift=1.0, outlier_shift=2.0, bayer=bayer)
    rng = np.random.default_rng(0)
    crops = [rng.integers(0, 256, (spec.crop, spec.crop, spec.channels), dtype=np.uint8) for _ in range(2)]
    scores = validate(ReferenceFrame(), crops, spec, torch.device("cpu"), prealign=True)
    gain_keys = {f"{prefix}gain{gain}" for prefix in ("", "matched_") for gain in (1, 2, 4, 8)}
    assert set(scores) == {"kpn", "average", *gain_keys} and VALIDATION_BURSTS > 1
    for prefix in ("", "matched_"):  # a noisy frame: worse at each gain
        assert scores[f"{prefix}gain1"] > scores[f"{prefix}gain2"] > scores[f"{prefix}gain4"] > scores[f"{prefix}gain8"]
    gains = np.mean([scores[f"gain{gain}"] for gain in (1, 2, 4, 8)])
    assert scores["kpn"] == pytest.approx(gains, abs=1e-3)  # as many bursts at each gain
    assert validate(ReferenceFrame(), [], spec, torch.device("cpu"), prealign=False) == {}
    every_frame_an_outlier = replace(spec, outlier_probability=1.0)
    averaged = validate(FrameAverage(), crops, every_frame_an_outlier, torch.device("cpu"), prealign=True)
    assert averaged["matched_gain1"] > averaged["gain1"] + 0.3  # outlier frames, left displaced, blur the average
