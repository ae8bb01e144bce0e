"""pipelines/device_train.sh, dry-run on the CPU: one model for a moment sends back its weights, card and the logs."""

from __future__ import annotations

import json
import os
import subprocess
import tarfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "pipelines" / "device_train.sh"


def run_script(*args: str, out: Path, **variables: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "OUT": str(out), "DEVICE": "cpu", "OMP_NUM_THREADS": "1", "RESTORE_COMMIT": "abc1234"}
    env.update(variables)
    return subprocess.run(
        ["bash", str(SCRIPT), *args], check=False, cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )


def test_a_short_dry_run_sends_back_weights_card_and_logs(training_photos, tmp_path):
    result = run_script("0.005", str(training_photos), "dncnn-gray-15", out=tmp_path)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dncnn-gray-15.tar", "logs.tar"]
    with tarfile.open(tmp_path / "dncnn-gray-15.tar") as archive:
        assert sorted(archive.getnames()) == ["dncnn-gray-15.json", "dncnn-gray-15.safetensors"]
        card = json.load(archive.extractfile("dncnn-gray-15.json"))
    assert card["training"]["commit"] == "abc1234"
    assert card["training"]["initialized_from"].startswith("dncnn-gray-15.safetensors (sha256 ")
    with tarfile.open(tmp_path / "logs.tar") as archive:
        assert "./dncnn-gray-15.log" in archive.getnames()


def test_lowlight_raw_when_named_starts_from_its_shipped_weights_in_float16(training_photos, tmp_path):
    result = run_script("0.005", str(training_photos), "lowlight-raw", out=tmp_path)
    assert result.returncode == 0, result.stderr
    with tarfile.open(tmp_path / "lowlight-raw.tar") as archive:
        card = json.load(archive.extractfile("lowlight-raw.json"))
    assert card["training"]["initialized_from"].startswith("lowlight-raw.safetensors (sha256 ")
    assert card["training"]["config"]["weights_dtype"] == "float16"


def test_color_data_is_the_photo_folder_of_dncnn_color_alone(training_photos, tmp_path):
    (tmp_path / "out").mkdir()
    missing = str(tmp_path / "no-photos")
    both = ("dncnn-color", "dncnn-gray-15")
    result = run_script("0.005", missing, *both, out=tmp_path / "out", COLOR_DATA=str(training_photos))
    assert result.returncode == 1 and "dncnn-gray-15 failed" in result.stdout  # PHOTO_FOLDER has no photos
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["dncnn-color.tar", "logs.tar"]


def test_an_unknown_model_is_refused_before_anything_runs(tmp_path):
    result = run_script("1", "photos", "dncnn-gray-99", out=tmp_path)
    assert result.returncode == 2 and "unknown model dncnn-gray-99" in result.stderr
    assert not list(tmp_path.iterdir())


def test_a_failed_training_fails_the_script(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    result = run_script("0.005", str(tmp_path / "no-photos"), "dncnn-gray-15", out=out)
    assert result.returncode == 1 and "dncnn-gray-15 failed" in result.stdout
    assert [p.name for p in out.iterdir()] == ["logs.tar"]
