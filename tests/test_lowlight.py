"""The low-light raw pipeline: synthetic dark raws, their DNGs, the API on raw input, the baselines and the CLI."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import rawpy
import torch

import restore
from pipelines.lowlight_data import Sensor, synthesize_dark_raws
from restore.cli import main as cli_main
from restore.errors import InvalidImageError, InvalidOptionError
from restore.io import CFA, read_raw
from restore.metrics import psnr, to_uint8
from restore.ops.lowlight import AUTO_RATIO_TARGET, auto_ratio

RATIO = 100.0


def clean_photo(smooth_image, height: int = 48, width: int = 64) -> torch.Tensor:
    """A smooth sRGB image (1, 3, H, W) on [0, 1]."""
    return torch.from_numpy(smooth_image(height, width, 3)).permute(2, 0, 1)[None].float()


def dark_dng(tmp_path: Path, clean: torch.Tensor, cfa: CFA, seed: int = 0, noiseless: bool = False) -> Path:
    generator = torch.Generator().manual_seed(seed)
    raws = synthesize_dark_raws(clean, 1.0 if noiseless else RATIO, generator, cfa=cfa)
    if noiseless:  # the normal exposure of the same camera, without noise: what a pipeline must render exactly
        from restore.ops.bayer import mosaic_rgb

        span = raws.sensor.white_level - raws.sensor.black_level
        values = (mosaic_rgb(raws.linear, cfa) * span + raws.sensor.black_level).round()
        raws = type(raws)(values, raws.linear, raws.camera, raws.ratio, raws.shot, raws.read, cfa, raws.sensor)
    path = tmp_path / f"dark-{cfa.value}-{seed}.dng"
    raws.to_dng(0, path)
    return path


def test_synthesis_is_dark_noisy_and_quantized(smooth_image) -> None:
    clean = clean_photo(smooth_image, 64, 64).expand(8, -1, -1, -1)
    raws = synthesize_dark_raws(clean, RATIO, torch.Generator().manual_seed(0))
    values = raws.raw_values
    assert values.shape == (8, 1, 64, 64)
    assert torch.equal(values, values.round()) and values.min() >= 0 and values.max() <= Sensor().white_level
    from restore.ops.bayer import mosaic_rgb

    expected = mosaic_rgb(raws.linear, CFA.RGGB) / RATIO
    residual = raws.normalized() - expected
    assert residual.mean().abs() < 2e-4  # noise is zero-mean
    predicted = (raws.shot.view(-1, 1, 1, 1) * expected + raws.read.view(-1, 1, 1, 1)).mean()
    assert residual.var().item() == pytest.approx(predicted.item(), rel=0.1)


@pytest.mark.parametrize("cfa", list(CFA))
def test_dng_of_a_synthetic_raw_reads_back_exactly(tmp_path, smooth_image, cfa: CFA) -> None:
    clean = clean_photo(smooth_image)
    raws = synthesize_dark_raws(clean, RATIO, torch.Generator().manual_seed(0), cfa=cfa)
    raws.to_dng(0, tmp_path / "x.dng")
    raw = read_raw(tmp_path / "x.dng")
    assert raw.cfa == cfa
    assert np.array_equal(raw.raw_values, raws.raw_values[0, 0].numpy().astype(np.uint16))
    assert np.allclose(raw.mosaic, raws.normalized()[0, 0].numpy(), atol=1e-6)
    assert np.allclose(raw.wb_gains, raws.camera.wb_gains[0].numpy(), atol=1e-5)
    assert np.allclose(raw.color_matrix, raws.camera.rgb_from_camera[0].numpy(), atol=1e-5)


@pytest.mark.parametrize("cfa", list(CFA))
def test_conventional_pipeline_renders_a_clean_raw_faithfully(tmp_path, smooth_image, cfa: CFA) -> None:
    """Without noise or underexposure, the baseline must give the photo back: geometry, CFA and colors all right."""
    clean = clean_photo(smooth_image, 64, 96)
    out = restore.restore(dark_dng(tmp_path, clean, cfa, noiseless=True), model="lowlight-conventional", ratio=1)
    reference = to_uint8(clean[0].permute(1, 2, 0).numpy())
    assert psnr(to_uint8(out), reference[: out.shape[0], : out.shape[1]]) > 32  # a wrong CFA or color step: < 20 dB


@pytest.mark.parametrize("model", ["lowlight-cbm3d", "lowlight-nlmeans"])
def test_classical_denoisers_take_the_noise_level(tmp_path, smooth_image, model: str) -> None:
    """``sigma`` reaches the denoiser after the conventional rendering: the rendering's RMS error (8-bit scale) as
    the level recovers the smooth photo far better than a token level, and a level off the 8-bit scale is refused."""
    clean = clean_photo(smooth_image, 64, 96)
    reference = to_uint8(clean[0].permute(1, 2, 0).numpy())
    dng = dark_dng(tmp_path, clean, CFA.RGGB)
    rendering = restore.restore(dng, model="lowlight-conventional", ratio=RATIO) * 255
    reference = reference[: rendering.shape[0], : rendering.shape[1]]
    error = float(np.sqrt(np.mean((rendering - reference) ** 2)))  # about 110: SNR below 1 at ratio 100
    weak, matched = (to_uint8(restore.restore(dng, model=model, ratio=RATIO, sigma=s)) for s in (1, error))
    assert psnr(matched, reference) > psnr(weak, reference) + 3
    estimated = restore.restore(dng, model=model, ratio=RATIO, sigma="auto")
    assert np.array_equal(estimated, restore.restore(dng, model=model, ratio=RATIO)), "'auto' is the default"
    with pytest.raises(InvalidOptionError, match="sigma"):
        restore.restore(dng, model=model, ratio=RATIO, sigma=300)


def test_auto_ratio_brings_the_mean_to_the_target() -> None:
    mosaic = torch.full((1, 1, 8, 8), 0.002)
    gains = (2.0, 1.0, 1.5)
    mean = 0.002 * (2.0 + 1.0 + 1.0 + 1.5) / 4
    assert auto_ratio(mosaic, CFA.RGGB, gains) == pytest.approx(AUTO_RATIO_TARGET / mean)
    assert auto_ratio(torch.zeros(1, 1, 8, 8), CFA.RGGB, gains) == 1000.0


@pytest.mark.usefixtures("untrained_weights")
@pytest.mark.parametrize(("height", "width"), [(48, 64), (47, 61)])
def test_lowlight_model_takes_raw_files_objects_and_paths(tmp_path, smooth_image, height: int, width: int) -> None:
    clean = clean_photo(smooth_image, height + height % 2, width + width % 2)
    path = dark_dng(tmp_path, clean, CFA.GRBG)
    if (height, width) != tuple(clean.shape[-2:]):  # an odd-sized raw: crop the DNG's mosaic
        raw = read_raw(path)
        from restore.io import write_dng

        write_dng(path, raw.raw_values[:height, :width], raw.cfa, black_level=512, white_level=16383)
    restorer = restore.load("lowlight-raw", device="cpu")
    from_path = restorer(path, ratio=RATIO)
    assert from_path.shape == (height, width, 3) and from_path.dtype == np.float32
    assert from_path.min() >= 0 and from_path.max() <= 1
    with rawpy.imread(str(path)) as opened:
        assert np.array_equal(restorer(opened, ratio=RATIO), from_path)
    assert np.array_equal(restorer(read_raw(path), ratio=RATIO), from_path)
    assert restorer(str(path)).shape == from_path.shape  # ratio="auto"


def test_tiled_raw_inference_matches_untiled(tmp_path, smooth_image) -> None:
    """The tiles overlap by the network's whole reach (registered receptive radius), so tiling changes nothing. With
    the shipped weights: an untrained network's far reach is too weak to show a short overlap."""
    path = dark_dng(tmp_path, clean_photo(smooth_image, 960, 1056), CFA.BGGR)
    whole = restore.load("lowlight-raw", device="cpu", tile="off")
    tiled = restore.load("lowlight-raw", device="cpu", tile=2 * whole.overlap + 32)
    assert tiled.tile < 480  # packed 480x528: several tiles
    assert np.abs(whole(path, ratio=RATIO) - tiled(path, ratio=RATIO)).max() < 1e-4


@pytest.mark.usefixtures("untrained_weights")
@pytest.mark.parametrize(
    ("image", "options", "error", "message"),
    [
        (np.zeros((8, 8), np.uint16), {}, InvalidImageError, "takes a camera raw"),
        (torch.zeros(1, 1, 8, 8), {}, InvalidImageError, "takes a camera raw"),
        ("dark.dng", {"ratio": 0.5}, InvalidOptionError, "ratio"),
        ("dark.dng", {"ratio": "bright"}, InvalidOptionError, "ratio"),
        ("dark.dng", {"sigma": 25}, InvalidOptionError, "no option sigma"),
    ],
)
def test_bad_raw_input_raises_clear_errors(image, options, error, message) -> None:
    with pytest.raises(error, match=message):
        restore.restore(image, model="lowlight-raw", **options)


@pytest.mark.usefixtures("untrained_weights")
def test_image_file_given_to_the_raw_model_is_refused(tmp_path) -> None:
    path = tmp_path / "photo.png"
    cv2.imwrite(str(path), np.zeros((32, 32, 3), np.uint8))
    with pytest.raises(ValueError, match="LibRaw cannot read it"):
        restore.restore(path, model="lowlight-raw")


@pytest.mark.usefixtures("untrained_weights")
@pytest.mark.parametrize(("extra", "dtype"), [([], np.uint16), (["--bit-depth", "8"], np.uint8)])
def test_cli_renders_a_folder_of_raws(tmp_path, smooth_image, capsys, extra: list[str], dtype) -> None:
    raws = tmp_path / "raws"
    raws.mkdir()
    for index, cfa in enumerate((CFA.RGGB, CFA.GBRG)):
        dark_dng(raws, clean_photo(smooth_image), cfa, seed=index)
    (raws / "notes.txt").write_text("not a raw")
    (raws / "broken.dng").write_bytes(b"II*\x00 not really a dng")
    out = tmp_path / "out"
    code = cli_main(["run", "lowlight-raw", str(raws), "-o", str(out), "--ratio", "100", *extra])
    assert code == 1  # the broken DNG is reported; the others are rendered
    assert "broken.dng" in capsys.readouterr().err
    written = sorted(p.name for p in out.iterdir())
    assert written == ["dark-GBRG-1.png", "dark-RGGB-0.png"]
    image = cv2.imread(str(out / written[0]), cv2.IMREAD_UNCHANGED)
    assert image.dtype == dtype and image.shape == (48, 64, 3)
