"""``benchmarks.burst`` and ``benchmarks.burst_raw`` end to end on one small synthetic photo."""

import json

import cv2
import pytest

from benchmarks import burst, burst_raw
from restore.figures import LABEL_HEIGHT


@pytest.fixture
def test_dir(benchmark_test_dir):
    return benchmark_test_dir(256)


@pytest.mark.parametrize("module, model", [(burst, "kpn-burst"), (burst_raw, "kpn-burst-raw")])
def test_a_burst_benchmark_reports_every_method_at_every_gain(test_dir, module, model):
    methods = [model, f"{model}-auto", "burst-average", "burst-align"]  # -auto: noise="auto", estimated
    argv = ["--test-dir", str(test_dir / "tests"), "--sets", "tiny", "--methods", *methods, "--output", "tiny"]
    module.main([*argv, "--timed-images", "1"])

    data = json.loads((test_dir / "results" / "tiny.json").read_text())
    assert data["meta"]["command"].startswith(f"python -m {module.__name__} --test-dir")
    rows = {(r["method"], r["gain"]): r for r in data["results"]}
    assert set(rows) == {(m, g) for m in methods for g in ("1", "2", "4", "8", "4 (shift x2)")}
    for method in methods:
        assert rows[method, "4"]["images"] == 1
    for method in ("burst-average", "burst-align"):
        assert rows[method, "1"]["psnr"] > rows[method, "8"]["psnr"] + 3, "more gain, more noise, lower PSNR"
    for method in (model, f"{model}-auto"):  # the photo is smooth: a trained network beats averaging by far
        assert rows[method, "8"]["psnr"] > rows["burst-average", "8"]["psnr"] + 2
    assert (test_dir / "results" / "tiny.md").read_text().startswith("# ")
    figure = cv2.imread(str(test_dir / "results" / "tiny.png"))
    assert figure.shape[1] == 5 * (figure.shape[0] - LABEL_HEIGHT), (
        "reference / average / best baseline / model / clean"
    )


def test_a_burst_benchmark_refuses_an_unknown_set(test_dir):
    with pytest.raises(SystemExit, match="2"):
        burst.main(["--test-dir", str(test_dir / "tests"), "--sets", "nowhere", "--methods", "burst-average"])


def test_a_burst_benchmark_of_the_model_alone_shows_it_beside_reference_and_clean(test_dir):
    argv = ["--test-dir", str(test_dir / "tests"), "--sets", "tiny", "--methods", "kpn-burst", "--output", "alone"]
    burst.main(argv)
    figure = cv2.imread(str(test_dir / "results" / "alone.png"))
    assert figure.shape[1] == 3 * (figure.shape[0] - LABEL_HEIGHT), "reference / model / clean: no baseline ran"


def test_the_raw_benchmark_restores_all_four_packed_planes():
    """The API takes a 4-channel burst for RGBA; the raw benchmark's planes must all be merged, not the fourth handed
    back as the reference's alpha."""
    import numpy as np

    import restore

    planes = np.random.default_rng(0).uniform(0.2, 0.8, (8, 24, 24, 4)).astype(np.float32)
    merged = burst_raw.restore_planes(restore.load("burst-average"), "burst-average", planes, 0.01, 0.0)
    np.testing.assert_allclose(merged, planes.mean(axis=0), atol=1e-6)
