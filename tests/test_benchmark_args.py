"""The benchmarks' command lines: bad values, unknown sets, methods and output folders are refused before any work,
with one line and exit status 2; ``--output`` takes a path; the console labels each row with its set."""

import json

import numpy as np
import pytest

from benchmarks import (
    burst,
    burst_raw,
    deblur,
    denoise,
    invisp,
    lowlight,
    noise_estimation,
    readme,
    speed,
    tiling,
    training_speed,
)


@pytest.fixture
def test_dir(benchmark_test_dir):
    return benchmark_test_dir(96)


def usage_error(main, argv, capsys) -> str:
    """The one-line error of a command line that ``main`` refuses with exit status 2."""
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.startswith("usage: ")
    return err.strip().splitlines()[-1]


@pytest.mark.parametrize(
    "module, argv, message",
    [
        (denoise, ["--limit", "0"], "--limit: 0 is not 1 or more"),
        (denoise, ["--limit", "-1"], "--limit: -1 is not 1 or more"),
        (denoise, ["--timed-images", "0"], "--timed-images: 0 is not 1 or more"),
        (burst, ["--limit", "0"], "--limit: 0 is not 1 or more"),
        (burst, ["--timed-images", "0"], "--timed-images: 0 is not 1 or more"),
        (burst_raw, ["--timed-images", "-2"], "--timed-images: -2 is not 1 or more"),
        (deblur, ["--limit", "0"], "--limit: 0 is not 1 or more"),
        (invisp, ["--limit", "0"], "--limit: 0 is not 1 or more"),
        (lowlight, ["--limit", "0"], "--limit: 0 is not 1 or more"),
        (lowlight, ["--timed-images", "0"], "--timed-images: 0 is not 1 or more"),
        (lowlight, ["--ratios", "100", "0"], "--ratios: 0 is not above 0"),
        (speed, ["--repeats", "0"], "--repeats: 0 is not 1 or more"),
        (training_speed, ["--steps", "0"], "--steps: 0 is not 1 or more"),
        (training_speed, ["--threads", "-1"], "--threads: -1 is not 0 or more"),
        (invisp, ["--application-images", "-1"], "--application-images: -1 is not 0 or more"),
        (denoise, ["--methods", "nlmeans", "no-such-model"], "--methods: invalid choice: 'no-such-model'"),
        (burst, ["--methods", "dncnn-color"], "--methods: invalid choice: 'dncnn-color'"),
        (burst, ["--methods", "kpn-burst-raw"], "--methods: invalid choice: 'kpn-burst-raw'"),
        (burst, ["--methods", "kpn-burst-raw-auto"], "--methods: invalid choice: 'kpn-burst-raw-auto'"),
        (deblur, ["--kernel-sets", "gopro"], "--kernel-sets: invalid choice: 'gopro'"),
        (deblur, ["--output", ".."], "--output: '..' names a folder, not a file stem"),
        (deblur, ["--output", "/tmp/"], "--output: '/tmp/' names a folder, not a file stem"),
        (burst_raw, ["--methods", "kpn-burst-typo"], "--methods: invalid choice: 'kpn-burst-typo'"),
        (deblur, ["--methods", "deblur-ms+x9"], "--methods: invalid choice: 'deblur-ms+x9'"),
        (lowlight, ["--methods", "lowlight-rawx"], "--methods: invalid choice: 'lowlight-rawx'"),
        (speed, ["--models", "dncnn-colour"], "--models: invalid choice: 'dncnn-colour'"),
        (speed, ["--precisions", "fp64"], "--precisions: invalid choice: 'fp64'"),
        (speed, ["--device", "cpu", "--precisions", "fp32", "fp16"], "fp16 is not supported on the CPU"),
        (tiling, ["--model", "kpn-burst"], "--model: invalid choice: 'kpn-burst'"),
    ],
)
def test_bad_values_and_names_are_usage_errors(test_dir, capsys, module, argv, message):
    assert message in usage_error(module.main, argv, capsys)


@pytest.mark.parametrize("module", [denoise, burst, deblur, lowlight, invisp, noise_estimation])
def test_a_missing_set_is_refused_before_any_set_runs(test_dir, capsys, module, monkeypatch):
    monkeypatch.setattr(module, "provenance", None)  # what every run calls before its work: never reached
    argv = ["--test-dir", str(test_dir / "tests"), "--sets", "tiny", "Set13"]
    assert usage_error(module.main, argv, capsys).endswith(
        f"--sets: no test set 'Set13': {test_dir}/tests/Set13 is not a folder"
    )


def test_an_output_folder_that_cannot_be_made_is_refused_before_any_work(test_dir, capsys):
    (test_dir / "file").write_text("")
    argv = ["--test-dir", str(test_dir / "tests"), "--sets", "tiny", "--output", str(test_dir / "file" / "den")]
    assert "--output: cannot create the folder" in usage_error(denoise.main, argv, capsys)


def kernel_dir(folder):
    """A deblurring data folder with two small Levin-style kernels and no GoPro pairs."""
    (folder / "levin_kernels").mkdir(parents=True)
    (folder / "gopro_pairs").mkdir()
    np.savez(folder / "levin_kernels" / "levin_kernels.npz", np.full((3, 3), 1 / 9), np.eye(5) / 5)
    return folder


def test_output_takes_a_path_and_makes_its_folder_and_rows_are_labelled_with_their_set(test_dir, capsys):
    stem = test_dir / "elsewhere" / "sub" / "d"
    argv = ["--test-dir", str(test_dir / "tests"), "--deblur-dir", str(kernel_dir(test_dir / "deblur"))]
    deblur.main([*argv, "--sets", "tiny", "--methods", "deblur-wiener", "--output", str(stem)])
    out = capsys.readouterr().out
    assert [line.split()[:2] for line in out.splitlines()[:-1]] == [["tiny", "levin"], ["tiny", "synthetic"]]
    assert "GoPro" not in out, "a non-blind method has no GoPro row"
    data = json.loads(stem.with_name("d.json").read_text())
    assert [r["set"] for r in data["results"]] == ["tiny", "tiny"]
    assert not (test_dir / "results").exists(), "a path is not a stem in benchmarks/results/"


def test_a_bare_stem_still_goes_to_the_results_folder(test_dir):
    argv = ["--test-dir", str(test_dir / "tests"), "--sets", "tiny", "--sigmas", "25", "--training-photos", "0"]
    noise_estimation.main([*argv, "--output", "estimates"])
    data = json.loads((test_dir / "results" / "estimates.json").read_text())
    assert data["meta"]["command"].endswith("--output estimates") and len(data["results"]) == 1


def test_tiling_takes_an_output(test_dir, monkeypatch):
    monkeypatch.setattr(tiling, "agreement", lambda *args: AGREE)
    monkeypatch.setattr(tiling, "run_isolated", lambda *args: LARGE)
    tiling.main(["--output", str(test_dir / "t" / "tiling")])
    assert json.loads((test_dir / "t" / "tiling.json").read_text())["large"] == LARGE


AGREE = {
    "model": "m",
    "width": 1,
    "height": 1,
    "tile": 1,
    "max_abs_difference": 0.0,
    "psnr_untiled": 1.0,
    "psnr_tiled": 1.0,
    "psnr_difference_db": 0.0,
}
LARGE = {
    "model": "m",
    "width": 1,
    "height": 1,
    "tile": "1",
    "seconds": 1.0,
    "megapixels_per_second": 1.0,
    "peak_rss_gb": 1.0,
    "psnr_noisy": 1.0,
    "psnr_out": 1.0,
}


def test_lowlight_help_says_that_limit_does_not_skip_the_large_raw(capsys):
    with pytest.raises(SystemExit):
        lowlight.main(["--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "--limit does not shorten" in help_text and "add --large 0 0 to skip it" in help_text


def test_a_limited_run_records_its_limit_and_the_readme_refuses_it(test_dir, monkeypatch):
    argv = ["--test-dir", str(test_dir / "tests"), "--deblur-dir", str(kernel_dir(test_dir / "deblur"))]
    deblur.main([*argv, "--sets", "tiny", "--methods", "deblur-wiener", "--limit", "1", "--output", "deblur"])
    meta = json.loads((test_dir / "results" / "deblur.json").read_text())["meta"]
    assert meta["limit"] == 1 and meta["weights"] == {}
    monkeypatch.setattr(readme, "RESULTS_DIR", test_dir / "results")
    with pytest.raises(SystemExit, match="--limit"):
        readme.models_table()
