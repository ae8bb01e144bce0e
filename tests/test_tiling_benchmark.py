"""``benchmarks.tiling`` end to end on a small photo with untrained weights: tiled and untiled outputs agree, and the
memory run in its own process restores the same photo with the same weights."""

import json

import numpy as np
import pytest

import restore
from benchmarks import tiling


def test_the_tiling_benchmark_compares_tiled_with_untiled_and_measures_apart(untrained_weights, tmp_path, monkeypatch):
    monkeypatch.setattr(tiling, "AGREEMENT", (200, 120, 96))
    tiling.main(["--model", "dncnn-color", "--large", "160", "96", "--output", str(tmp_path / "tiling")])

    record = json.loads((tmp_path / "tiling.json").read_text())
    agree, large = record["agreement"], record["large"]
    assert (agree["width"], agree["height"], agree["tile"]) == (200, 120, 96)
    assert agree["max_abs_difference"] < 1e-4 and agree["psnr_difference_db"] < 1e-3
    _, noisy = tiling.test_photo(160, 96)
    here = restore.load("dncnn-color", device="cpu", tile=None)(noisy)
    assert large["checksum"] == int(here.astype(np.int64).sum())  # the subprocess used these weights
    assert (large["width"], large["height"]) == (160, 96) and large["peak_rss_gb"] > 0
    assert "| dncnn-color | 200x120 | 96 |" in (tmp_path / "tiling.md").read_text()


def test_a_measurement_failing_in_its_subprocess_raises_its_error_here():
    with pytest.raises(RuntimeError, match="larger than twice the overlap"):
        tiling.run_isolated("dncnn-color", 160, 96, 64)
