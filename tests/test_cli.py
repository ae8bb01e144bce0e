"""The command line over files and folders: structure, bit depth, metadata, resume, bad files, usage errors."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from PIL import Image, ImageCms

from restore.api import Restorer, models
from restore.cli import main


def write_png(path, image: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    bgr = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    ok, data = cv2.imencode(path.suffix, bgr)
    assert ok
    path.write_bytes(data.tobytes())


def noisy_uint(shape: tuple[int, ...], dtype, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    top = np.iinfo(dtype).max
    ramp = np.linspace(0.2, 0.8, shape[1])[None, :] * np.ones(shape[:2])
    if len(shape) == 3:
        ramp = ramp[:, :, None] * np.ones(shape[2])
    return np.clip((ramp + rng.normal(0, 0.1, shape)) * top, 0, top).astype(dtype)


def digest(folder) -> dict:
    return {p.relative_to(folder): hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*") if p.is_file()}


@pytest.fixture
def photo_tree(tmp_path):
    """in/a.png (8-bit RGB), in/sub/b.png (16-bit RGB), in/sub/deeper/c.tif (16-bit gray), in/notes.txt."""
    root = tmp_path / "in"
    write_png(root / "a.png", noisy_uint((24, 40, 3), np.uint8))
    write_png(root / "sub" / "b.png", noisy_uint((20, 30, 3), np.uint16, 1))
    write_png(root / "sub" / "deeper" / "c.tif", noisy_uint((16, 18), np.uint16, 2))
    (root / "notes.txt").write_text("not an image")
    return root


def test_models_lists_learned_and_classical(untrained_weights, capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "dncnn-color" in out and "cbm3d" in out
    summaries = [line.index(info.summary) for line, info in zip(out.splitlines(), models(), strict=True)]
    assert len(set(summaries)) == 1, "the columns line up, however wide a cell"
    assert main(["models", "--json"]) == 0
    names = {m["name"] for m in json.loads(capsys.readouterr().out)}
    assert {"dncnn-color", "dncnn-gray", "bm3d", "cbm3d", "nlmeans"} <= names


def test_models_counts_the_steps_of_the_runs_the_weights_were_started_from(monkeypatch, capsys):
    from restore.registry import ModelInfo

    training = {"steps_done": 500, "steps_including_lineage": 2500, "complete": False}
    info = ModelInfo("m", "denoise", "learned", "image", (1,), "a model", card={"training": training})
    monkeypatch.setattr("restore.api.models", lambda: [info])
    assert main(["models"]) == 0
    assert "2500 steps (partial)" in capsys.readouterr().out
    training.update(config={"minutes": "7.5"}, train_seconds=450.0, sessions=[{"device": "gpu"}])
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "2500 steps" in out and "partial" not in out, "a run that used up its minutes is finished"


def test_recursive_run_keeps_structure_and_bit_depth(untrained_weights, photo_tree, tmp_path, capsys):
    before = digest(photo_tree)
    out = tmp_path / "out"
    assert main(["run", "dncnn-color", str(photo_tree), "-o", str(out), "--recursive", "--device", "cpu"]) == 0
    assert digest(photo_tree) == before, "inputs must never change"
    a = cv2.imread(str(out / "a.png"), cv2.IMREAD_UNCHANGED)
    b = cv2.imread(str(out / "sub" / "b.png"), cv2.IMREAD_UNCHANGED)
    c = cv2.imread(str(out / "sub" / "deeper" / "c.tif"), cv2.IMREAD_UNCHANGED)
    assert a.dtype == np.uint8 and a.shape == (24, 40, 3)
    assert b.dtype == np.uint16 and b.shape == (20, 30, 3)
    assert c.dtype == np.uint16 and c.shape == (16, 18)
    assert not (out / "notes.txt").exists()
    assert not [p for p in out.rglob("*") if ".tmp" in p.name], "no temporary files left behind"
    assert "3 restored" in capsys.readouterr().out


def test_without_recursive_only_top_level(untrained_weights, photo_tree, tmp_path):
    out = tmp_path / "out"
    assert main(["run", "dncnn-color", str(photo_tree), "-o", str(out), "--device", "cpu"]) == 0
    assert (out / "a.png").exists() and not (out / "sub").exists()


def test_several_input_folders_each_get_their_own_output_folder(untrained_weights, tmp_path, capsys):
    for day, seed in (("day1", 0), ("day2", 1)):  # the same file name in both folders
        write_png(tmp_path / day / "shot.png", noisy_uint((16, 16, 3), np.uint8, seed))
    write_png(tmp_path / "single.png", noisy_uint((16, 16, 3), np.uint8, 2))
    out = tmp_path / "out"
    run = ["run", "dncnn-color", str(tmp_path / "day1"), str(tmp_path / "day2"), str(tmp_path / "single.png")]
    assert main([*run, "-o", str(out), "--device", "cpu"]) == 0
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*.png")) == [
        "day1/shot.png",
        "day2/shot.png",
        "single.png",
    ]
    assert "3 restored" in capsys.readouterr().out


def test_input_folders_of_one_name_are_refused_before_any_work(untrained_weights, tmp_path, capsys):
    for year in ("2023", "2024"):
        write_png(tmp_path / year / "raw" / "shot.png", noisy_uint((16, 16, 3), np.uint8))
    out = tmp_path / "out"
    run = ["run", "dncnn-color", str(tmp_path / "2023" / "raw"), str(tmp_path / "2024" / "raw"), "-o", str(out)]
    assert main([*run, "--device", "cpu"]) == 2
    assert "would both write to" in capsys.readouterr().err and not out.exists()


def test_a_symlinked_input_folder_keeps_the_name_it_was_given(untrained_weights, tmp_path):
    write_png(tmp_path / "2024-05-01" / "shot.png", noisy_uint((16, 16, 3), np.uint8))
    write_png(tmp_path / "older" / "shot.png", noisy_uint((16, 16, 3), np.uint8, 1))
    (tmp_path / "latest").symlink_to(tmp_path / "2024-05-01", target_is_directory=True)
    out = tmp_path / "out"
    assert main(["run", "dncnn-color", str(tmp_path / "latest"), str(tmp_path / "older"), "-o", str(out)]) == 0
    assert (out / "latest" / "shot.png").exists() and (out / "older" / "shot.png").exists()


def test_bad_files_are_reported_and_the_rest_restored(untrained_weights, tmp_path, capsys):
    root = tmp_path / "in"
    write_png(root / "good.png", noisy_uint((16, 16, 3), np.uint8))
    (root / "text.png").write_text("this is not a PNG")
    write_png(root / "whole.jpg", noisy_uint((64, 64, 3), np.uint8))
    data = (root / "whole.jpg").read_bytes()
    (root / "truncated.jpg").write_bytes(data[: len(data) // 2])
    (root / "whole.jpg").unlink()
    (root / "empty.png").write_bytes(b"")
    out = tmp_path / "out"
    assert main(["run", "dncnn-color", str(root), "-o", str(out), "--device", "cpu"]) == 1
    captured = capsys.readouterr()
    assert (out / "good.png").exists()
    for name in ("text.png", "truncated.jpg", "empty.png"):
        assert name in captured.err
        assert not (out / name).exists()
    assert "1 restored" in captured.out and "3 failed" in captured.out


def test_models_named_show_their_options_weights_training_and_validation(capsys):
    assert main(["models", "dncnn-gray-25", "bm3d"]) == 0
    dncnn, bm3d = capsys.readouterr().out.split("\n\n")
    card = next(info.card for info in models() if info.name == "dncnn-gray-25")
    assert dncnn.startswith("dncnn-gray-25: DnCNN-S") and "  option sigma: " in dncnn
    assert f"dncnn-gray-25.safetensors (sha256 {card['sha256'][:16]}..." in dncnn
    assert f"  training: {card['training']['steps_including_lineage']} steps" in dncnn
    assert f"  validation: sigma25 {card['validation']['psnr']['sigma25']} (" in dncnn
    assert bm3d.splitlines()[-1] == "  classical baseline: no weights"
    assert main(["models", "--json", "bm3d"]) == 0 and [m["name"] for m in json.loads(capsys.readouterr().out)] == [
        "bm3d"
    ]
    assert main(["models", "dncnn-gray", "no-such-model"]) == 2
    assert "unknown model 'no-such-model'" in capsys.readouterr().err


def test_output_to_a_closed_pipe_ends_quietly(tmp_path):
    read_end, write_end = os.pipe()
    os.close(read_end)  # no reader, as after `restore models | head -1` has read its line
    command = [sys.executable, "-c", "import sys; from restore.cli import main; sys.exit(main(['models']))"]
    result = subprocess.run(command, stdout=write_end, stderr=subprocess.PIPE, text=True, check=False)
    os.close(write_end)
    assert result.returncode == 141 and result.stderr == ""


def test_rerun_skips_existing_outputs_unless_overwrite(untrained_weights, photo_tree, tmp_path, capsys):
    out = tmp_path / "out"
    args = ["run", "dncnn-color", str(photo_tree), "-o", str(out), "-r", "--device", "cpu"]
    assert main(args) == 0
    marker = b"keep me"
    (out / "a.png").write_bytes(marker)
    capsys.readouterr()
    assert main(args) == 0
    assert (out / "a.png").read_bytes() == marker
    assert "3 skipped" in capsys.readouterr().out
    assert main([*args, "--overwrite"]) == 0
    assert (out / "a.png").read_bytes() != marker


def test_a_dry_run_lists_what_a_run_would_write_and_writes_nothing(untrained_weights, photo_tree, tmp_path, capsys):
    out = tmp_path / "out"
    write_png(out / "a.png", noisy_uint((4, 4, 3), np.uint8))  # done by an earlier run
    before = digest(tmp_path)
    args = ["run", "dncnn-color", str(photo_tree), "-o", str(out), "-r", "--dry-run"]
    assert main(args) == 0
    assert digest(tmp_path) == before
    lines = capsys.readouterr().out.splitlines()
    assert lines[:2] == [
        f"{photo_tree / 'sub' / 'b.png'} -> {out / 'sub' / 'b.png'}",
        f"{photo_tree / 'sub' / 'deeper' / 'c.tif'} -> {out / 'sub' / 'deeper' / 'c.tif'}",
    ]
    assert lines[2].startswith("2 to restore, 1 skipped (output exists), 0 would fail, 1 ignored")
    assert main([*args, "--overwrite"]) == 0 and capsys.readouterr().out.count(" -> ") == 3
    assert main(["run", "dncnn-color", str(photo_tree), "-o", str(tmp_path / "new"), "-n"]) == 0
    assert not (tmp_path / "new").exists()  # not even the output folder is made
    assert (
        "1 to restore, 0 skipped (output exists), 0 would fail, 1 ignored (not inputs of the model), 1 subfolders"
        in (capsys.readouterr().out)
    )


def test_a_dry_run_reports_what_would_fail_and_checks_the_command(untrained_weights, tmp_path, capsys):
    image = tmp_path / "x.png"
    write_png(image, noisy_uint((16, 16, 3), np.uint8))
    assert main(["run", "dncnn-color", str(image), "-o", str(tmp_path), "--overwrite", "-n"]) == 1
    assert "FAILED" in (err := capsys.readouterr().err) and "would overwrite an input" in err
    assert main(["run", "dncnn-color", str(image), "-o", str(tmp_path / "out"), "-n", "--tile", "8"]) == 2
    assert not (tmp_path / "out").exists()


def test_a_dry_run_of_bursts_names_each_burst_by_its_first_frame(tmp_path, capsys):
    for index in range(3):
        write_png(tmp_path / "in" / "burst" / f"f{index}.png", noisy_uint((16, 20), np.uint8, index))
    assert main(["run", "burst-average", str(tmp_path / "in" / "burst"), "-o", str(tmp_path / "out"), "-n"]) == 0
    out = capsys.readouterr().out
    assert f"{tmp_path / 'in' / 'burst' / 'f0.png'} (3 frames) -> {tmp_path / 'out' / 'burst.png'}" in out
    assert "1 to restore" in out and not (tmp_path / "out").exists()


def test_output_folder_inside_input_is_refused(untrained_weights, photo_tree, capsys):
    before = digest(photo_tree)
    assert main(["run", "dncnn-color", str(photo_tree), "-o", str(photo_tree / "restored")]) == 2
    assert "inside input folder" in capsys.readouterr().err
    assert digest(photo_tree) == before


def test_per_level_model_runs_with_sigma_auto(untrained_weights, tmp_path):
    image = tmp_path / "in" / "x.png"
    write_png(image, noisy_uint((16, 20), np.uint8))
    assert main(["run", "dncnn-gray-25", str(image), "-o", str(tmp_path / "out"), "--sigma", "auto"]) == 0
    assert cv2.imread(str(tmp_path / "out" / "x.png"), cv2.IMREAD_UNCHANGED).shape == (16, 20)


def test_ensemble_option_reaches_the_model(untrained_weights, tmp_path):
    image = tmp_path / "in" / "x.png"
    write_png(image, noisy_uint((16, 20, 3), np.uint8))
    for name, extra in (("plain", []), ("ensemble", ["--ensemble"])):
        assert main(["run", "dncnn-color", str(image), "-o", str(tmp_path / name), "--sigma", "25", *extra]) == 0
    plain, ensemble = (cv2.imread(str(tmp_path / name / "x.png")) for name in ("plain", "ensemble"))
    assert plain.shape == ensemble.shape == (16, 20, 3) and not np.array_equal(plain, ensemble)


def test_sigma_that_is_neither_a_number_nor_auto_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "dncnn-gray-25", str(tmp_path), "-o", str(tmp_path / "out"), "--sigma", "lots"])
    assert exit_info.value.code == 2 and "--sigma takes a number or 'auto', not 'lots'" in capsys.readouterr().err


def test_output_that_would_replace_an_input_is_refused(untrained_weights, tmp_path, capsys):
    image = tmp_path / "x.png"
    write_png(image, noisy_uint((16, 16, 3), np.uint8))
    before = image.read_bytes()
    assert main(["run", "dncnn-color", str(image), "-o", str(tmp_path), "--overwrite", "--device", "cpu"]) == 1
    assert image.read_bytes() == before
    assert "overwrite an input" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "no-such-model", "IN", "-o", "OUT"], "unknown model"),
        (["run", "dncnn-color", "IN", "-o", "OUT", "--sigma", "-3"], "sigma"),
        (["run", "dncnn-color", "MISSING", "-o", "OUT"], "does not exist"),
        (["run", "deblur-wiener", "IN", "-o", "OUT"], "non-blind"),
        (["run", "deblur-wiener", "IN", "-o", "OUT", "--kernel", "MISSING"], "cannot read the kernel"),
        (["run", "dncnn-color", "IN", "-o", "OUT", "--balance", "0.1"], "balance"),
        (["run", "cbm3d", "IN", "-o", "OUT", "--ensemble"], "ensemble"),
        (["run", "dncnn-gray", "IN", "-o", "OUT", "--sigma", "200"], "must lie in [0, 55]"),
        (["run", "dncnn-color", "IN", "-o", "IN/a.png"], "is a file, not a folder"),
        (["demo", "-o", "OUT", "--sigma", "-5"], "sigma"),
        (["run", "dncnn-color", "IN", "-o", "OUT", "--bit-depth", "8"], "--bit-depth sets the bits of raw renderings"),
        (["demo", "-o", "OUT", "--model", "kpn-burst"], "takes a denoiser"),
        (["demo", "-o", "OUT", "--compare", "lowlight-raw"], "--compare takes a denoiser"),
        (["run", "invisp", "IN", "-o", "OUT", "--inverse", "--format", "png"], "--inverse writes DNG files"),
        (["run", "burst-average", "IN/a.png", "IN/a.png", "-o", "OUT", "--reference", "2"], "a burst of 2 frames"),
        (["run", "dncnn-color", "IN", "-o", "OUT", "--encoding", "linear"], "takes no option encoding"),
    ],
)
def test_usage_errors_exit_2_with_one_line(untrained_weights, photo_tree, tmp_path, capsys, args, message):
    places = {"IN": str(photo_tree), "OUT": str(tmp_path / "out"), "MISSING": str(tmp_path / "MISSING")}
    args = [places.get(a, a.replace("IN/", f"{photo_tree}/")) for a in args]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())  # told before any output


def test_an_unexpected_error_on_one_file_is_reported_and_the_run_goes_on(
    untrained_weights, tmp_path, monkeypatch, capsys
):
    import restore.api

    root = tmp_path / "in"
    for name in ("a.png", "b.png", "c.png"):
        write_png(root / name, noisy_uint((16, 16, 3), np.uint8))
    call = restore.api.Restorer.__call__

    def out_of_memory_on_b(self, image, **options):
        if image.shape == (16, 16, 3) and image[0, 0, 0] == 255:
            raise RuntimeError("DefaultCPUAllocator: can't allocate memory")
        return call(self, image, **options)

    image = cv2.imread(str(root / "b.png"))
    image[0, 0] = 255
    cv2.imwrite(str(root / "b.png"), image)
    monkeypatch.setattr(restore.api.Restorer, "__call__", out_of_memory_on_b)
    out = tmp_path / "out"
    assert main(["run", "dncnn-color", str(root), "-o", str(out), "--device", "cpu"]) == 1
    captured = capsys.readouterr()
    assert (out / "a.png").exists() and (out / "c.png").exists() and not (out / "b.png").exists()
    assert "RuntimeError: DefaultCPUAllocator" in captured.err and "2 restored" in captured.out


def test_a_burst_output_never_replaces_a_frame_or_another_burst(tmp_path, capsys):
    frames = [noisy_uint((32, 32), np.uint8, seed) for seed in range(3)]
    folder = tmp_path / "x"
    for index, frame in enumerate(frames):
        write_png(folder / f"f{index}.png", frame)
    write_png(folder / "f0-burst.png", frames[0])  # what the files given by name would be written to
    before = digest(folder)
    named = [str(folder / f"f{index}.png") for index in range(3)] + [str(folder / "f0-burst.png")]
    assert main(["run", "burst-average", *named, "-o", str(folder), "--overwrite"]) == 1
    assert digest(folder) == before and "overwrite an input" in capsys.readouterr().err
    for parent, level in (("a", 60), ("b", 200)):  # two folders named alike give one output name
        for index in range(3):
            write_png(tmp_path / parent / "ok" / f"f{index}.png", np.full((32, 32), level, np.uint8))
    out = tmp_path / "out"
    bursts = [str(tmp_path / parent / "ok") for parent in ("a", "b")]
    assert main(["run", "burst-average", *bursts, "-o", str(out), "--overwrite", "--noise", "0.01", "0"]) == 1
    captured = capsys.readouterr()
    assert "1 restored" in captured.out and "already written by another input" in captured.err
    assert (cv2.imread(str(out / "ok.png"), cv2.IMREAD_UNCHANGED) == 60).all()  # the first burst's, not the second's


def test_raw_file_given_to_an_image_model_fails_clearly(untrained_weights, tmp_path, capsys):
    fake_raw = tmp_path / "shot.dng"
    fake_raw.write_bytes(b"II*\x00not really a dng")
    assert main(["run", "dncnn-color", str(fake_raw), "-o", str(tmp_path / "out"), "--device", "cpu"]) == 1
    assert "raw" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("model", "name", "options", "message"),
    [
        ("invisp", "shot.dng", ["--inverse"], "--inverse takes sRGB images, not camera raws"),
        ("lowlight-raw", "photo.png", [], "not a camera raw file, but lowlight-raw takes raw input"),
        ("dncnn-color", "notes.txt", [], "unsupported file type '.txt'"),
    ],
)
def test_a_file_named_for_the_wrong_kind_of_model_fails_clearly(
    untrained_weights, tmp_path, capsys, model, name, options, message
):
    source = tmp_path / name
    source.write_bytes(b"whatever it holds, its kind is told by its suffix")
    assert main(["run", model, str(source), "-o", str(tmp_path / "out"), "--device", "cpu", *options]) == 1
    assert message in capsys.readouterr().err
    assert not any((tmp_path / "out").iterdir())


def test_exif_orientation_and_icc_profile_are_kept(untrained_weights, tmp_path):
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    exif = Image.Exif()
    exif[274] = 6
    source = tmp_path / "in" / "portrait.jpg"
    source.parent.mkdir()
    Image.fromarray(noisy_uint((24, 32, 3), np.uint8)).save(source, quality=95, exif=exif.tobytes(), icc_profile=icc)
    out = tmp_path / "out"
    assert main(["run", "dncnn-color", str(source.parent), "-o", str(out), "--device", "cpu"]) == 0
    with Image.open(out / "portrait.jpg") as result:
        assert result.info.get("icc_profile") == icc
        assert result.getexif().get(274) == 6
        assert result.size == (32, 24)


def test_a_damaged_exif_block_is_one_warning_line_naming_the_file(untrained_weights, tmp_path, capsys):
    source = tmp_path / "in" / "damaged.jpg"
    source.parent.mkdir()
    damaged = b"Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08\x00\x05" + b"\xff" * 20  # 5 tags announced, 1.7 there
    Image.fromarray(noisy_uint((24, 32, 3), np.uint8)).save(source, exif=damaged)
    assert main(["run", "dncnn-color", str(source.parent), "-o", str(tmp_path / "out"), "--device", "cpu"]) == 0
    warnings = [line for line in capsys.readouterr().err.splitlines() if "warning" in line.lower()]
    assert len(warnings) == 1 and warnings[0].startswith("restore: warning: ") and "damaged.jpg" in warnings[0]
    assert (tmp_path / "out" / "damaged.jpg").exists()


def test_format_option_converts(untrained_weights, tmp_path):
    source = tmp_path / "x.jpg"
    write_png(source, noisy_uint((16, 16, 3), np.uint8))
    out = tmp_path / "out"
    assert main(["run", "dncnn-color", str(source), "-o", str(out), "--format", "png", "--device", "cpu"]) == 0
    assert (out / "x.png").exists()
    rgba = tmp_path / "logo.png"
    Image.fromarray(noisy_uint((16, 20, 4), np.uint8)).save(rgba)
    assert main(["run", "dncnn-color", str(rgba), "-o", str(out), "--format", "webp", "--device", "cpu"]) == 0
    webp = Image.open(out / "logo.webp")
    assert (webp.format, webp.mode, webp.size) == ("WEBP", "RGBA", (20, 16))  # WebP keeps the alpha
    assert np.array_equal(np.asarray(webp)[..., 3], np.asarray(Image.open(rgba))[..., 3])


def test_demo_writes_before_after(untrained_weights, tmp_path, capsys):
    assert main(["demo", "-o", str(tmp_path), "--device", "cpu"]) == 0
    figure = cv2.imread(str(tmp_path / "demo_before_after.png"))
    assert figure is not None and figure.shape == (2 * (32 + 512), 3 * 512, 3)  # whole photos over 4x details
    assert "dB" in capsys.readouterr().out


@pytest.mark.parametrize("orientation", [1, 6])
def test_non_blind_deblurring_reads_the_kernel_file(orientation, tmp_path):
    """The kernel is the blur as the photo is displayed: a photo stored turned (EXIF orientation 6) is deblurred
    upright, as the Python API does, and written upright."""
    from pipelines.blur_data import blur_batch
    from restore.io import ImageMetadata, read_image, write_image
    from restore.io.orientation import apply_orientation
    from restore.ops.blur import motion_kernel, random_trajectory

    kernel = motion_kernel(random_trajectory(np.random.default_rng(1), length=9), 15)
    np.save(tmp_path / "kernel.npy", kernel)
    yy, xx = np.mgrid[0:96, 0:96]
    clean = np.stack([0.2 + 0.6 * (((xx // 12) + (yy // 12)) % 2)] * 3).astype(np.float32)
    blurred = blur_batch(torch.from_numpy(clean)[None], torch.from_numpy(kernel)[None], torch.tensor([0.002]))[0]
    source = tmp_path / "in" / "blurred.png"
    source.parent.mkdir()
    displayed = np.round(blurred.permute(1, 2, 0).numpy() * 255).astype(np.uint8)
    stored = apply_orientation(displayed, orientation, inverse=True)
    write_image(source, stored, metadata=ImageMetadata("PNG", 8, orientation))
    out = tmp_path / "out"
    argv = ["run", "deblur-wiener", str(source), "-o", str(out), "--kernel", str(tmp_path / "kernel.npy")]
    assert main([*argv, "--balance", "0.005"]) == 0  # little noise: little regularization
    restored = read_image(out / "blurred.png").astype(np.float64) / 255
    target = clean.transpose(1, 2, 0)[16:-16, 16:-16]
    error = np.abs(restored[16:-16, 16:-16] - target).mean()
    assert error < 0.7 * np.abs(blurred.permute(1, 2, 0).numpy()[16:-16, 16:-16] - target).mean()


def test_named_frames_with_a_reference_are_written_under_its_name(tmp_path):
    frames = [tmp_path / f"f{index}.png" for index in range(3)]
    for index, path in enumerate(frames):
        write_png(path, np.full((32, 32), 50 * (index + 1), np.uint8))
    out = tmp_path / "out"
    args = ["run", "burst-bm3d", *map(str, frames), "-o", str(out), "--noise", "0.01", "0", "--reference", "2"]
    assert main(args) == 0
    assert abs(float(cv2.imread(str(out / "f2-burst.png"), cv2.IMREAD_UNCHANGED).mean()) - 150) < 2  # frame 2's


def test_a_run_leaves_the_process_settings_as_it_found_them(untrained_weights, photo_tree, tmp_path):
    limit, handler = Image.MAX_IMAGE_PIXELS, signal.getsignal(signal.SIGTERM)
    assert main(["run", "dncnn-color", str(photo_tree / "a.png"), "-o", str(tmp_path / "out"), "--device", "cpu"]) == 0
    assert (Image.MAX_IMAGE_PIXELS, signal.getsignal(signal.SIGTERM)) == (limit, handler)


def test_version_is_printed(capsys):
    import restore

    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0 and capsys.readouterr().out.strip() == f"restore {restore.__version__}"


def test_a_raw_model_ignores_the_jpegs_of_a_raw_plus_jpeg_folder(tmp_path, capsys):
    from restore.io import write_dng

    folder = tmp_path / "card"
    folder.mkdir()
    values = np.random.default_rng(0).integers(600, 4000, (24, 32)).astype(np.uint16)
    write_dng(folder / "IMG_0001.dng", values, "RGGB", black_level=512, white_level=16383)
    write_png(folder / "IMG_0001.jpg", noisy_uint((24, 32, 3), np.uint8))
    out = tmp_path / "out"
    assert main(["run", "lowlight-conventional", str(folder), "-o", str(out), "--ratio", "1"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["IMG_0001.png"]
    assert "1 restored, 0 skipped (output exists), 0 failed, 1 ignored" in capsys.readouterr().out


def test_a_folder_of_the_other_kind_gets_a_hint(tmp_path, capsys):
    write_png(tmp_path / "jpegs" / "a.jpg", noisy_uint((24, 32, 3), np.uint8))
    assert main(["run", "lowlight-conventional", str(tmp_path / "jpegs"), "-o", str(tmp_path / "out")]) == 2
    assert "they hold images, not camera raws" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_hints_follow_recursive_and_inverse_and_count_the_subfolders_left_out(untrained_weights, tmp_path, capsys):
    write_png(tmp_path / "jpegs" / "2024" / "a.jpg", noisy_uint((24, 32, 3), np.uint8))
    (tmp_path / "jpegs" / ".thumbnails").mkdir()
    run = ["run", "lowlight-conventional", str(tmp_path / "jpegs"), "-o", str(tmp_path / "out")]
    assert main([*run, "--recursive"]) == 2
    assert "they hold images, not camera raws" in capsys.readouterr().err
    assert main(["run", "dncnn-color", str(tmp_path / "jpegs"), "-o", str(tmp_path / "out")]) == 2
    assert "(1 subfolders not searched: --recursive)" in capsys.readouterr().err  # not the hidden one
    (tmp_path / "raws").mkdir()
    (tmp_path / "raws" / "a.dng").write_bytes(b"II*\x00")
    assert main(["run", "invisp", str(tmp_path / "raws"), "-o", str(tmp_path / "out"), "--inverse"]) == 2
    assert "leave out --inverse" in capsys.readouterr().err


def test_an_input_folder_inside_the_output_folder_is_refused(untrained_weights, tmp_path, capsys):
    write_png(tmp_path / "photos" / "c.png", noisy_uint((24, 32, 3), np.uint8))
    write_png(tmp_path / "photos" / "2024" / "c.png", noisy_uint((24, 32, 3), np.uint8, 1))
    before = digest(tmp_path / "photos")
    args = ["run", "dncnn-color", str(tmp_path / "photos" / "2024"), "-o", str(tmp_path / "photos"), "--overwrite"]
    assert main(args) == 2
    assert "is inside output folder" in capsys.readouterr().err
    assert digest(tmp_path / "photos") == before


def test_a_refused_run_leaves_no_output_folder(untrained_weights, photo_tree, capsys):
    assert main(["run", "dncnn-color", str(photo_tree), "-o", str(photo_tree / "out")]) == 2
    assert not (photo_tree / "out").exists()


@pytest.mark.parametrize(
    "options", [["--precision", "fp16", "--device", "cpu"], ["--tile", "10"], ["--device", "nowhere"]], ids=str
)
def test_a_bad_device_option_leaves_no_output_folder(untrained_weights, photo_tree, tmp_path, capsys, options):
    assert main(["run", "dncnn-color", str(photo_tree), "-o", str(tmp_path / "out"), *options]) == 2
    assert not (tmp_path / "out").exists()


def test_a_bad_ensemble_leaves_no_output_folder(photo_tree, tmp_path, capsys):
    assert main(["run", "bm3d", str(photo_tree), "-o", str(tmp_path / "out"), "--ensemble"]) == 2
    assert not (tmp_path / "out").exists()


def test_subfolders_left_out_without_recursive_are_counted(untrained_weights, photo_tree, tmp_path, capsys):
    assert main(["run", "dncnn-color", str(photo_tree), "-o", str(tmp_path / "out"), "--device", "cpu"]) == 0
    assert "1 subfolders not searched (--recursive)" in capsys.readouterr().out


def test_a_burst_folder_inside_the_output_folder_is_refused(tmp_path, capsys):
    burst = tmp_path / "out" / "burst7"
    for index in range(3):
        write_png(burst / f"f{index}.png", noisy_uint((16, 20, 3), np.uint8, index))
    assert main(["run", "burst-average", str(burst), "-o", str(tmp_path / "out")]) == 2
    assert "is inside output folder" in capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["burst7"]


def test_a_burst_given_as_the_current_folder_is_named_after_it(tmp_path, monkeypatch):
    burst = tmp_path / "burst7"
    for index in range(3):
        write_png(burst / f"f{index}.png", noisy_uint((16, 20, 3), np.uint8, index))
    monkeypatch.chdir(burst)
    assert main(["run", "burst-average", ".", "-o", str(tmp_path / "out")]) == 0
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["burst7.png"]


def test_an_rgba_image_to_jpeg_says_which_option_to_use_before_the_model_runs(
    untrained_weights, tmp_path, capsys, monkeypatch
):
    for folder in ("in", "burst"):
        (tmp_path / folder).mkdir()
    Image.fromarray(noisy_uint((16, 20, 4), np.uint8)).save(tmp_path / "in" / "logo.png")
    monkeypatch.setattr(Restorer, "__call__", lambda *args, **options: pytest.fail("the model ran"))
    args = ["run", "dncnn-color", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--format", "jpg"]
    assert main([*args, "--device", "cpu"]) == 1
    assert "use --format png" in capsys.readouterr().err
    for index in range(2):  # a burst of such frames too
        Image.fromarray(noisy_uint((16, 20, 4), np.uint8, index)).save(tmp_path / "burst" / f"f{index}.png")
    args = ["run", "burst-average", str(tmp_path / "burst"), "-o", str(tmp_path / "out"), "--format", "jpg"]
    assert main([*args, "--noise", "0.01", "0"]) == 1
    assert "use --format png" in capsys.readouterr().err


def test_jpeg_quality_is_an_option(untrained_weights, tmp_path, capsys):
    write_png(tmp_path / "in" / "a.jpg", noisy_uint((48, 64, 3), np.uint8))
    sizes = {}
    for quality in ("50", "95"):
        out = tmp_path / f"q{quality}"
        assert main(["run", "dncnn-color", str(tmp_path / "in"), "-o", str(out), "--quality", quality]) == 0
        sizes[quality] = (out / "a.jpg").stat().st_size
    assert sizes["50"] < sizes["95"]
    with pytest.raises(SystemExit):
        main(["run", "dncnn-color", str(tmp_path / "in"), "-o", str(tmp_path / "bad"), "--quality", "0"])


def test_an_inverse_isp_dng_displays_like_its_rotated_jpeg(untrained_weights, tmp_path):
    import rawpy

    from restore.io import read_image

    exif = Image.Exif()
    exif[274] = 6
    source = tmp_path / "in" / "portrait.jpg"
    source.parent.mkdir()
    Image.fromarray(noisy_uint((40, 56, 3), np.uint8)).save(source, exif=exif.tobytes())
    assert main(["run", "invisp", str(source.parent), "-o", str(tmp_path / "out"), "--inverse"]) == 0
    with rawpy.imread(str(tmp_path / "out" / "portrait.dng")) as raw:
        assert raw.postprocess().shape[:2] == read_image(source).shape[:2] == (56, 40)


def test_a_burst_keeps_the_reference_frames_metadata_and_takes_quality(tmp_path):
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    folder = tmp_path / "burst"
    folder.mkdir()
    for index in range(3):
        exif = Image.Exif()
        exif[0x010F] = f"camera {index}"  # Make: tells the frames apart
        frame = Image.fromarray(noisy_uint((32, 48, 3), np.uint8, index))
        frame.save(folder / f"f{index}.jpg", quality=95, exif=exif.tobytes(), icc_profile=icc)
    sizes = {}
    for quality in (20, 95):
        out = tmp_path / f"q{quality}"
        args = ["run", "burst-average", str(folder), "-o", str(out), "--reference", "1", "--quality", str(quality)]
        assert main(args) == 0
        with Image.open(out / "burst.jpg") as result:
            assert result.info.get("icc_profile") == icc
            assert result.getexif().get(0x010F) == "camera 1"
        sizes[quality] = (out / "burst.jpg").stat().st_size
    assert sizes[20] < 0.7 * sizes[95]


def test_a_lossless_webp_burst_stays_lossless(tmp_path):
    folder = tmp_path / "burst"
    folder.mkdir()
    frames = [noisy_uint((32, 48, 3), np.uint8, index) for index in range(3)]
    for index, frame in enumerate(frames):
        Image.fromarray(frame).save(folder / f"f{index}.webp", lossless=True)
    assert main(["run", "burst-average", str(folder), "-o", str(tmp_path / "out"), "--encoding", "linear"]) == 0
    with Image.open(tmp_path / "out" / "burst.webp") as result:
        restored = np.asarray(result.convert("RGB"))
    expected = np.round(np.mean(np.stack(frames).astype(np.float64), axis=0)).astype(np.uint8)
    assert np.abs(restored.astype(int) - expected).max() <= 1


def test_recursive_makes_each_subfolder_of_frames_a_burst(tmp_path, capsys):
    root = tmp_path / "bursts"
    for name in ("day1", "day2/evening", ".hidden"):
        for index in range(2):
            write_png(root / name / f"f{index}.png", noisy_uint((16, 16), np.uint8, index))
    out = tmp_path / "out"
    args = ["run", "burst-average", str(root), "-o", str(out), "--noise", "0.01", "0"]
    assert main(args) == 2
    assert "2 subfolders not searched: --recursive makes each a burst" in capsys.readouterr().err
    assert main([*args, "--recursive"]) == 0
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert written == ["bursts/day1.png", "bursts/day2/evening.png"]


def test_recursive_runs_leave_hidden_folders_alone(untrained_weights, tmp_path):
    root = tmp_path / "in"
    write_png(root / "a.png", noisy_uint((16, 16, 3), np.uint8))
    write_png(root / ".thumbs" / "t.png", noisy_uint((16, 16, 3), np.uint8))
    out = tmp_path / "out"
    assert main(["run", "dncnn-color", str(root), "-o", str(out), "--recursive", "--device", "cpu"]) == 0
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == ["a.png"]


def test_python_dash_m_restore_is_the_command_line():
    result = subprocess.run([sys.executable, "-m", "restore", "models"], capture_output=True, text=True, check=False)
    assert result.returncode == 0 and "dncnn-color" in result.stdout


def refuse_to_list(monkeypatch, blocked: Path) -> None:
    """Make ``blocked`` unreadable as a folder (tests run as root, for whom permissions do not stop a listing)."""
    scandir = os.scandir

    def guarded(path="."):
        if Path(path) == blocked:
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return scandir(path)

    monkeypatch.setattr(os, "scandir", guarded)


@pytest.mark.parametrize("model", ["deblur-unsharp", "burst-average"])
def test_an_unreadable_subfolder_is_a_failure_and_the_rest_is_restored(model, tmp_path, monkeypatch, capsys):
    root = tmp_path / "in"
    for name in ("a", "locked"):
        for index in range(2):
            write_png(root / name / f"f{index}.png", noisy_uint((16, 16), np.uint8, index))
    refuse_to_list(monkeypatch, root / "locked")
    out = tmp_path / "out"
    noise = ["--noise", "0.01", "0"] if model.startswith("burst") else []
    assert main(["run", model, str(root), "-o", str(out), "--recursive", *noise]) == 1
    captured = capsys.readouterr()
    assert f"FAILED {root / 'locked'}: cannot read the folder: Permission denied" in captured.err
    assert captured.out.startswith("2 restored" if model == "deblur-unsharp" else "1 restored")
    assert any(out.rglob("*.png"))


@pytest.mark.parametrize("model", ["deblur-unsharp", "burst-average"])
def test_an_unreadable_input_folder_is_a_usage_error(model, tmp_path, monkeypatch, capsys):
    write_png(tmp_path / "in" / "f0.png", noisy_uint((16, 16), np.uint8))
    refuse_to_list(monkeypatch, tmp_path / "in")
    assert main(["run", model, str(tmp_path / "in"), "-o", str(tmp_path / "out")]) == 2
    assert f"cannot read the input folder {tmp_path / 'in'}: Permission denied" in capsys.readouterr().err


def test_recursive_runs_follow_links_to_folders_once(tmp_path):
    root, elsewhere = tmp_path / "in", tmp_path / "elsewhere"
    write_png(root / "a.png", noisy_uint((16, 16), np.uint8))
    write_png(elsewhere / "b.png", noisy_uint((16, 16), np.uint8, 1))
    (root / "linked").symlink_to(elsewhere, target_is_directory=True)
    (elsewhere / "loop").symlink_to(root, target_is_directory=True)  # back up: listed once, no endless descent
    out = tmp_path / "out"
    assert main(["run", "deblur-unsharp", str(root), "-o", str(out), "--recursive"]) == 0
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == ["a.png", "linked/b.png"]


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [("--tile", "big", "--tile takes 'auto', 'off' or a size"), ("--quality", "101", "--quality takes a whole number")],
)
def test_a_malformed_option_value_is_refused_by_the_parser(photo_tree, tmp_path, capsys, option, value, message):
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "dncnn-color", str(photo_tree), "-o", str(tmp_path / "out"), option, value])
    assert exit_info.value.code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_an_output_folder_that_cannot_be_made_is_a_usage_error(photo_tree, tmp_path, capsys):
    (tmp_path / "blocker").write_text("a file where the output's parent folder would be")
    assert main(["run", "dncnn-color", str(photo_tree), "-o", str(tmp_path / "blocker" / "out")]) == 2
    assert "cannot make the output folder" in capsys.readouterr().err


def test_a_kernel_image_with_alpha_is_refused(photo_tree, tmp_path, capsys):
    kernel = np.zeros((9, 9, 4), np.uint8)
    kernel[4, :, :3], kernel[..., 3] = 255, 255
    Image.fromarray(kernel, "RGBA").save(tmp_path / "kernel.png")
    kernel_option = ["--kernel", str(tmp_path / "kernel.png")]
    argv = ["run", "deblur-wiener", str(photo_tree), "-o", str(tmp_path / "out"), *kernel_option]
    assert main(argv) == 2
    assert "has an alpha channel" in capsys.readouterr().err


def test_sigterm_ends_a_run_with_130_and_keeps_the_finished_outputs_whole(
    untrained_weights, tmp_path, monkeypatch, capsys
):
    root = tmp_path / "in"
    for name in ("a.png", "b.png", "c.png"):
        write_png(root / name, noisy_uint((16, 16, 3), np.uint8))
    call, calls = Restorer.__call__, []

    def terminated_on_the_second(self, image, **options):
        calls.append(1)
        if len(calls) == 2:
            assert signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, signal.SIG_IGN)  # else it ends pytest
            signal.raise_signal(signal.SIGTERM)
        return call(self, image, **options)

    monkeypatch.setattr(Restorer, "__call__", terminated_on_the_second)
    out = tmp_path / "out"
    assert main(["run", "dncnn-color", str(root), "-o", str(out), "--device", "cpu"]) == 130
    assert "restore: interrupted" in capsys.readouterr().err
    written = sorted(p.name for p in out.iterdir())
    assert written == ["a.png"] and cv2.imread(str(out / "a.png")).shape == (16, 16, 3)  # no temporary file left
