"""The checkpoints shipped in weights/: every learned model loads its verified weights and really denoises."""

from __future__ import annotations

from importlib import resources

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import restore
from restore.metrics import psnr, to_uint8
from restore.ops.noise import add_gaussian_noise_np
from restore.registry import list_specs

LEARNED = [spec.name for spec in list_specs() if spec.kind == "learned"]
DENOISERS = [spec.name for spec in list_specs() if spec.kind == "learned" and spec.task == "denoise"]


@pytest.fixture(scope="module")
def sample_crop() -> np.ndarray:
    with resources.as_file(resources.files("restore") / "data" / "sample.png") as path:
        return restore.io.read_image(path)[40:136, 160:256]  # hair and face


@pytest.mark.parametrize("name", LEARNED)
def test_card_describes_the_checkpoint(name):
    card = next(info.card for info in restore.models() if info.name == name)
    assert card is not None, f"{name} has no model card in weights/"
    assert card["name"] == name and len(card["sha256"]) == 64
    training = card["training"]  # its own steps, or those of the weights it was re-exported from (float16)
    assert training.get("steps_including_lineage", training["steps_done"]) > 0
    assert any(entry["sessions"] for entry in [training, *training.get("lineage", [])])


def denoising_case(name: str, sample_crop: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """(clean uint8, noisy float64, sigma) for a denoiser: the crop in its channels, at its own level or sigma 25."""
    spec = restore.registry.get_spec(name)
    clean = sample_crop if 3 in spec.channels else sample_crop.mean(axis=2).round().astype(np.uint8)
    sigma = spec.noise_level or 25
    return clean, add_gaussian_noise_np(clean, sigma, seed=1), sigma


@pytest.mark.parametrize("name", DENOISERS)
def test_trained_denoiser_lowers_the_error(name, sample_crop):
    clean, noisy, sigma = denoising_case(name, sample_crop)
    gain = psnr(to_uint8(restore.load(name, device="cpu")(noisy)), clean) - psnr(to_uint8(noisy), clean)
    assert gain > 3.0, f"{name} improves PSNR by only {gain:.2f} dB at sigma {sigma}"


@pytest.mark.parametrize("name", DENOISERS)
def test_self_ensemble_of_a_trained_denoiser_beats_its_single_pass(name, sample_crop):
    clean, noisy, _ = denoising_case(name, sample_crop)
    single = psnr(to_uint8(restore.load(name, device="cpu")(noisy)), clean)
    ensemble = psnr(to_uint8(restore.load(name, device="cpu", ensemble=True)(noisy)), clean)
    assert ensemble > single  # 0.04 to 0.19 dB when written


def test_trained_lowlight_model_beats_the_conventional_pipeline(tmp_path, sample_crop):
    from pipelines.lowlight_data import synthesize_dark_raws

    clean = torch.from_numpy(sample_crop).permute(2, 0, 1)[None].float() / 255
    synthesize_dark_raws(clean, 100.0, torch.Generator().manual_seed(4)).to_dng(0, tmp_path / "dark.dng")
    ours = psnr(to_uint8(restore.restore(tmp_path / "dark.dng", model="lowlight-raw", ratio=100)), sample_crop)
    conventional = restore.restore(tmp_path / "dark.dng", model="lowlight-conventional", ratio=100)
    gain = ours - psnr(to_uint8(conventional), sample_crop)
    assert gain > 3.0, f"lowlight-raw is only {gain:.2f} dB above the conventional pipeline"


def test_trained_invisp_renders_like_libraw_and_inverts_jpegs_better_than_unprocessing(sample_crop):
    from pipelines.invisp_data import camera_550d, render_pair
    from restore.baselines_isp import brooks_unprocess

    pair = render_pair(sample_crop, (2.0, 1.0, 1.7))
    raw, jpeg = pair.raw.astype(np.float32) / 65535, pair.jpeg.astype(np.float32) / 255
    rendered = restore.restore(raw, model="invisp")
    assert psnr(to_uint8(rendered), np.round(pair.srgb / 257).astype(np.uint8)) > 30

    def raw_error(estimate: np.ndarray) -> float:
        return float(np.sqrt(np.mean((estimate - raw) ** 2)))

    brooks = brooks_unprocess(jpeg, camera_550d((1.0, 1.0, 1.0)).rgb_from_camera[0].double().numpy())
    assert raw_error(restore.restore(jpeg, model="invisp", inverse=True)) < 0.8 * raw_error(brooks)


@pytest.mark.parametrize("name", DENOISERS)
def test_bf16_on_the_cpu_stays_within_0_05_db_of_fp32(name, sample_crop):
    clean = sample_crop if 3 in restore.load(name, device="cpu").spec.channels else sample_crop[..., 1]
    noisy = add_gaussian_noise_np(clean, 25, seed=2).astype(np.float32)
    fp32 = psnr(to_uint8(restore.load(name, device="cpu", precision="fp32")(noisy)), clean)
    bf16 = psnr(to_uint8(restore.load(name, device="cpu", precision="bf16")(noisy)), clean)
    assert abs(fp32 - bf16) < 0.05


NOISE = (0.02, 0.06)  # (read, shot) of the test bursts


def sample_burst(seed: int, **spec_options) -> tuple[np.ndarray, np.ndarray]:
    """A synthetic 8-frame gray burst (8, 48, 48) from the bundled sample, noise ``NOISE``, no outlier frames, and
    its clean reference (48, 48)."""
    from pipelines.burst_data import BurstSpec, synthesize_bursts

    spec = BurstSpec(size=48, white_level=(1.0, 1.0), outlier_probability=0.0, **spec_options)
    with resources.as_file(resources.files("restore") / "data" / "sample.png") as path:
        photo = restore.io.read_image(path)[: spec.crop, : spec.crop]
    crop = torch.from_numpy(photo.mean(axis=2)).float()[None, None] / 255
    read, shot = (torch.tensor([v]) for v in NOISE)
    burst = synthesize_bursts(crop, spec, torch.Generator().manual_seed(seed), read, shot)
    return burst.noisy[0, :, 0].numpy(), burst.clean[0, 0].numpy()


def rms_error(estimate: np.ndarray, clean: np.ndarray, border: int) -> float:
    inner = np.s_[border:-border, border:-border]
    return float(np.sqrt(np.mean((estimate - clean)[inner] ** 2)))


def test_trained_kpn_beats_the_plain_average_on_a_small_burst():
    frames, clean = sample_burst(5)
    ours = rms_error(restore.restore(frames, model="kpn-burst", noise=NOISE), clean, 4)
    assert ours < 0.5 * rms_error(frames.mean(axis=0), clean, 4) and ours < 0.7 * rms_error(frames[0], clean, 4)


def test_kpn_pre_alignment_merges_frames_shifted_beyond_its_kernels():
    frames, clean = sample_burst(8, max_shift=5.0, outlier_shift=5.0)
    aligned = rms_error(restore.restore(frames, model="kpn-burst", noise=NOISE), clean, 8)
    unaligned = rms_error(restore.restore(frames, model="kpn-burst", noise=NOISE, align=False), clean, 8)
    assert aligned < 0.9 * unaligned  # 0.75 when written


def test_kpn_on_color_frames_given_their_channels_noise_does_no_worse_than_estimating_it():
    from restore.ops.color import linear_from_srgb

    with resources.as_file(resources.files("restore") / "data" / "sample.png") as path:
        photo = restore.io.read_image(path)[:64, :64, :3]
    clean = linear_from_srgb(torch.from_numpy(photo / 255.0)).numpy()
    rng = np.random.default_rng(3)
    read, shot = NOISE
    frames = clean + rng.standard_normal((8, *clean.shape)) * np.sqrt(read**2 + shot**2 * clean)  # each channel
    given = rms_error(restore.restore(frames.astype(np.float32), model="kpn-burst", noise=NOISE), clean, 4)
    estimated = rms_error(restore.restore(frames.astype(np.float32), model="kpn-burst"), clean, 4)
    assert given <= estimated  # 1.16 times it when the channels' noise was taken for their mean's


def sample_raw_burst(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A synthetic 8-frame raw burst of RGGB mosaics (8, 96, 96) from the bundled sample (unprocessed into a random
    camera's raw), noise ``NOISE``, no outlier frames, and its clean reference mosaic (96, 96)."""
    from pipelines.burst_data import BurstSpec, synthesize_bursts
    from restore.io import CFA
    from restore.ops.bayer import unpack_bayer

    spec = BurstSpec(size=48, downsample=2, bayer=True, white_level=(1.0, 1.0), outlier_probability=0.0)
    with resources.as_file(resources.files("restore") / "data" / "sample.png") as path:
        photo = restore.io.read_image(path)[: spec.crop, : spec.crop]
    crop = torch.from_numpy(photo).permute(2, 0, 1).float()[None] / 255
    read, shot = (torch.tensor([v]) for v in NOISE)
    burst = synthesize_bursts(crop, spec, torch.Generator().manual_seed(seed), read, shot)
    return unpack_bayer(burst.noisy[0], CFA.RGGB)[:, 0].numpy(), unpack_bayer(burst.clean, CFA.RGGB)[0, 0].numpy()


def test_trained_raw_kpn_beats_the_plain_average_and_the_gray_network_on_a_raw_burst():
    from restore.io import CFA
    from restore.ops.bayer import pack_bayer

    mosaics, clean = sample_raw_burst(5)
    ours = rms_error(restore.restore(mosaics, model="kpn-burst-raw", noise=NOISE), clean, 8)
    planes = pack_bayer(torch.from_numpy(mosaics)[:, None], CFA.RGGB).permute(0, 2, 3, 1).numpy()
    gray_network = restore.restore(planes, model="kpn-burst", noise=NOISE)  # the 4 planes as one color burst
    gray = rms_error(F.pixel_shuffle(torch.from_numpy(gray_network).permute(2, 0, 1)[None], 2)[0, 0].numpy(), clean, 8)
    assert ours < 0.5 * rms_error(mosaics.mean(axis=0), clean, 8) and ours < 0.7 * rms_error(mosaics[0], clean, 8)
    assert ours < gray


def test_trained_deblurring_network_sharpens_blurred_images(sample_crop):
    from pipelines.blur_data import blur_batch, kernel_bank

    kernels = torch.from_numpy(kernel_bank(8, seed=20_002))  # synthetic shake, RMS radius 1.1 to 6.7 px
    clean = torch.from_numpy(sample_crop).permute(2, 0, 1)[None].float() / 255
    inner = np.s_[16:-16, 16:-16]
    gains = []
    for index, kernel in enumerate(kernels):
        noise = torch.Generator().manual_seed(index)
        blurred = blur_batch(clean, kernel[None], torch.tensor([0.01]), noise)[0].permute(1, 2, 0).numpy()
        ours = to_uint8(restore.restore(blurred, model="deblur-ms"))
        gains.append(psnr(ours[inner], sample_crop[inner]) - psnr(to_uint8(blurred)[inner], sample_crop[inner]))
    assert np.mean(gains) > 0.4, f"deblur-ms improves PSNR by only {np.mean(gains):.2f} dB on average ({gains})"
