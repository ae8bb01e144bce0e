"""The baselines' result cache (``benchmarks.common``): a rerun that only re-times an image leaves it as it was, an
entry holds for the very same image file only, and ``--cache-dir`` keeps the committed cache untouched."""

import json
import re

import cv2
import numpy as np
import pytest

import benchmarks.common
from benchmarks import denoise
from benchmarks.common import (
    CACHE_DIR,
    CACHE_TOLERANCE_DB,
    DEFAULT_TEST_DIR,
    HELDOUT,
    cache_key,
    cache_path,
    cached_row,
    load_cache,
    remember,
)
from restore.registry import file_sha256


def test_a_re_timed_image_keeps_its_cached_row_and_a_changed_one_stops_the_run(tmp_path):
    path = cache_path(tmp_path, "toy", "bm3d")
    first = {"image": "a.png", "psnr": 30.0, "ssim": 0.9}
    assert remember(path, {}, "set|a.png|25", first) == first
    saved = path.read_text()

    cache = load_cache(path)
    again = {**first, "psnr": 30.0 + CACHE_TOLERANCE_DB / 10}
    assert remember(path, cache, "set|a.png|25", again) == first
    assert path.read_text() == saved, "a rerun must not rewrite the committed cache"

    changed = {**first, "psnr": 30.5}
    with pytest.raises(SystemExit, match="cached at 30.0000 dB but scores 30.5000 dB now"):
        remember(path, cache, "set|a.png|25", changed)
    assert path.read_text() == saved, "the stale cache is reported, not patched one row at a time"


def test_the_first_images_of_a_set_are_always_scored_so_that_the_method_is_timed():
    cache = {"set|a.png|25": {"image": "a.png", "psnr": 30.0}}
    assert cached_row(cache, "set|a.png|25", index=0, timed_images=1) is None
    assert cached_row(cache, "set|a.png|25", index=1, timed_images=1) == cache["set|a.png|25"]
    assert cached_row(cache, "set|b.png|25", index=1, timed_images=1) is None, "an image not cached is scored"
    assert cached_row(None, "set|a.png|25", index=1, timed_images=1) is None, "a method without a cache is scored"


def write_gray(path, seed: int) -> None:
    cv2.imwrite(str(path), np.random.default_rng(seed).integers(0, 256, (48, 48), dtype=np.uint8))


def test_another_image_of_the_same_name_misses_the_cache_and_keeps_the_first_entry(tmp_path, monkeypatch):
    monkeypatch.setattr(benchmarks.common, "RESULTS_DIR", tmp_path / "results")
    committed = tmp_path / "committed-cache"
    monkeypatch.setattr(benchmarks.common, "CACHE_DIR", committed)
    (tmp_path / "tests" / "gray").mkdir(parents=True)
    write_gray(tmp_path / "tests" / "gray" / "01.png", 1)
    write_gray(tmp_path / "tests" / "gray" / "02.png", 2)
    argv = ["--test-dir", str(tmp_path / "tests"), "--sets", "gray", "--sigmas", "25", "--methods", "nlmeans"]
    argv += ["--timed-images", "1", "--cache-dir", str(tmp_path / "cache")]

    def second_psnr() -> float:
        denoise.main([*argv, "--output", "run"])
        return json.loads((tmp_path / "results" / "run.json").read_text())["results"][0]["rows"][1]["psnr"]

    first = second_psnr()
    write_gray(tmp_path / "tests" / "gray" / "02.png", 3)  # same name, other content
    assert second_psnr() != first, "the cached number of the other image must not be reported"
    entries = load_cache(cache_path(tmp_path / "cache", "denoise", "nlmeans"))
    assert sorted(row["image"] for row in entries.values()) == ["01.png", "02.png", "02.png"]
    assert not committed.exists(), "--cache-dir keeps the default cache folder untouched"


def test_the_key_holds_the_image_file_s_sha256(tmp_path):
    write_gray(tmp_path / "a.png", 1)
    assert cache_key("set", tmp_path / "a.png", "25", "7") == f"set|a.png|25|7|{file_sha256(tmp_path / 'a.png')}"


@pytest.mark.skipif(not DEFAULT_TEST_DIR.is_dir(), reason="the shared test images are not here")
def test_every_committed_entry_is_keyed_by_a_standard_image_s_sha256():
    heldout = {path.name: path for path in benchmarks.common.test_images(DEFAULT_TEST_DIR, HELDOUT)}
    digests = {}
    for path in CACHE_DIR.glob("*.json"):
        for key in json.loads(path.read_text()):
            test_set, name, *setting, digest = key.split("|")
            assert re.fullmatch("[0-9a-f]{64}", digest) and setting, key
            image = heldout[name] if test_set.startswith(HELDOUT) else DEFAULT_TEST_DIR / test_set / name
            assert digests.setdefault(image, file_sha256(image)) == digest, key
    assert digests, "the committed cache is not empty"
