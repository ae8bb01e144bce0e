"""``benchmarks.invisp`` end to end on one small synthetic photo, with untrained weights: the protocol's own checks."""

import json

from benchmarks import invisp


def test_the_closed_form_isp_matches_libraw_and_the_network_inverts_itself(benchmark_test_dir, untrained_weights):
    """The analytic rows reproduce LibRaw's rendering (forward) and undo it far better than generic unprocessing
    (inverse, from the JPEG), so the table's oracle is sound; the network inverts itself whatever its weights."""
    test_dir = benchmark_test_dir(224)
    argv = ["--test-dir", str(test_dir / "tests"), "--sets", "tiny", "--device", "cpu", "--application-images", "0"]
    invisp.main([*argv, "--output", "tiny-invisp"])

    (result,) = json.loads((test_dir / "results" / "tiny-invisp.json").read_text())["results"]
    assert result["set"] == "tiny" and result["images"] == 1
    assert result["forward_analytic_psnr"] > 50
    assert result["inverse_libraw_exact_psnr"] > max(40, result["inverse_brooks_psnr"] + 10)
    assert result["round_trip_mae"] < 1e-5
    assert (test_dir / "results" / "tiny-invisp.png").is_file()
    assert "tiny" in (test_dir / "results" / "tiny-invisp.md").read_text()
