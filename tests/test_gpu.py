"""GPU inference agrees with the CPU, and every training pipeline runs on the GPU (runs only where CUDA is available,
e.g. on a lent device)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import restore
from pipelines import train_dncnn
from restore.metrics import psnr, to_uint8
from tests.test_training_runs import CONFIGS, tiny_config

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@pytest.mark.parametrize("precision", ["fp32", "fp16", "bf16"])
def test_cuda_matches_cpu(precision, smooth_image, add_noise):
    noisy = add_noise(smooth_image(96, 80, 3).astype(np.float32))
    cpu = restore.load("dncnn-color", device="cpu")(noisy)
    gpu = restore.load("dncnn-color", device="cuda", precision=precision)(noisy)
    assert gpu.dtype == np.float32 and gpu.shape == noisy.shape
    assert psnr(to_uint8(gpu), to_uint8(cpu)) > (50 if precision == "fp32" else 40)


def test_burst_alignment_on_cuda_moves_frames_as_on_the_cpu():
    from restore.ops.alignment import align_whole_pixels

    rng = np.random.default_rng(0)
    scene = rng.random((180, 220))
    offsets = [(0, 0), (4, -3), (-6, 2), (1, 5), (7, 7)]
    burst = np.stack([scene[20 + dy : 160 + dy, 20 + dx : 200 + dx] for dx, dy in offsets])
    burst = (burst + rng.normal(0, 0.05, burst.shape))[..., None].astype(np.float32)
    assert align_whole_pixels(burst.copy(), "cuda") == align_whole_pixels(burst.copy()) == offsets


def test_auto_device_picks_cuda_and_keeps_tensors_there(smooth_image):
    image = torch.from_numpy(smooth_image(64, 64, 3)).float().permute(2, 0, 1).cuda()
    restorer = restore.load("dncnn-color")
    assert restorer.device.type == "cuda" and restorer.dtype in (torch.float16, torch.bfloat16)
    out = restorer(image)
    assert out.device == image.device and out.dtype == image.dtype and out.shape == image.shape


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_raw_models_on_cuda_match_cpu(tmp_path, precision, smooth_image):
    pytest.importorskip("rawpy")  # the lent GPU machine has no rawpy unless its wheel is carried
    from pipelines.lowlight_data import synthesize_dark_raws

    clean = torch.from_numpy(smooth_image(64, 96, 3)).permute(2, 0, 1)[None].float()
    synthesize_dark_raws(clean, 100.0, torch.Generator().manual_seed(0)).to_dng(0, tmp_path / "dark.dng")
    cpu = restore.load("lowlight-raw", device="cpu")(tmp_path / "dark.dng", ratio=100)
    gpu = restore.load("lowlight-raw", device="cuda", precision=precision)(tmp_path / "dark.dng", ratio=100)
    assert psnr(to_uint8(gpu), to_uint8(cpu)) > (50 if precision == "fp32" else 35)
    linear = clean[0].permute(1, 2, 0).numpy() ** 2.2
    cpu = restore.load("invisp", device="cpu")(linear)
    gpu = restore.load("invisp", device="cuda", precision=precision)(linear)
    assert psnr(to_uint8(gpu), to_uint8(cpu)) > (50 if precision == "fp32" else 35)


TRAINING_ON_CUDA = {
    **CONFIGS,
    "dncnn": (train_dncnn, {"name": "dncnn-gray", "batch": 2, "patch": 16}),
}


@pytest.mark.parametrize("name", sorted(TRAINING_ON_CUDA))
def test_every_training_pipeline_runs_on_cuda(name, training_photos, tmp_path):
    """Data synthesis, crops and flips draw from a CUDA generator on the GPU: two steps run and export weights."""
    if name == "invisp":
        pytest.importorskip("rawpy")  # its training pairs come from the raw samples, decoded with rawpy
    module, overrides = TRAINING_ON_CUDA[name]
    cfg = tiny_config(module, overrides, training_photos, tmp_path, steps=2, device="cuda")
    card = json.loads(module.train(cfg, command="cuda").read_text())
    assert card["training"]["steps_done"] == 2 and "cuda" in card["training"]["sessions"][0]["device"].lower()
