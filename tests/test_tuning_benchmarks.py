"""The scripts that choose the classical baselines' settings (``benchmarks.*_tuning``), end to end on one small
held-out photo: each writes every setting's row, chooses the best one, and refuses a partial run that would replace
the record the baselines' defaults are checked against."""

import json
import zlib

import cv2
import numpy as np
import pytest

import benchmarks.common
from benchmarks import burst_color_tuning, burst_noise_tuning, burst_tuning, deblur_tuning, nlmeans_tuning
from benchmarks.burst import score
from restore.metrics import psnr, to_uint8
from restore.ops.noise import add_gaussian_noise_np


def _textured_photo(size: int) -> np.ndarray:
    """A (size, size, 3) uint8 photo: colour ramps, a ripple and fine random texture."""
    y, x = np.mgrid[0:size, 0:size] / (size - 1)
    texture = cv2.GaussianBlur(np.random.default_rng(0).random((size, size)), (0, 0), 2)
    ripple = 0.5 + 0.3 * np.sin(20 * x) * np.cos(15 * y) + 0.4 * (texture - 0.5)
    return (np.clip(np.stack([x, y, ripple], axis=-1), 0, 1) * 255).round().astype(np.uint8)


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """A training-photo folder split as ``pipelines.pack_photos`` writes it: one 256 px photo held out."""
    folder = tmp_path_factory.mktemp("tuning-photos")
    for split in ("train", "validation"):
        (folder / split).mkdir()
        cv2.imwrite(str(folder / split / "photo.png"), _textured_photo(256))
    return folder


def run(module, photos, tmp_path, *argv: str) -> dict:
    """Run a tuning script on ``photos`` with its output in ``tmp_path``; its JSON record."""
    module.main(["--photos", str(photos), *argv, "--output", str(tmp_path / "tuning")])
    assert "**" in (tmp_path / "tuning.md").read_text()  # the chosen setting is marked
    return json.loads((tmp_path / "tuning.json").read_text())


def best(rows: list[dict], key: str = "psnr"):
    """The setting of the row with the highest ``key``."""
    return max(rows, key=lambda row: row[key])["setting"]


def test_burst_tuning_scores_every_setting_and_chooses_the_best(photos, tmp_path):
    record = run(burst_tuning, photos, tmp_path, "--gains", "4", "--methods", "burst-bm3d", "burst-hdrplus")
    ((_, _, (noisy, clean, _, _)),) = burst_tuning.tuning_bursts(photos, [4.0])
    reference = score(noisy[0], clean)["psnr"]
    for method in ("burst-bm3d", "burst-hdrplus"):
        rows = [row for row in record["results"] if row["method"] == method]
        assert [row["setting"] for row in rows if row["gain"] == "all"] == burst_tuning.SETTINGS[method]
        assert {row["gain"] for row in rows} == {4.0, "all"} and all(row["bursts"] == 1 for row in rows)
        assert record["chosen"][method] == best([row for row in rows if row["gain"] == "all"])
        assert all(row["psnr"] > reference + 3 for row in rows)  # every setting denoises the reference
    assert "burst-bm4d" not in record["chosen"]


def test_burst_color_tuning_chooses_the_best_way_to_denoise_an_rgb_reference(photos, tmp_path):
    record = run(burst_color_tuning, photos, tmp_path, "--gains", "4")
    ((_, _, noisy, clean, _, _),) = burst_color_tuning.color_frames(photos, [4.0])
    rows = [row for row in record["results"] if row["gain"] == "all"]
    assert [row["setting"] for row in rows] == burst_color_tuning.SETTINGS
    assert record["chosen"] == best(rows)
    assert all(row["psnr"] > score(noisy[0], clean)["psnr"] + 3 for row in rows)


def test_burst_noise_tuning_scores_the_estimates_error_and_cost(photos, tmp_path, untrained_weights):
    record = run(burst_noise_tuning, photos, tmp_path, "--gains", "4", "--seeds", "2")
    rows = [row for row in record["results"] if row["gain"] == "all"]
    assert [row["setting"] for row in rows] == burst_noise_tuning.SETTINGS
    assert record["chosen"] == best(rows, "psnr_cost") and record["bursts_per_gain"] == 2
    assert all(row["log2_error"] < 0.5 and np.isfinite(row["psnr_cost"]) for row in rows)  # within 1.4x of the truth


def test_deblur_tuning_chooses_the_deconvolutions_settings_only(photos, tmp_path):
    record = run(deblur_tuning, photos, tmp_path, "--kernels-per-crop", "1")
    assert set(record["chosen"]) == set(deblur_tuning.TUNED)
    for method, (_, grid) in deblur_tuning.GRIDS.items():
        rows = [row for row in record["results"] if row["method"] == method]
        assert [row["setting"] for row in rows] == [list(s) if isinstance(s, tuple) else s for s in grid]
        if method in deblur_tuning.TUNED:
            assert record["chosen"][method] == best(rows)
            assert max(row["psnr"] for row in rows) > record["blurred"]["psnr"] + 1  # the kernel is undone


def test_nlmeans_tuning_chooses_a_strength_for_gray_and_for_color(photos, tmp_path):
    record = run(nlmeans_tuning, photos, tmp_path, "--sigmas", "25")
    gray = cv2.cvtColor(_textured_photo(256), cv2.COLOR_BGR2GRAY)
    noisy = psnr(to_uint8(add_gaussian_noise_np(gray, 25, zlib.crc32(b"tuning/0/25"))), gray)
    for kind in nlmeans_tuning.KINDS:
        rows = [{**row, "setting": row["factor"]} for row in record["results"] if row["kind"] == kind]
        assert [row["factor"] for row in rows] == list(nlmeans_tuning.FACTORS)
        assert record["chosen"][kind] == best(rows)
        assert max(row["psnr"] for row in rows) > noisy + 8


@pytest.mark.parametrize(
    "module, partial",
    [
        (burst_tuning, ["--gains", "4"]),
        (burst_tuning, ["--methods", "burst-bm3d"]),
        (burst_color_tuning, ["--gains", "1"]),
        (burst_noise_tuning, ["--seeds", "1"]),
        (deblur_tuning, ["--kernels-per-crop", "1"]),
        (deblur_tuning, ["--methods", "deblur-wiener"]),
        (nlmeans_tuning, ["--sigmas", "25"]),
    ],
)
def test_a_partial_run_must_not_replace_the_record(module, partial, photos, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(benchmarks.common, "RESULTS_DIR", tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        module.main(["--photos", str(photos), *partial])
    assert exit_info.value.code == 2 and "give --output" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "module", [burst_tuning, burst_color_tuning, burst_noise_tuning, deblur_tuning, nlmeans_tuning]
)
def test_a_folder_holding_no_photo_out_is_refused(module, tmp_path):
    for split in ("train", "validation"):
        (tmp_path / split).mkdir()
    cv2.imwrite(str(tmp_path / "train" / "photo.png"), _textured_photo(64))
    with pytest.raises(SystemExit, match="no held-out training photo"):
        module.main(["--photos", str(tmp_path), "--output", str(tmp_path / "out" / "tuning")])
    assert not (tmp_path / "out" / "tuning.json").exists()
