"""Gaussian denoising benchmark on the standard test sets, following DESIGN.md's protocol exactly.

    python -m benchmarks.denoise                                  # every set, sigma 15/25/50, models + baselines
    python -m benchmarks.denoise --sets CBSD68 --sigmas 25 --methods dncnn-color cbm3d --output /tmp/denoise-try

The per-level models (dncnn-gray-15/25/50) are measured at their own sigma only. A method named ``<model>+x8`` is
the model with its geometric self-ensemble (``restore.load(..., ensemble=True)``, 8x the time).

Protocol: uint8 image; x = img/255; noisy = x + N(0, (sigma/255)^2) from ``numpy.random.default_rng(seed)`` with
seed = crc32("<set>/<image>/<sigma>"), not clipped, not quantized; output clipped to [0, 1] and rounded to uint8;
PSNR on uint8 (data range 255, no border crop, RGB for color) and SSIM as ``restore.metrics``. Every method sees the
very same noisy arrays. Classical baselines are slow here (BM3D ~5 s, CBM3D ~13 s per 512x512 image), so their
per-image quality is cached in ``benchmarks/cache/denoise-<method>.json`` (``--cache-dir`` for another folder) keyed by
set, image name, sigma, seed and the image file's sha256; their times are always measured again in the current run,
on the first ``--timed-images`` of each set.
The held-out sets ``skimage`` and ``skimage-gray`` are five photographs that are not in shared/ (see
``benchmarks.common.HELDOUT``), in color and in gray. Writes ``benchmarks/results/denoise.md`` and ``.json``, and
``denoise.png``: a crop of the first image of the first set at the sigma nearest 25 (the most textured 160x160
window), noisy / best classical baseline / our best model / clean, left to right.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
import zlib
from pathlib import Path

import cv2
import numpy as np

import restore
from benchmarks.common import (
    DEFAULT_TEST_DIR,
    HELDOUT,
    add_cache_dir,
    add_output,
    cache_key,
    cache_path,
    cached_row,
    load_cache,
    load_method,
    mean_scores,
    method_names,
    method_spec,
    positive_int,
    provenance,
    provenance_lines,
    remember,
    set_images,
    write_results,
)
from restore.figures import side_by_side
from restore.metrics import psnr, ssim, to_uint8
from restore.ops.noise import add_gaussian_noise_np
from restore.runtime import tune_allocator

COLOR_SETS = ("CBSD68", "Kodak24", "McMaster", HELDOUT)
GRAY_HELDOUT = f"{HELDOUT}-gray"  # the held-out photos in gray (OpenCV's RGB to gray)
GRAY_SETS = ("Set12", "BSD68", GRAY_HELDOUT)
CACHED_METHODS = {"bm3d", "cbm3d", "nlmeans"}

# Published PSNR (dB) on this protocol, from DESIGN.md: (BM3D/CBM3D, DnCNN-S/CDnCNN-B, DRUNet) per sigma 15/25/50.
PUBLISHED = {
    "Set12": {15: (32.37, 32.86, 33.25), 25: (29.97, 30.44, 30.94), 50: (26.72, 27.18, 27.90)},
    "BSD68": {15: (31.07, 31.73, 31.91), 25: (28.57, 29.23, 29.48), 50: (25.62, 26.23, 26.59)},
    "CBSD68": {15: (33.52, 33.89, 34.30), 25: (30.71, 31.23, 31.69), 50: (27.38, 27.92, 28.51)},
    "Kodak24": {15: (34.28, 34.48, 35.31), 25: (31.68, 32.03, 32.89), 50: (28.46, 28.85, 29.86)},
    "McMaster": {15: (34.06, 33.44, 35.40), 25: (31.66, 31.51, 33.14), 50: (28.51, 28.61, 30.08)},
}


def noise_seed(test_set: str, image: str, sigma: float) -> int:
    return zlib.crc32(f"{test_set}/{image}/{sigma:g}".encode())


def default_methods(test_set: str) -> list[str]:
    if test_set in COLOR_SETS:
        return ["dncnn-color", "cbm3d", "nlmeans"]
    return ["dncnn-gray-15", "dncnn-gray-25", "dncnn-gray-50", "dncnn-gray", "bm3d", "nlmeans"]


def runs_at(method: str, sigma: float) -> bool:
    """Whether a method is measured at this sigma: a per-level model only at its own (DnCNN-S, as in the paper)."""
    level = method_spec(method).noise_level
    return level is None or level == sigma


def evaluate(
    method: str, restorer, test_set: str, paths: list[Path], sigma: float, timed_images: int, cache_dir: Path
) -> tuple[dict, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Mean PSNR/SSIM and seconds per image of one method on one set at one sigma, per-image rows included; and the
    first image as (clean, noisy, restored) uint8 (it is always run: ``timed_images`` is at least 1).

    Quality of cached (classical) methods comes from the cache in ``cache_dir`` when present, but their first
    ``timed_images`` images are always run again, so that every time in the table is measured in this run on this
    machine.
    """
    cache_file = cache_path(cache_dir, "denoise", method)
    cache = load_cache(cache_file) if method in CACHED_METHODS else None
    rows, seconds, timed_pixels = [], [], 0
    for index, path in enumerate(paths):
        clean = restore.io.read_image(path)
        if test_set == GRAY_HELDOUT:
            clean = cv2.cvtColor(clean, cv2.COLOR_RGB2GRAY)
        if test_set in GRAY_SETS and clean.ndim == 3:
            raise ValueError(f"{path} is not grayscale")
        seed = noise_seed(test_set, path.name, sigma)
        key = cache_key(test_set, path, f"{sigma:g}", str(seed))
        cached = cached_row(cache, key, index, timed_images)
        if cached is not None:
            rows.append(cached)
            continue
        noisy = add_gaussian_noise_np(clean, sigma, seed)
        start = time.perf_counter()
        out = to_uint8(restorer(noisy, sigma=sigma))
        seconds.append(time.perf_counter() - start)
        timed_pixels += clean.shape[0] * clean.shape[1]
        if index == 0:
            first = (clean, to_uint8(noisy), out)
        row = {
            "image": path.name,
            "psnr": psnr(out, clean),
            "ssim": ssim(out, clean),
            "pixels": clean.shape[0] * clean.shape[1],
        }
        rows.append(row if cache is None else remember(cache_file, cache, key, row))
    summary = {
        **mean_scores(rows),
        "seconds_per_image": float(np.mean(seconds)),
        "seconds_per_megapixel": float(np.sum(seconds) / (timed_pixels / 1e6)),
        "timed_images": len(seconds),
        "images": len(rows),
        "rows": rows,
    }
    return summary, first


def figure(examples: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]], size: int = 160) -> np.ndarray:
    """Noisy / best classical / best learned / clean crops side by side, from ``evaluate``'s first images of one set
    at one sigma (method -> (clean, noisy, restored)); the most textured ``size`` x ``size`` window of the clean
    image (largest standard deviation, on a grid of ``size // 4``)."""

    def best(learned: bool) -> str:
        methods = [m for m in examples if (method_spec(m).build is not None) == learned]
        return max(methods, key=lambda m: psnr(examples[m][2], examples[m][0]))

    clean, noisy, _ = next(iter(examples.values()))
    height, width = clean.shape[:2]
    windows = [(t, l) for t in range(0, height - size + 1, size // 4) for l in range(0, width - size + 1, size // 4)]
    top, left = max(windows, key=lambda w: float(clean[w[0] : w[0] + size, w[1] : w[1] + size].std()))
    labels = ["noisy", best(False), best(True), "clean"]
    panels = [noisy, examples[labels[1]][2], examples[labels[2]][2], clean]
    return side_by_side([panel[top : top + size, left : left + size] for panel in panels], labels)


def markdown_table(results: list[dict], meta: dict) -> str:
    lines = [
        "# Gaussian denoising",
        "",
        "Generated by `benchmarks/denoise.py`; do not edit by hand. Protocol: DESIGN.md (unclipped Gaussian noise from",
        "`default_rng(crc32(set/image/sigma))`, output clipped and rounded to uint8, PSNR/SSIM on uint8 RGB, no crop).",
        "Published columns are the paper numbers on the same protocol (BM3D/CBM3D, DnCNN-S/CDnCNN-B). PSNR and SSIM",
        "are means over the images of each image's value.",
        "",
        *provenance_lines(meta),
        "",
        "Seconds are measured in this run: on every image for our models, on the first `--timed-images` of each set",
        "for the cached classical baselines (whose quality comes from the cache). Set12 mixes 256x256 and 512x512",
        "images, so compare methods there by seconds per megapixel (s/MPx), which sums the timed images' pixels.",
        "",
        (
            "| set | sigma | method | PSNR (dB) | SSIM | s/image (timed images) | s/MPx | images | published BM3D "
            "| published DnCNN |"
        ),
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        bm3d_pub, dncnn_pub, _ = PUBLISHED.get(r["set"], {}).get(int(r["sigma"]), (None, None, None))
        lines.append(
            f"| {r['set']} | {r['sigma']:g} | {r['method']} | {r['psnr']:.2f} | {r['ssim']:.4f} | "
            f"{r['seconds_per_image']:.2f} ({r['timed_images']}) | {r['seconds_per_megapixel']:.2f} | {r['images']} | "
            f"{bm3d_pub or '-'} | {dncnn_pub or '-'} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--test-dir", type=Path, default=DEFAULT_TEST_DIR)
    parser.add_argument("--sets", nargs="+", default=[*GRAY_SETS, *COLOR_SETS])
    parser.add_argument("--sigmas", nargs="+", type=float, default=[15, 25, 50])
    parser.add_argument(
        "--methods",
        nargs="+",
        choices=method_names("denoise"),
        metavar="METHOD",
        help="registered denoisers, <model>+x8 for the self-ensemble (default: the matching DnCNN and (C)BM3D)",
    )
    parser.add_argument("--limit", type=positive_int, help="only the first N images of each set")
    parser.add_argument("--device", default="auto")
    parser.add_argument(
        "--timed-images",
        type=positive_int,
        default=2,
        help="images per set that cached baselines rerun (the figure and every time come from rerun images)",
    )
    add_cache_dir(parser)
    add_output(parser, "denoise")
    args = parser.parse_args(argv)
    sources = {test_set: HELDOUT if test_set == GRAY_HELDOUT else test_set for test_set in args.sets}
    images = set_images(parser, args.test_dir, sorted(set(sources.values())), args.limit)
    tune_allocator()
    methods = {test_set: args.methods or default_methods(test_set) for test_set in args.sets}
    restorers = {method: load_method(method, device=args.device) for names in methods.values() for method in names}
    command = "python -m benchmarks.denoise " + shlex.join(sys.argv[1:] if argv is None else argv)
    meta = provenance(command, args.limit, restorers=restorers.values())
    results, examples = [], {}
    figure_sigma = min(args.sigmas, key=lambda sigma: abs(sigma - 25))
    for test_set in args.sets:
        paths = images[sources[test_set]]
        for method in methods[test_set]:
            for sigma in filter(lambda sigma: runs_at(method, sigma), args.sigmas):
                summary, first = evaluate(
                    method, restorers[method], test_set, paths, sigma, args.timed_images, args.cache_dir
                )
                results.append({"set": test_set, "sigma": sigma, "method": method, **summary})
                if test_set == args.sets[0] and sigma == figure_sigma:
                    examples[method] = first
                print(
                    f"{test_set:9} sigma {sigma:4g} {method:12} {summary['psnr']:.2f} dB "
                    f"{summary['ssim']:.4f} {summary['seconds_per_image']:.2f} s/image"
                )
    md, js = write_results(args.output, markdown_table(results, meta), {"meta": meta, "results": results})
    kinds = {method_spec(m).build is not None for m in examples}
    if kinds == {True, False}:  # a learned model and a baseline to compare
        restore.io.write_image(md.with_suffix(".png"), figure(examples))
    print(f"wrote {md} and {js}")


if __name__ == "__main__":
    main()
