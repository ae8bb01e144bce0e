"""The baselines' result cache (``benchmarks.common``): a rerun that only re-times an image leaves it as it was."""

import benchmarks.common
from benchmarks.common import CACHE_TOLERANCE_DB, cache_path, cached_row, load_cache, remember


def test_a_re_timed_image_keeps_its_cached_row_and_a_changed_one_replaces_it(tmp_path, monkeypatch):
    monkeypatch.setattr(benchmarks.common, "CACHE_DIR", tmp_path)
    first = {"image": "a.png", "psnr": 30.0, "ssim": 0.9}
    assert remember("toy", "bm3d", {}, "set|a.png|25", first) == first
    saved = cache_path("toy", "bm3d").read_text()

    cache = load_cache("toy", "bm3d")
    again = {**first, "psnr": 30.0 + CACHE_TOLERANCE_DB / 10}
    assert remember("toy", "bm3d", cache, "set|a.png|25", again) == first
    assert cache_path("toy", "bm3d").read_text() == saved, "a rerun must not rewrite the committed cache"

    changed = {**first, "psnr": 30.5}
    assert remember("toy", "bm3d", cache, "set|a.png|25", changed) == changed
    assert load_cache("toy", "bm3d") == {"set|a.png|25": changed}


def test_the_first_images_of_a_set_are_always_scored_so_that_the_method_is_timed():
    cache = {"set|a.png|25": {"image": "a.png", "psnr": 30.0}}
    assert cached_row(cache, "set|a.png|25", index=0, timed_images=1) is None
    assert cached_row(cache, "set|a.png|25", index=1, timed_images=1) == cache["set|a.png|25"]
    assert cached_row(cache, "set|b.png|25", index=1, timed_images=1) is None, "an image not cached is scored"
    assert cached_row(None, "set|a.png|25", index=1, timed_images=1) is None, "a method without a cache is scored"
