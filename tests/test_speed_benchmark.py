"""benchmarks/speed.py on tiny inputs: what one measurement records, and the burst alignment's share of it."""

from __future__ import annotations

import json

import pytest

from benchmarks import speed


@pytest.fixture
def tiny_size(monkeypatch):
    monkeypatch.setitem(speed.SIZES, "64", (64, 64))
    return "64"


def test_a_burst_network_s_time_includes_its_alignment_timed_apart(tiny_size):
    row = speed.measure("kpn-burst", tiny_size, "cpu", "fp32", repeats=2)
    assert row["size"] == "64x64" and row["device"] == "cpu" and row["precision"] == "float32"
    assert 0 < row["alignment_seconds"] < row["seconds"]
    assert row["megapixels_per_second"] == pytest.approx(64 * 64 / 1e6 / row["seconds"])


def test_a_single_image_model_has_no_alignment_time(tiny_size):
    row = speed.measure("dncnn-gray", tiny_size, "cpu", "fp32", repeats=1)
    assert row["alignment_seconds"] is None and row["flops_per_pixel"] > 0


def test_the_alignment_is_restored_after_timing():
    from restore.ops import alignment

    original, seconds = alignment.align_whole_pixels, []
    with pytest.raises(RuntimeError), speed.timed_alignment(seconds):
        assert alignment.align_whole_pixels is not original
        raise RuntimeError("a failed call")
    assert alignment.align_whole_pixels is original and seconds == []


def test_the_report_lists_the_alignment_share_of_burst_rows():
    rows = [
        {
            "model": model,
            "size": "64x64",
            "device": "cpu",
            "precision": "float32",
            "megapixels_per_second": 1.0,
            "seconds": 2.0,
            "peak_memory_gb": 0.1,
            "memory_kind": "peak RSS",
            "flops_per_pixel": None,
            "alignment_seconds": aligned,
        }
        for model, aligned in (("kpn-burst", 0.5), ("dncnn-gray", None))
    ]
    meta = {"command": "c", "commit": "abc", "machine": "m", "torch": "t", "date": "d"}
    report = speed.markdown(rows, [], {}, meta)
    assert "- kpn-burst at 64x64 (float32): 0.50 of 2.00 s" in report and "- dncnn-gray at" not in report


def test_the_training_speed_benchmark_times_both_precisions(tmp_path):
    from benchmarks import training_speed

    training_speed.main(["--steps", "1", "--output", str(tmp_path / "training_speed")])
    results = json.loads((tmp_path / "training_speed.json").read_text())["results"]
    assert [r["model"] for r in results] == list(training_speed.STEPS)
    assert all(r["float32_seconds"] > 0 and r["bfloat16_seconds"] > 0 for r in results)
    assert "bfloat16 autocast (s)" in (tmp_path / "training_speed.md").read_text()


def test_the_command_times_learned_models_at_each_precision_and_baselines_once(tiny_size, tmp_path, monkeypatch):
    def fake_peak(device, precision):  # the 2048^3 matmul is the machine's business, not this test's
        dtype = "float32" if precision == "fp32" else "bfloat16"
        return {"device": "cpu", "precision": dtype, "matmul_gflops": 1.0, "conv3x3_gflops": 1.0}

    monkeypatch.setattr(speed, "run_isolated", speed.measure)  # in process: the tiny size exists in this one only
    monkeypatch.setattr(speed, "machine_peak", fake_peak)
    stem = tmp_path / "speed-run"
    speed.main(
        ["--models", "dncnn-gray", "nlmeans", "--sizes", tiny_size, "--classical-sizes", tiny_size]
        + ["--precisions", "fp32", "bf16", "--tiling-model", "dncnn-gray", "--tiling-size", tiny_size]
        + ["--tiles", "96", "--repeats", "1", "--device", "cpu", "--output", str(stem)]
    )
    result = json.loads(stem.with_suffix(".json").read_text())
    timed = [(row["model"], row["precision"]) for row in result["results"]]
    assert sorted(timed) == [("dncnn-gray", "bfloat16"), ("dncnn-gray", "float32"), ("nlmeans", "float32")]
    assert [row["tile"] for row in result["tiling"]] == [None, 96]
    assert set(result["machine_peaks"]) == {"float32", "bfloat16"}
    assert result["meta"]["command"].startswith("python -m benchmarks.speed --models dncnn-gray nlmeans")
    report = stem.with_suffix(".md").read_text()
    assert "| dncnn-gray | 64x64 | cpu | bfloat16 |" in report and "## Tiling overhead" in report
