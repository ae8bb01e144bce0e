"""Classical burst baselines: each one beats the noisy reference frame; alignment beats plain averaging on a
shifted burst."""

from __future__ import annotations

import inspect
import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from restore.baselines_burst import (
    align_and_average,
    align_frames,
    aligned_bm4d,
    average,
    bm4d_profile,
    hdrplus_merge,
    reference_bm3d,
)

READ, SHOT = 0.01, 0.05


def scene(height: int = 64, width: int = 80) -> np.ndarray:
    yy, xx = np.mgrid[0:height, 0:width]
    return 0.3 + 0.2 * np.sin(xx / 5.0) * np.cos(yy / 7.0) + 0.2 * ((xx // 16 + yy // 16) % 2)


def burst_of(clean: np.ndarray, shifts: list[tuple[int, int]], seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    frames = np.stack([np.roll(clean, shift, axis=(0, 1)) for shift in shifts])
    return frames + rng.normal(size=frames.shape) * np.sqrt(READ**2 + SHOT**2 * frames)


def error(estimate: np.ndarray, clean: np.ndarray) -> float:
    return float(np.sqrt(np.mean((estimate[8:-8, 8:-8] - clean[8:-8, 8:-8]) ** 2)))


STATIC = [(0, 0)] * 8
SHIFTED = [(0, 0), (1, 2), (-2, 1), (2, -1), (0, -2), (-1, -1), (2, 2), (1, 0)]
EVERY_BASELINE = [
    average,
    align_and_average,
    lambda burst: hdrplus_merge(burst, READ, SHOT),
    lambda burst: reference_bm3d(burst, READ, SHOT),
    lambda burst: aligned_bm4d(burst, READ, SHOT),
]


@pytest.mark.parametrize("method", EVERY_BASELINE)
def test_every_baseline_beats_the_reference_frame(method) -> None:
    clean = scene()
    burst = burst_of(clean, STATIC)
    assert error(method(burst), clean) < 0.6 * error(burst[0], clean)


@pytest.mark.parametrize("method", EVERY_BASELINE)
def test_a_gray_burst_with_a_channel_axis_merges_as_without_it(method) -> None:
    burst = burst_of(scene(), SHIFTED)
    with_axis = method(burst[..., None])
    assert with_axis.shape == (*burst.shape[1:], 1)
    np.testing.assert_array_equal(with_axis[..., 0], method(burst))


def test_the_channels_of_a_frame_move_together() -> None:
    """A channel with no texture of its own (pure noise here) is moved by the translation the frame's other channels
    show, not by one read from its own noise: its residual after moving back by the true shift is a fraction of the
    noise (about 0.06 here, more than the noise, when every channel was aligned on its own)."""
    import cv2

    texture = cv2.GaussianBlur(np.random.default_rng(3).random((96, 96)), (0, 0), 2.0)
    clean = 0.2 + 0.6 * (texture - texture.min()) / np.ptp(texture)
    textured = np.stack([np.roll(clean, shift, axis=(0, 1)) for shift in SHIFTED])
    noise = np.random.default_rng(2).normal(size=textured.shape) * 0.05
    burst = np.stack([textured, 0.5 * textured, noise], axis=-1)
    aligned = align_frames(burst)
    for frame, (dy, dx) in enumerate(SHIFTED):
        residual = (aligned[frame] - np.roll(burst[frame], (-dy, -dx), axis=(0, 1)))[8:-8, 8:-8]
        assert np.sqrt(np.mean(residual[..., 2] ** 2)) < 0.5 * 0.05, frame
        assert np.abs(residual[..., :2]).max() < 0.03, frame


@pytest.mark.parametrize("frames", [2, 3, 4])
def test_bm4d_denoises_bursts_shorter_than_its_blocks(frames) -> None:
    # BM4D's default blocks are 4 and 5 frames deep: bursts of 2 to 4 frames raised "Image cannot be smaller than
    # block size!" from the bm4d package
    clean = scene()
    burst = burst_of(clean, STATIC[:frames])
    assert error(aligned_bm4d(burst, READ, SHOT), clean) < 0.6 * error(burst[0], clean)


def test_bm4d_keeps_its_default_profile_from_five_frames() -> None:
    import bm4d

    default = bm4d.BM4DProfile()
    for frames in (5, 8, 16):
        profile = bm4d_profile(frames)
        assert (profile.bs_ht, profile.bs_wiener) == (default.bs_ht, default.bs_wiener)
        assert (profile.step_ht, profile.step_wiener) == (default.step_ht, default.step_wiener)


@pytest.mark.parametrize("method", [reference_bm3d, aligned_bm4d])
def test_stabilizing_the_noise_beats_one_level_where_it_is_mostly_shot_noise(method) -> None:
    # a dark half and a bright half: one noise level over-smooths the one and under-smooths the other
    read, shot = 0.002, 0.1
    clean = scene() * np.where(np.arange(80) < 40, 0.05, 1.0)[None, :]
    rng = np.random.default_rng(0)
    frames = np.stack([clean] * 8)
    burst = frames + rng.normal(size=frames.shape) * np.sqrt(read**2 + shot**2 * frames)
    stabilized = error(method(burst, read, shot), clean)
    assert stabilized < 0.8 * error(method(burst, read, shot, stabilize=False), clean)


@pytest.mark.parametrize("method", [reference_bm3d, aligned_bm4d, hdrplus_merge])
def test_the_callers_burst_is_left_as_it_was(method) -> None:
    burst = burst_of(scene(), SHIFTED)
    before = burst.copy()
    method(burst, READ, SHOT)
    np.testing.assert_array_equal(burst, before)


def test_the_baselines_defaults_are_the_committed_tuning() -> None:
    """``python -m benchmarks.burst_tuning`` chose them; a changed protocol must be rerun and committed."""
    result = Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "burst-tuning.json"
    chosen = json.loads(result.read_text())["chosen"]
    for name, method in (
        ("burst-bm3d", reference_bm3d),
        ("burst-bm4d", aligned_bm4d),
        ("burst-hdrplus", hdrplus_merge),
    ):
        defaults = inspect.signature(method).parameters
        assert chosen[name] == {key: defaults[key].default for key in chosen[name]}


def test_burst_bm3ds_color_default_is_the_committed_tuning() -> None:
    """``python -m benchmarks.burst_color_tuning`` chose it."""
    result = Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "burst-color-tuning.json"
    chosen = json.loads(result.read_text())["chosen"]
    defaults = inspect.signature(reference_bm3d).parameters
    assert chosen == {key: defaults[key].default for key in chosen}


def test_an_rgb_reference_gets_color_bm3d() -> None:
    rng = np.random.default_rng(7)
    clean = np.stack([scene(), 0.8 * scene() + 0.1, 0.5 * scene() + 0.2], axis=-1)
    noisy = clean + rng.normal(size=(2, *clean.shape)) * np.sqrt(READ**2 + SHOT**2 * clean)
    color = reference_bm3d(noisy, READ, SHOT)
    assert color.shape == clean.shape
    assert error(color, clean) < 0.6 * error(noisy[0], clean)
    with pytest.raises(ValueError, match="cbm3d"):
        reference_bm3d(noisy, READ, SHOT, color="ycbcr")


def test_the_noise_estimators_default_is_the_committed_tuning() -> None:
    """``python -m benchmarks.burst_noise_tuning`` chose it."""
    from restore.ops.burst_noise import estimate_burst_noise

    result = Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "burst-noise-tuning.json"
    chosen = json.loads(result.read_text())["chosen"]
    defaults = inspect.signature(estimate_burst_noise).parameters
    assert chosen == {key: defaults[key].default for key in chosen}


@pytest.mark.parametrize("shot", [0.0, 1e-6])
def test_without_shot_noise_worth_the_name_there_is_nothing_to_stabilize(shot: float) -> None:
    # a shot noise of 1e-6 made the transform all offset, and BM3D's float32 turned the estimate to garbage
    clean = scene()
    burst = clean + np.random.default_rng(1).normal(size=(8, *clean.shape)) * 0.03
    estimate = reference_bm3d(burst, 0.03, shot)
    np.testing.assert_array_equal(estimate, reference_bm3d(burst, 0.03, shot, stabilize=False))
    assert error(estimate, clean) < 0.6 * error(burst[0], clean)


def test_alignment_beats_plain_averaging_on_a_shifted_burst() -> None:
    clean = scene()
    burst = burst_of(clean, SHIFTED)
    plain = error(average(burst), clean)
    assert error(align_and_average(burst), clean) < 0.5 * plain
    assert error(hdrplus_merge(burst, READ, SHOT), clean) < 0.5 * plain
    assert error(aligned_bm4d(burst, READ, SHOT), clean) < 0.5 * plain


def test_a_noise_free_burst_merges_to_itself() -> None:
    # at noise (0, 0) the HDR+ merge rule divided 0 by 0 wherever tiles agreed: the whole result was NaN
    clean = scene()
    static = np.stack([clean] * 4)
    assert np.allclose(hdrplus_merge(static, 0.0, 0.0), clean)
    flat = np.full((4, 32, 32), 0.3)
    for method in (average, align_and_average, lambda burst: hdrplus_merge(burst, 0.0, 0.0)):
        assert np.allclose(method(flat), 0.3)


def test_burst_models_take_arrays_and_lists_in_any_dtype() -> None:
    import restore

    clean = scene()
    burst = burst_of(clean, STATIC)
    out = restore.restore(burst.astype(np.float32), model="burst-average", noise=(READ, SHOT))
    assert out.shape == clean.shape and out.dtype == np.float32
    frames = [np.round(np.clip(f, 0, 1) * 65535).astype(np.uint16) for f in burst]
    out16 = restore.restore(frames, model="burst-hdrplus")  # noise="auto"
    assert out16.dtype == np.uint16 and out16.shape == clean.shape
    assert error(out16 / 65535.0, clean) < 0.6 * error(burst[0], clean)
    color = np.stack([burst] * 3, axis=-1)
    assert restore.restore(color, model="burst-align").shape == (*clean.shape, 3)


@pytest.mark.parametrize(
    ("burst", "options", "message"),
    [
        (np.zeros((1, 16, 16)), {}, "2 to 16 frames"),
        (np.zeros((17, 16, 16)), {}, "2 to 16 frames"),
        ([np.zeros((16, 16)), np.zeros((16, 17))], {}, "same shape"),
        (np.zeros((4, 16, 16), np.int32), {}, "unsupported dtype"),
        (np.full((4, 16, 16), np.nan), {}, "NaN"),
        (np.zeros((4, 16, 16)), {"noise": (0.01,)}, "read, shot"),
        (np.zeros((4, 16, 16)), {"noise": (-1, 0.1)}, "non-negative"),
    ],
)
def test_bad_bursts_raise_clear_errors(burst, options, message) -> None:
    import restore

    with pytest.raises(ValueError, match=message):
        restore.restore(burst, model="burst-average", **options)


@pytest.mark.parametrize("channels", [2, 4], ids=["gray+alpha", "RGBA"])
def test_the_references_alpha_comes_back_untouched_and_is_not_merged(channels) -> None:
    import restore

    burst = (np.random.default_rng(0).random((4, 24, 24, channels)) * 255).astype(np.uint8)
    out = restore.restore(burst, model="burst-average", noise=(0.01, 0.0))
    assert out.shape == burst.shape[1:] and out.dtype == np.uint8
    assert np.array_equal(out[..., -1], burst[0, ..., -1])
    color = restore.restore(np.ascontiguousarray(burst[..., :-1]), model="burst-average", noise=(0.01, 0.0))
    assert np.array_equal(out[..., :-1], color.reshape(out[..., :-1].shape))


@pytest.mark.parametrize("as_list", [False, True], ids=["array", "list"])
def test_reference_picks_the_frame_restored(as_list) -> None:
    import restore

    burst = burst_of(scene(), SHIFTED)
    order = [2, 0, 1, *range(3, len(burst))]
    given = list(burst) if as_list else burst
    chosen = restore.restore(given, model="burst-bm3d", noise=(READ, SHOT), reference=2)
    assert np.array_equal(chosen, restore.restore(burst[order], model="burst-bm3d", noise=(READ, SHOT)))
    assert not np.allclose(chosen, restore.restore(given, model="burst-bm3d", noise=(READ, SHOT)))


@pytest.mark.parametrize(("reference", "message"), [(8, "has 8 frames"), (-1, ">= 0"), (True, ">= 0"), (1.0, ">= 0")])
def test_a_reference_that_is_not_a_frame_is_refused(reference, message) -> None:
    import restore

    with pytest.raises(ValueError, match=message):
        restore.restore(np.zeros((8, 16, 16)), model="burst-average", noise=(0.01, 0.0), reference=reference)


def test_a_reference_on_mismatched_frames_still_gets_the_burst_error() -> None:
    import restore

    frames = [np.zeros((16, 16)), np.zeros((16, 17)), np.zeros((16, 16))]
    with pytest.raises(ValueError, match="same shape"):
        restore.restore(frames, model="burst-average", reference=1)


def test_frames_of_five_channels_are_refused() -> None:
    import restore

    with pytest.raises(ValueError, match="5 channels"):
        restore.restore(np.zeros((3, 16, 16, 5), np.float32), model="burst-average")


def test_a_burst_too_small_to_read_its_noise_from_asks_for_it() -> None:
    import restore

    burst = np.random.default_rng(0).normal(0.5, 0.02, (8, 12, 12))
    with pytest.raises(ValueError, match=r"8 frames of 12x12 pixels hold too few .*; give noise=\(read, shot\)"):
        restore.restore(burst, model="burst-bm3d")
    assert restore.restore(burst, model="burst-bm3d", noise=(0.02, 0.0)).shape == (12, 12)
    from restore.ops.burst_noise import estimate_burst_noise

    with pytest.raises(ValueError, match="too few"):  # not "clipped": a lone minimum is no clipping level
        estimate_burst_noise(burst[:2, :5, :5])


@pytest.mark.parametrize(("read", "shot"), [(0.03, 0.1), (0.01, 0.05), (0.002, 0.02)])
def test_noise_is_estimated_from_the_burst(read: float, shot: float) -> None:
    from restore.ops.burst_noise import estimate_burst_noise

    rng = np.random.default_rng(3)
    clean = scene(128, 128)
    burst = np.stack([clean] * 6) + rng.normal(size=(6, 128, 128)) * np.sqrt(read**2 + shot**2 * clean)
    estimate = np.sqrt(np.array(estimate_burst_noise(burst)) ** 2 @ [1, clean.mean()])
    assert estimate == pytest.approx(np.sqrt(read**2 + shot**2 * clean.mean()), rel=0.1)


def fine_texture(height: int, width: int, seed: int = 4, blur: float = 0.7) -> np.ndarray:
    """A finely textured scene on [0.1, 0.7]: white noise blurred by ``blur`` pixels, which a single frame cannot
    tell from noise."""
    import cv2

    texture = cv2.GaussianBlur(np.random.default_rng(seed).random((height, width)), (0, 0), blur)
    return 0.1 + 0.6 * (texture - texture.min()) / np.ptp(texture)


def test_crushed_blacks_do_not_hide_the_read_noise() -> None:
    """A clipped region has no noise: read as a noise-free dark bin, it pulled the fitted read noise to 0. A ramp
    from black to 0.9, so that the dark pixels tell the read noise from the shot noise."""
    from restore.ops.burst_noise import estimate_burst_noise

    read, shot = 0.02, 0.05
    clean = np.repeat(np.linspace(0.0, 0.9, 48)[:, None], 48, axis=1)
    clean[:, :8] = -0.2  # below black: clipped to 0
    frames = np.stack([clean] * 8)
    for seed in range(3):
        noisy = frames + np.random.default_rng(seed).normal(size=frames.shape) * np.sqrt(
            read**2 + shot**2 * np.clip(frames, 0, None)
        )
        (read_read, shot_read), level = estimate_burst_noise(np.clip(noisy, 0, None)), 0.4
        assert read_read > 0.5 * read, seed  # it read 0 before clipped pixels were left out
        assert np.hypot(read_read, shot_read * level**0.5) == pytest.approx(np.hypot(read, shot * level**0.5), rel=0.25)


def test_a_burst_clipped_everywhere_asks_for_its_noise() -> None:
    import restore
    from restore.errors import InvalidImageError

    with pytest.raises(InvalidImageError, match="clipped nearly everywhere"):
        restore.restore(np.zeros((8, 32, 32), np.uint8), model="burst-hdrplus")  # burst-average needs no noise


@pytest.mark.parametrize("channels", [None, 4])
def test_a_textured_low_noise_burst_reads_as_low_noise(channels) -> None:
    """Frames of the same scene differ by their noise alone: the temporal reading sees through the texture."""
    from restore.ops.burst_noise import estimate_burst_noise

    read, shot, rng = 0.002, 0.01, np.random.default_rng(5)
    shape = (96, 96) if channels is None else (96, 96, channels)
    clean = np.stack([fine_texture(96, 96, seed) for seed in range(channels or 1)], axis=-1).reshape(shape)
    burst = np.stack([clean] * 8) + rng.normal(size=(8, *shape)) * np.sqrt(read**2 + shot**2 * clean)
    before = burst.copy()
    estimate = np.sqrt(np.array(estimate_burst_noise(burst)) ** 2 @ [1, clean.mean()])
    assert estimate == pytest.approx(np.sqrt(read**2 + shot**2 * clean.mean()), rel=0.15)
    assert np.array_equal(burst, before), "the burst is read, not changed"


def test_noise_of_a_shifted_textured_burst_is_read_within_a_quarter() -> None:
    """Synthetic handheld bursts (sub-pixel shifts, an outlier frame now and then) of a texture of about one output
    pixel (3 px before the 4x downsampling), at the lowest and highest noise of the training range."""
    import torch

    from pipelines.burst_data import BurstSpec, synthesize_bursts
    from restore.ops.burst_noise import estimate_burst_noise

    spec = BurstSpec(size=96, white_level=(1.0, 1.0))
    crop = torch.from_numpy(fine_texture(spec.crop, spec.crop, blur=3.0)).float()[None, None]
    for (read, shot), seed in itertools.product([(0.001, 0.01), (0.03, 0.1)], range(4)):
        burst = synthesize_bursts(
            crop, spec, torch.Generator().manual_seed(seed), torch.tensor([read]), torch.tensor([shot])
        )
        noisy, level = burst.noisy[0, :, 0].numpy(), float(burst.clean.mean())
        estimate = np.sqrt(np.array(estimate_burst_noise(noisy)) ** 2 @ [1, level])
        assert estimate == pytest.approx(np.sqrt(read**2 + shot**2 * level), rel=0.25), (read, shot, seed)


def test_two_frames_a_whole_pixel_apart_read_the_noise_through_fine_texture() -> None:
    """A burst whose every frame lies a fraction of a pixel off the reference, where some pairs of frames lie whole
    pixels apart (frames box-downsampled 4x from a texture shifted by fine pixels): the temporal reading of every pair
    finds one whose texture cancels; that of the reference with each frame reads the texture as noise."""
    from restore.ops.burst_noise import estimate_burst_noise

    side, pad, (read, shot) = 96, 8, (0.001, 0.01)
    fine = fine_texture(4 * (side + 2 * pad), 4 * (side + 2 * pad), blur=3.0)
    offsets = [(0, 0), (1, 1), (3, 3), (1, 3), (1, 5), (3, 1), (3, 7), (2, 6)]  # fine pixels; e.g. 2nd and 5th: 1 px
    clean = np.stack(
        [
            fine[4 * pad + dy :, 4 * pad + dx :][: 4 * side, : 4 * side].reshape(side, 4, side, 4).mean(axis=(1, 3))
            for dy, dx in offsets
        ]
    )
    level = float(clean[0].mean())
    true = np.sqrt(read**2 + shot**2 * level)
    for seed in range(3):
        noisy = clean + np.random.default_rng(seed).normal(size=clean.shape) * np.sqrt(read**2 + shot**2 * clean)
        every_pair, reference_pairs = (
            np.sqrt(np.array(estimate_burst_noise(noisy, all_pairs=all_pairs)) ** 2 @ [1, level])
            for all_pairs in (True, False)
        )
        assert every_pair == pytest.approx(true, rel=0.06), seed
        assert reference_pairs > 1.1 * true, seed


def test_the_noise_estimates_correction_scales_both_parameters() -> None:
    from restore.ops.burst_noise import estimate_burst_noise

    clean = np.broadcast_to(np.linspace(0.1, 0.9, 64)[None, :], (8, 64, 64))
    noisy = clean + np.random.default_rng(0).normal(size=clean.shape) * np.sqrt(0.01**2 + 0.05**2 * clean)
    plain, corrected = (np.array(estimate_burst_noise(noisy, correction=c)) for c in (1.0, 1.05))
    assert plain.min() > 0 and np.allclose(corrected, 1.05 * plain)


def test_a_classical_method_on_a_color_burst_reads_the_noise_of_each_channel() -> None:
    """Independent noise per channel: the channel mean carries a third of its variance, which would leave HDR+'s
    per-channel merge under-denoised (1.32x the error of the true noise here, read from the mean; now 1.01x)."""
    import restore

    rng = np.random.default_rng(6)
    clean = np.stack([scene(96, 96), np.roll(scene(96, 96), 9, axis=1), 0.5 * scene(96, 96)], axis=-1)
    noisy = np.stack([clean] * 8) + rng.normal(size=(8, *clean.shape)) * np.sqrt(READ**2 + SHOT**2 * clean)
    burst = noisy.astype(np.float32)
    errors = {
        noise: np.sqrt(np.mean((restore.restore(burst, model="burst-hdrplus", noise=noise) - clean)[8:-8, 8:-8] ** 2))
        for noise in ("auto", (READ, SHOT))
    }
    assert errors["auto"] <= 1.03 * errors[READ, SHOT]


def test_cli_restores_a_folder_of_frames_as_one_burst(tmp_path, capsys) -> None:
    from restore.cli import main as cli_main
    from restore.io import read_image, write_image

    clean = scene()
    burst = burst_of(clean, SHIFTED)
    folder = tmp_path / "night"
    folder.mkdir()
    for index, frame in enumerate(burst):
        write_image(folder / f"frame{index:02d}.png", np.round(np.clip(frame, 0, 1) * 65535).astype(np.uint16))
    (folder / "notes.txt").write_text("not a frame")
    out = tmp_path / "out"
    args = ["run", "burst-align", str(folder), "-o", str(out), "--noise", str(READ), str(SHOT), "--encoding", "linear"]
    assert cli_main(args) == 0
    result = read_image(out / "night.png")
    assert result.dtype == np.uint16 and result.shape == clean.shape
    assert error(result / 65535.0, clean) < 0.6 * error(burst[0], clean)
    assert cli_main(["run", "burst-align", str(folder), "-o", str(out)]) == 0  # the output exists: skipped
    assert "1 skipped" in capsys.readouterr().out


def test_cli_no_align_goes_to_the_burst_network_and_is_refused_elsewhere(tmp_path, capsys) -> None:
    from restore.cli import main as cli_main
    from restore.io import read_image, write_image

    folder = tmp_path / "night"
    folder.mkdir()
    for index, frame in enumerate(burst_of(scene(), SHIFTED)):
        write_image(folder / f"frame{index:02d}.png", np.round(np.clip(frame, 0, 1) * 65535).astype(np.uint16))
    assert cli_main(["run", "kpn-burst", str(folder), "-o", str(tmp_path / "a"), "--no-align"]) == 0
    assert read_image(tmp_path / "a" / "night.png").shape == scene().shape
    assert cli_main(["run", "burst-average", str(folder), "-o", str(tmp_path / "b"), "--no-align"]) == 2
    assert "takes no option align" in capsys.readouterr().err


def test_srgb_frames_are_merged_in_linear_light() -> None:
    import restore

    # frames alternating between black and sRGB 200: the mean light is half of 200's, which sRGB encodes as 146
    frames = np.stack([np.zeros((24, 24), np.uint8), np.full((24, 24), 200, np.uint8)] * 2)
    merged = restore.restore(frames, model="burst-average", noise=(0.01, 0.0), encoding="srgb")
    assert merged.dtype == np.uint8 and (merged == 146).all()
    assert (restore.restore(frames, model="burst-average", noise=(0.01, 0.0)) == 100).all()  # linear, the default


def test_the_command_line_takes_image_files_as_srgb_unless_told(tmp_path) -> None:
    from restore.cli import main as cli_main
    from restore.io import read_image, write_image

    folder = tmp_path / "frames"
    folder.mkdir()
    for index in range(4):
        write_image(folder / f"f{index}.png", np.full((24, 24), 200 * (index % 2), np.uint8))
    for extra, expected in (([], 146), (["--encoding", "linear"], 100)):
        out = tmp_path / f"out{len(extra)}"
        assert cli_main(["run", "burst-average", str(folder), "-o", str(out), "--noise", "0.01", "0", *extra]) == 0
        assert (read_image(out / "frames.png") == expected).all()
