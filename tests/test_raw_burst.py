"""Raw Bayer bursts: their synthesis (packed RGGB planes, noise that matches the model), the 4-plane KPN, and
``kpn-burst-raw`` through the API and the command line (mosaics of every CFA, DNG files in and out)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

import restore
from pipelines.burst_data import BurstSpec, synthesize_bursts
from restore.cli import main as cli_main
from restore.errors import InvalidImageError, InvalidOptionError
from restore.io import CFA, read_raw, write_dng
from restore.models.kpn import KPN, widen_to_planes

SPEC = BurstSpec(frames=4, size=16, downsample=2, max_shift=1.0, outlier_shift=3.0, bayer=True)
POSITIONS = ((0, 0), (0, 1), (1, 0), (1, 1))


def test_raw_bursts_are_packed_planes_of_an_unprocessed_photo() -> None:
    crops = torch.full((3, 3, SPEC.crop, SPEC.crop), 0.5)  # flat gray
    tiny = torch.full((3,), 1e-7)
    burst = synthesize_bursts(crops, SPEC, torch.Generator().manual_seed(0), read=tiny, shot=tiny)
    assert burst.noisy.shape == (3, 4, 4, 16, 16) and burst.clean.shape == (3, 4, 16, 16)
    assert burst.noise_level.shape == (3, 4, 16, 16)
    planes = burst.clean.mean(dim=(-2, -1))  # (3, 4): R, G, G, B
    assert torch.allclose(burst.clean, planes[..., None, None], atol=1e-5)  # a flat photo gives flat planes
    assert torch.allclose(planes[:, 1], planes[:, 2])
    assert (planes[:, 0] < planes[:, 1]).all() and (planes[:, 3] < planes[:, 1]).all()  # white balance undone


def test_raw_noise_matches_the_model_in_every_plane() -> None:
    spec = BurstSpec(size=32, downsample=1, max_shift=0, outlier_probability=0, white_level=(1, 1), bayer=True)
    read, shot = 0.01, 0.05
    crops = torch.full((4, 3, spec.crop, spec.crop), 0.7)
    burst = synthesize_bursts(
        crops, spec, torch.Generator().manual_seed(1), torch.full((4,), read), torch.full((4,), shot)
    )
    levels = burst.clean.mean(dim=(-2, -1), keepdim=True)  # (B, 4, 1, 1)
    residual = burst.noisy - levels[:, None]
    for plane in range(4):
        expected = (read**2 + shot**2 * levels[:, plane]).mean().item()
        assert residual[:, :, plane].var().item() == pytest.approx(expected, rel=0.05)


def test_four_plane_kpn_starts_as_the_gray_network_on_the_plane_mean() -> None:
    torch.manual_seed(0)
    gray = KPN(frames=4, kernel_size=3, widths=(8, 16)).eval()
    raw = KPN(frames=4, kernel_size=3, widths=(8, 16), planes=4).eval()
    raw.load_state_dict(widen_to_planes(gray.state_dict(), frames=4, planes=4))
    frames, noise = torch.rand(2, 4, 4, 16, 16), torch.rand(2, 4, 16, 16)
    with torch.no_grad():
        expected, _ = gray(frames, noise.mean(dim=1, keepdim=True))
        merged, per_frame = raw(frames, noise)
    assert merged.shape == (2, 4, 16, 16) and per_frame.shape == (2, 4, 4, 16, 16)
    assert torch.allclose(merged, expected, atol=1e-5)
    wide = raw.state_dict()
    assert widen_to_planes(wide, frames=4, planes=4) is wide  # already wide: unchanged
    with pytest.raises(ValueError, match="planes"):
        raw(torch.rand(1, 4, 3, 16, 16), torch.rand(1, 4, 16, 16))


def flat_color_burst(cfa: CFA, frames: int = 3, height: int = 33, width: int = 46) -> tuple[np.ndarray, np.ndarray]:
    """A burst of mosaics (N, H, W) whose R, G and B pixels hold 0.8, 0.5 and 0.2, with mild noise; and the clean one."""
    clean = np.empty((height, width), np.float32)
    for (row, col), color in zip(POSITIONS, cfa.value):
        clean[row::2, col::2] = {"R": 0.8, "G": 0.5, "B": 0.2}[color]
    noise = np.random.default_rng(0).normal(0.0, 0.02, (frames, height, width)).astype(np.float32)
    return clean + noise, clean


@pytest.mark.parametrize("cfa", list(CFA))
def test_every_cfa_keeps_its_colors_and_size(untrained_weights, cfa) -> None:
    noisy, clean = flat_color_burst(cfa)
    out = restore.restore(noisy, model="kpn-burst-raw", noise=(0.02, 0.0), cfa=cfa.value.lower(), align=False)
    assert out.shape == clean.shape and out.dtype == np.float32
    assert np.abs(out - clean).mean() < 0.6 * np.abs(noisy[0] - clean).mean()  # colors kept, noise lowered


def test_integer_mosaics_come_back_in_their_dtype(untrained_weights) -> None:
    noisy, _ = flat_color_burst(CFA.RGGB, frames=5)
    frames = [np.round(np.clip(frame, 0, 1) * 65535).astype(np.uint16) for frame in noisy]
    out = restore.restore(frames, model="kpn-burst-raw")  # a list of frames, noise estimated
    assert out.dtype == np.uint16 and out.shape == frames[0].shape


def write_dng_burst(folder, frames: np.ndarray, cfa: str = "GRBG") -> list:
    """Write mosaics (N, H, W) on [0, 1] as DNGs over a black level per 2x2 position, white 4095; returns their
    paths."""
    folder.mkdir(parents=True, exist_ok=True)
    blacks = (60, 64, 66, 62)
    black = np.tile(np.reshape(blacks, (2, 2)), (frames.shape[1] // 2, frames.shape[2] // 2))
    paths = []
    for index, frame in enumerate(frames):
        values = np.round(np.clip(frame, 0.0, 1.0) * (4095 - black) + black).astype(np.uint16)
        paths.append(folder / f"frame{index}.dng")
        write_dng(paths[-1], values, cfa, black_level=blacks, white_level=4095, wb_gains=(2.0, 1.0, 1.5))
    return paths


def test_raw_files_give_a_float_mosaic_and_their_cfa_is_checked(untrained_weights, tmp_path) -> None:
    noisy, clean = flat_color_burst(CFA.GRBG, height=32, width=40)
    paths = write_dng_burst(tmp_path, noisy)
    out = restore.restore(paths, model="kpn-burst-raw", noise=(0.02, 0.0))
    assert out.shape == clean.shape and out.dtype == np.float32
    assert np.abs(out - clean).mean() < 0.6 * np.abs(read_raw(paths[0]).mosaic - clean).mean()
    with pytest.raises(InvalidImageError, match="GRBG"):
        restore.restore(paths, model="kpn-burst-raw", cfa="RGGB")


def test_bad_raw_bursts_get_clear_errors(untrained_weights) -> None:
    noisy, _ = flat_color_burst(CFA.RGGB)
    with pytest.raises(InvalidImageError, match="Bayer mosaics"):
        restore.restore(np.repeat(noisy[..., None], 3, axis=3), model="kpn-burst-raw")
    with pytest.raises(InvalidImageError, match="2 to 16 frames"):
        restore.restore(noisy[:1], model="kpn-burst-raw")
    with pytest.raises(InvalidOptionError, match="cfa must be one of"):
        restore.restore(noisy, model="kpn-burst-raw", cfa="RGBG")
    with pytest.raises(
        InvalidImageError, match="of 4x20 packed Bayer planes hold too few pixels to estimate the noise"
    ):
        restore.restore(noisy[:, :8, :40], model="kpn-burst-raw")  # packed planes of 4x20


def test_cli_turns_a_folder_of_raws_into_one_denoised_dng(untrained_weights, tmp_path) -> None:
    noisy, clean = flat_color_burst(CFA.GRBG, frames=4, height=32, width=40)
    write_dng_burst(tmp_path / "burst", noisy)
    (tmp_path / "burst" / "notes.txt").write_text("not a frame")
    assert cli_main(["run", "kpn-burst-raw", str(tmp_path / "burst"), "-o", str(tmp_path / "out")]) == 0
    result, reference = read_raw(tmp_path / "out" / "burst.dng"), read_raw(tmp_path / "burst" / "frame0.dng")
    assert result.cfa == CFA.GRBG and result.black_level == reference.black_level
    assert result.white_level == reference.white_level and np.allclose(result.wb_gains, reference.wb_gains, atol=1e-5)
    assert np.allclose(result.color_matrix, reference.color_matrix, atol=1e-4)
    assert np.abs(result.mosaic - clean).mean() < 0.6 * np.abs(reference.mosaic - clean).mean()


def test_cli_names_the_burst_model_for_the_kind_of_files_found(tmp_path, capsys) -> None:
    noisy, _ = flat_color_burst(CFA.RGGB, frames=2, height=32, width=40)
    write_dng_burst(tmp_path / "raws", noisy)
    assert cli_main(["run", "kpn-burst", str(tmp_path / "raws"), "-o", str(tmp_path / "out")]) == 2
    assert "use kpn-burst-raw" in capsys.readouterr().err
    (tmp_path / "images").mkdir()
    cv2.imwrite(str(tmp_path / "images" / "frame0.png"), np.zeros((8, 8), np.uint8))
    assert cli_main(["run", "kpn-burst-raw", str(tmp_path / "images"), "-o", str(tmp_path / "out")]) == 2
    assert "use kpn-burst or a burst-* baseline" in capsys.readouterr().err


def test_the_reference_option_restores_that_raw_frame(untrained_weights, tmp_path) -> None:
    noisy, _ = flat_color_burst(CFA.RGGB, frames=3, height=32, width=40)
    chosen = restore.restore(noisy, model="kpn-burst-raw", noise=(0.02, 0.0), reference=1)
    assert np.array_equal(chosen, restore.restore(noisy[[1, 0, 2]], model="kpn-burst-raw", noise=(0.02, 0.0)))
    assert not np.array_equal(chosen, restore.restore(noisy, model="kpn-burst-raw", noise=(0.02, 0.0)))
    paths = write_dng_burst(tmp_path / "burst", noisy)
    out = tmp_path / "out"
    assert cli_main(["run", "kpn-burst-raw", str(tmp_path / "burst"), "-o", str(out), "--reference", "1"]) == 0
    from_files = restore.restore([paths[1], paths[0], paths[2]], model="kpn-burst-raw")
    assert np.allclose(read_raw(out / "burst.dng").mosaic, from_files, atol=1 / 4000)
