"""benchmarks.speed_spread: the spread between two speed benchmark runs."""

import json

import pytest

from benchmarks.speed_spread import load_run, main, spread


def speed_run(rates: dict[str, float], conv_peak: float) -> dict:
    """A minimal speed.json: one float32 row per model at 512x512 and a float32 machine peak."""
    rows = [
        {"model": model, "size": "512x512", "precision": "float32", "tile": None, "megapixels_per_second": rate}
        for model, rate in rates.items()
    ]
    return {"results": rows, "machine_peaks": {"float32": {"conv3x3_gflops": conv_peak}}}


def test_spread_matches_rows_and_reports_median_largest_and_peaks():
    first = speed_run({"a": 1.0, "b": 2.0, "c": 4.0, "only-first": 1.0}, conv_peak=100.0)
    second = speed_run({"a": 1.1, "b": 1.0, "c": 4.0, "only-second": 9.0}, conv_peak=80.0)
    result = spread(first, second)
    assert result["rows"] == 3
    assert result["median"] == pytest.approx(0.1)
    assert result["largest"] == pytest.approx(0.5)
    assert result["over_large"] == 1
    assert result["conv_peaks"]["float32"] == pytest.approx(-0.2)


def test_runs_without_a_shared_row_are_refused():
    with pytest.raises(SystemExit, match="share no row"):
        spread(speed_run({"a": 1.0}, 1.0), speed_run({"b": 1.0}, 1.0))


def test_load_run_reads_a_file(tmp_path):
    path = tmp_path / "speed.json"
    path.write_text(json.dumps(speed_run({"a": 1.0}, 1.0)))
    assert load_run(str(path))["results"][0]["model"] == "a"


def test_load_run_reads_a_committed_revision():
    assert load_run("HEAD:benchmarks/results/speed.json")["results"]


def test_the_command_prints_the_spread(tmp_path, capsys):
    paths = [tmp_path / "first.json", tmp_path / "second.json"]
    for path, rate in zip(paths, (1.0, 1.5), strict=True):
        path.write_text(json.dumps(speed_run({"a": rate, "b": 2.0}, conv_peak=100.0 * rate)))
    main([str(p) for p in paths])
    assert capsys.readouterr().out.splitlines() == [
        "2 rows: median change 25%, largest 50%, 1 over 20%",
        "float32 convolution peak: +50%",
    ]
