"""Tiled inference: agreement with untiled inference, and peak memory on a 24-megapixel photo.

    python -m benchmarks.tiling                       # dncnn-color, 2400x1600 agreement, 6000x4000 memory run

The test photo is the bundled sample, resized (bicubic) to the target size with Gaussian noise sigma 25 (seed 0).
Peak memory is the process's maximum resident set size (``ru_maxrss``) measured in a fresh subprocess for each run.
Writes ``benchmarks/results/tiling.md`` and ``.json`` (``--output`` for another stem or folder).
"""

from __future__ import annotations

import argparse
import json
import resource
import shlex
import subprocess
import sys
import time
from importlib import resources

import cv2
import numpy as np

from benchmarks.common import add_output, provenance, write_results
from restore.registry import list_specs

AGREEMENT = (2400, 1600, 512)  # width, height and tile of the tiled-vs-untiled comparison


def test_photo(width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """The bundled sample resized to (height, width, 3) uint8, and a noisy uint8 copy (sigma 25, seed 0)."""
    import restore

    with resources.as_file(resources.files("restore") / "data" / "sample.png") as path:
        clean = cv2.resize(restore.io.read_image(path), (width, height), interpolation=cv2.INTER_CUBIC)
    noise = np.random.default_rng(0).normal(0, 25, clean.shape)
    return clean, np.clip(np.round(clean + noise), 0, 255).astype(np.uint8)


def measure(model: str, width: int, height: int, tile: int | str) -> dict:
    """Restore one noisy photo with ``tile`` (pixels, "auto" or "off"); returns seconds, peak RSS and PSNR. Run in a
    subprocess (``run_isolated``) so that peaks are its own."""
    import restore
    from restore.metrics import psnr
    from restore.runtime import tune_allocator

    tune_allocator()
    clean, noisy = test_photo(width, height)
    restorer = restore.load(model, device="cpu", tile=None if tile == "off" else tile)
    start = time.perf_counter()
    out = restorer(noisy)
    seconds = time.perf_counter() - start
    return {
        "model": model,
        "width": width,
        "height": height,
        "tile": str(restorer.tile),
        "seconds": round(seconds, 2),
        "megapixels_per_second": round(width * height / 1e6 / seconds, 3),
        "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2),
        "psnr_noisy": round(psnr(noisy, clean), 3),
        "psnr_out": round(psnr(out, clean), 3),
        "checksum": int(out.astype(np.int64).sum()),
    }


def run_isolated(model: str, width: int, height: int, tile: int | str) -> dict:
    """``measure`` in a fresh Python process; a failure there is raised here with the end of its error output."""
    call = f"measure({model!r}, {width}, {height}, {tile!r})"
    code = f"import json; from benchmarks.tiling import measure; print(json.dumps({call}))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    if result.returncode:
        raise RuntimeError(f"{call} failed in its subprocess (exit {result.returncode}):\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def agreement(model: str, width: int, height: int, tile: int) -> dict:
    """Float outputs tiled vs untiled on the same noisy photo: max abs difference and PSNR of each vs clean."""
    import restore
    from restore.metrics import psnr, to_uint8

    clean, noisy = test_photo(width, height)
    noisy = noisy.astype(np.float32) / 255
    whole = restore.load(model, device="cpu", tile=None)(noisy)
    tiled = restore.load(model, device="cpu", tile=tile)(noisy)
    psnr_whole, psnr_tiled = psnr(to_uint8(whole), clean), psnr(to_uint8(tiled), clean)
    return {
        "model": model,
        "width": width,
        "height": height,
        "tile": tile,
        "max_abs_difference": float(np.abs(whole - tiled).max()),
        "psnr_untiled": round(psnr_whole, 4),
        "psnr_tiled": round(psnr_tiled, 4),
        "psnr_difference_db": round(abs(psnr_whole - psnr_tiled), 4),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    denoisers = [spec.name for spec in list_specs() if spec.task == "denoise" and spec.build is not None]
    parser.add_argument("--model", choices=denoisers, default="dncnn-color", metavar="MODEL", help="a learned denoiser")
    parser.add_argument("--large", nargs=2, type=int, default=[6000, 4000], metavar=("W", "H"))
    add_output(parser, "tiling")
    args = parser.parse_args(argv)
    meta = provenance(
        "python -m benchmarks.tiling " + shlex.join(sys.argv[1:] if argv is None else argv), models=[args.model]
    )
    agree = agreement(args.model, *AGREEMENT)
    print(agree)
    large = run_isolated(args.model, *args.large, "auto")
    print(large)
    md = "\n".join(
        [
            "# Tiled inference",
            "",
            "Generated by `benchmarks/tiling.py`; do not edit by hand.",
            "",
            f"- command: `{meta['command']}`",
            f"- commit: {meta['commit']}, machine: {meta['machine']}, torch {meta['torch']}, date: {meta['date']}",
            "",
            "## Tiled vs untiled (float output, same noisy input)",
            "",
            "| model | size | tile | max abs difference | PSNR untiled | PSNR tiled | difference (dB) |",
            "|---|---|---|---|---|---|---|",
            (
                f"| {agree['model']} | {agree['width']}x{agree['height']} | {agree['tile']} | {agree['max_abs_difference']:.2e} "
                f"| {agree['psnr_untiled']:.3f} | {agree['psnr_tiled']:.3f} | {agree['psnr_difference_db']:.4f} |"
            ),
            "",
            "## Large photo, tile='auto', CPU",
            "",
            "| model | size | tile | seconds | MPx/s | peak RSS (GB) | PSNR noisy -> out |",
            "|---|---|---|---|---|---|---|",
            (
                f"| {large['model']} | {large['width']}x{large['height']} | {large['tile']} | {large['seconds']} | "
                f"{large['megapixels_per_second']} | {large['peak_rss_gb']} | {large['psnr_noisy']} -> {large['psnr_out']} |"
            ),
            "",
        ]
    )
    paths = write_results(args.output, md, {"meta": meta, "agreement": agree, "large": large})
    print("wrote", *paths)


if __name__ == "__main__":
    main()
