"""``benchmarks.lowlight`` end to end on one small synthetic photo, classical methods only."""

import json

from benchmarks import lowlight


def test_the_oracle_noise_level_lifts_a_denoising_baseline(benchmark_test_dir):
    """``+oracle`` hands the denoiser the rendering's true RMS error; the estimate reads low on a dark raw, so the
    oracle row must be far above both the estimated one and the undenoised rendering."""
    test_dir = benchmark_test_dir(96)
    methods = ["lowlight-conventional", "lowlight-nlmeans", "lowlight-nlmeans+oracle"]
    argv = ["--test-dir", str(test_dir / "tests"), "--sets", "tiny", "--ratios", "100", "--methods", *methods]
    lowlight.main([*argv, "--large", "0", "0", "--output", "tiny"])

    data = json.loads((test_dir / "results" / "tiny.json").read_text())
    psnr = {r["method"]: r["psnr"] for r in data["results"]}
    assert set(psnr) == set(methods)
    assert psnr["lowlight-nlmeans+oracle"] > max(psnr["lowlight-nlmeans"], psnr["lowlight-conventional"]) + 3
    assert (test_dir / "cache" / "lowlight-lowlight-nlmeans+oracle.json").exists(), "cached apart from the estimate's"
