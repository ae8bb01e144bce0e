"""Burst denoising benchmark: fixed-seed synthetic bursts from the gray versions of Kodak24, BSD68 and the held-out
photos (``benchmarks.common.HELDOUT``, not in shared/).

    python -m benchmarks.burst                                   # every method, gains 1/2/4/8 + a large-shift row
    python -m benchmarks.burst --methods burst-average burst-align --sets Kodak24 --limit 4 --output /tmp/burst-try

Protocol (the KPN paper's, ``pipelines.burst_data``): each test image in gray, its centre crop, 8 frames with random
translations (up to 2 output pixels; 10% of frames displaced up to 8), downsampled 4x so shifts are sub-pixel,
white level 1, read/shot noise of the gain: log10(read) = -2.4 + log10(gain) and log10(shot) = -1.6 + 0.2 log2(gain),
i.e. the four highest of six levels evenly spaced in log over the training ranges [-3, -1.5] and [-2, -1] (our
reconstruction of the paper's gains; its exact values were not available offline).
Seeds crc32("<set>/<image>/<gain>/<shift>").
Every method gets the true (read, shot), except ``kpn-burst-auto``: kpn-burst with ``noise="auto"`` (the API's
default), which estimates them from the burst (``restore.ops.burst_noise``). BM3D and BM4D meet the signal-dependent
noise under a variance-stabilizing transform (``restore.baselines_burst``; chosen on validation bursts by
``benchmarks.burst_tuning``). PSNR/SSIM after the sRGB curve, on uint8, with an 8-pixel border crop.
The "shift x2" rows double the translations at gain 4. ``kpn-burst-unaligned`` is kpn-burst without its whole-pixel
pre-alignment (``align=False``), to show what the alignment adds. BM3D's and BM4D's quality (about 1 and 3-7 s per
burst) is cached per burst in ``benchmarks/cache/burst-burst-bm3d.json`` and ``burst-burst-bm4d.json``
(``--cache-dir`` for another folder; keyed by set, image name, gain, shift and the image file's sha256, not by the
method's code: delete a method's cache when it changes); their time is measured again on the first
``--timed-images``.
Writes ``benchmarks/results/burst.md``, ``.json`` and ``burst.png`` (first image at gain 4: reference / average /
best baseline / KPN / clean).
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, replace

import cv2
import numpy as np
import torch

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
    positive_int,
    provenance,
    remember,
    set_images,
    write_quality_results,
)
from pipelines.burst_data import GAINS, BurstSpec, gain_noise, synthesize_bursts
from restore.figures import side_by_side
from restore.metrics import psnr, ssim, to_uint8
from restore.ops.color import srgb_from_linear
from restore.registry import list_specs
from restore.runtime import tune_allocator

BASELINES = ("burst-average", "burst-align", "burst-hdrplus", "burst-bm3d", "burst-bm4d")
VARIANTS = {  # method -> (model, options): a learned model called otherwise, e.g. an ablation row
    "kpn-burst-unaligned": ("kpn-burst", {"align": False}),
    "kpn-burst-auto": ("kpn-burst", {"noise": "auto"}),
    "kpn-burst-raw-auto": ("kpn-burst-raw", {"noise": "auto"}),
}
FIGURE_GAIN = 4  # the figure shows the first image of the first set at this gain
SPEC = BurstSpec(white_level=(1.0, 1.0))
PUBLISHED = "KPN paper, its own synthetic test set (a different test set): gain 1/2/4/8 = 36.5 / 33.9 / 31.2 / 28.0 dB"


def model_and_options(method: str) -> tuple[str, dict]:
    """The registered model behind a benchmark method and the options it is called with (``VARIANTS``)."""
    return VARIANTS.get(method, (method, {}))


def display(linear: np.ndarray) -> np.ndarray:
    """Linear gray on [0, 1] -> sRGB uint8."""
    return to_uint8(srgb_from_linear(torch.from_numpy(np.clip(linear, 0.0, 1.0)).float()).numpy())


def gray_burst(
    gray: np.ndarray, seed: str, gain: float, shift_factor: float = 1.0
) -> tuple[np.ndarray, np.ndarray, float, float]:
    """The burst of a gray uint8 image (H, W) by this benchmark's protocol, its seed crc32(``seed``): (noisy frames
    (N, H', W') float32, clean reference (H', W'), read, shot)."""
    side = min(gray.shape) // SPEC.downsample - 2 * int(SPEC.outlier_shift)
    spec = replace(SPEC, size=side // 16 * 16, max_shift=SPEC.max_shift * shift_factor)
    top, left = (gray.shape[0] - spec.crop) // 2, (gray.shape[1] - spec.crop) // 2
    crop = torch.from_numpy(gray[top : top + spec.crop, left : left + spec.crop]).float()[None, None] / 255
    generator = torch.Generator().manual_seed(zlib.crc32(seed.encode()))
    read, shot = gain_noise(gain)
    burst = synthesize_bursts(crop, spec, generator, torch.tensor([read]), torch.tensor([shot]))
    return burst.noisy[0, :, 0].numpy(), burst.clean[0, 0].numpy(), read, shot


def test_burst(path, test_set: str, gain: float, shift_factor: float):
    """The fixed-seed burst of one test image (``gray_burst``, seed "<set>/<image>/<gain>/<shift>")."""
    image = restore.io.read_image(path)
    gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    return gray_burst(gray, f"{test_set}/{path.name}/{gain:g}/{shift_factor:g}", gain, shift_factor)


def score(estimate: np.ndarray, clean: np.ndarray) -> dict:
    """PSNR and SSIM after the sRGB curve, on uint8, an 8-pixel border cropped (any trailing channels)."""
    a, b = display(estimate)[8:-8, 8:-8], display(clean)[8:-8, 8:-8]
    return {"psnr": psnr(a, b), "ssim": ssim(a, b)}


@dataclass(frozen=True)
class BurstTask:
    """What differs between the burst benchmarks: how a test burst is made, how a method is called on it and shown,
    and what the report is called.

    ``make(path, test_set, gain, shift_factor)`` -> (noisy burst, clean reference, read, shot);
    ``call(restorer, method, noisy, read, shot)`` -> the estimate, shaped like the clean reference;
    ``show(image)`` -> the figure's sRGB uint8 view. ``name`` is the module under ``benchmarks``, the result file
    stem and the prefix of the per-burst quality caches of the ``cached`` methods; ``model`` is the learned method
    the figure features next to the best of ``baselines``; ``methods`` and ``sets`` are the defaults of ``main``.
    """

    name: str
    title: str
    published: str
    model: str
    baselines: tuple[str, ...]
    methods: tuple[str, ...]
    sets: tuple[str, ...]
    make: Callable
    call: Callable
    show: Callable[[np.ndarray], np.ndarray] = display
    cached: frozenset[str] = frozenset({"burst-bm3d", "burst-bm4d"})
    raw_models: bool = False  # whether its bursts suit the models of camera raws (kpn-burst-raw)

    def method_choices(self) -> list[str]:
        """What ``--methods`` takes: the burst methods and ``VARIANTS``, those of raw models only where they fit."""
        raw = {spec.name for spec in list_specs() if spec.input_kind == "raw-burst"}
        known = [*method_names("burst"), *VARIANTS]
        return [m for m in known if self.raw_models or VARIANTS.get(m, (m,))[0] not in raw]


def run(
    task: BurstTask, methods, restorers, test_set, paths, gain, shift_factor, timed_images, cache_dir, figure
) -> list[dict]:
    """Every method on the bursts of one set at one gain and shift -> one result row per method; the ``cached``
    methods' quality comes from their caches in ``cache_dir`` past the first ``timed_images``."""
    files = {m: cache_path(cache_dir, task.name, m) for m in methods if m in task.cached}
    caches = {m: load_cache(path) for m, path in files.items()}
    rows = {m: [] for m in methods}
    seconds = {m: [] for m in methods}
    for index, path in enumerate(paths):
        noisy, clean, read, shot = task.make(path, test_set, gain, shift_factor)
        outputs = {"reference": noisy[0], "clean": clean}
        key = cache_key(test_set, path, f"{gain:g}", f"{shift_factor:g}")
        for method in methods:
            cache = caches.get(method)
            cached = cached_row(cache, key, index, timed_images)
            if cached is not None:
                rows[method].append(cached)
                continue
            start = time.perf_counter()
            estimate = task.call(restorers[method], method, noisy, read, shot)
            seconds[method].append(time.perf_counter() - start)
            row = {"image": path.name, **score(estimate, clean)}
            rows[method].append(row if cache is None else remember(files[method], cache, key, row))
            outputs[method] = estimate
        if index == 0 and not figure and gain == FIGURE_GAIN and shift_factor == 1 and task.model in outputs:
            scored = [m for m in task.baselines if m in outputs]  # none when only learned methods run
            best = [max(scored, key=lambda m: rows[m][-1]["psnr"])] if scored else []  # scored just above
            labels = [label for label in ("reference", "burst-average", *best, task.model, "clean") if label in outputs]
            figure.append(side_by_side([task.show(outputs[label]) for label in labels], labels))
    label = f"{gain:g}" + ("" if shift_factor == 1 else f" (shift x{shift_factor:g})")
    return [
        {
            "set": test_set,
            "gain": label,
            "method": m,
            **mean_scores(rows[m]),
            "seconds_per_burst": float(np.mean(seconds[m])) if seconds[m] else float("nan"),
            "images": len(rows[m]),
            "rows": rows[m],
        }
        for m in methods
    ]


def run_sets(task: BurstTask, methods, restorers, images: dict, timed_images, cache_dir) -> tuple[list[dict], list]:
    """Every set (name -> image paths) at every gain plus the shift x2 row at gain 4 -> (result rows, [figure] or
    [])."""
    results, figure = [], []
    for test_set, paths in images.items():
        for gain, shift_factor in [*((g, 1.0) for g in GAINS), (4, 2.0)]:
            rows = run(task, methods, restorers, test_set, paths, gain, shift_factor, timed_images, cache_dir, figure)
            results += rows
            for r in rows:
                print(
                    f"{test_set:8} gain {r['gain']:14} {r['method']:14} {r['psnr']:.2f} dB {r['seconds_per_burst']:.2f} s"
                )
    return results, figure


def call_method(restorer, method: str, noisy: np.ndarray, read: float, shot: float) -> np.ndarray:
    """A gray burst method on noisy frames (N, H, W) with its benchmark options (``VARIANTS``) -> (H, W)."""
    return restorer(noisy, **{"noise": (read, shot), **model_and_options(method)[1]})


def main_for(task: BurstTask, argv: list[str] | None, doc: str | None) -> None:
    """The command line of a burst benchmark (``doc`` is its help): run the sets, write the report."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--test-dir", default=DEFAULT_TEST_DIR)
    parser.add_argument("--sets", nargs="+", default=list(task.sets))
    known = task.method_choices()
    default = [m for m in task.methods if m in known]
    parser.add_argument("--methods", nargs="+", choices=known, default=default, metavar="METHOD")
    parser.add_argument("--limit", type=positive_int, help="only the first N images of each set")
    parser.add_argument("--device", default="auto", help="device of the learned models (default: CUDA if present)")
    parser.add_argument(
        "--timed-images", type=positive_int, default=2, help="images per set that cached baselines rerun"
    )
    add_cache_dir(parser)
    add_output(parser, task.name)
    args = parser.parse_args(argv)
    images = set_images(parser, args.test_dir, args.sets, args.limit)
    tune_allocator()  # as the other benchmarks and the command line: timings comparable across tables
    module = task.name.replace("-", "_")
    restorers = {m: load_method(model_and_options(m)[0], device=args.device) for m in args.methods}
    command = f"python -m benchmarks.{module} " + shlex.join(sys.argv[1:] if argv is None else argv)
    meta = provenance(command, args.limit, restorers=restorers.values())
    results, figure = run_sets(task, args.methods, restorers, images, args.timed_images, args.cache_dir)
    md, js = write_quality_results(
        args.output,
        figure[0] if figure else None,
        title=task.title,
        script=f"{module}.py",
        published=task.published,
        meta=meta,
        results=results,
        setting="gain",
        seconds=("s/burst", "seconds_per_burst"),
    )
    print(f"wrote {md} and {js}")


TASK = BurstTask(
    name="burst",
    title="Burst denoising",
    published=PUBLISHED,
    model="kpn-burst",
    baselines=BASELINES,
    methods=("kpn-burst", "kpn-burst-unaligned", "kpn-burst-auto", *BASELINES),
    sets=("Kodak24", "BSD68", HELDOUT),
    make=test_burst,
    call=call_method,
)


def main(argv: list[str] | None = None) -> None:
    main_for(TASK, argv, __doc__)


if __name__ == "__main__":
    main()
