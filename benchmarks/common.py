"""Shared benchmark plumbing: test-set discovery, run provenance, and writing Markdown + JSON results."""

from __future__ import annotations

import argparse
import datetime
import json
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import cv2
import numpy as np
import torch

import restore
import restore.io
from pipelines.arguments import bounded_float, bounded_int
from pipelines.model_card import REPO, RESULTS, git_commit
from restore.api import Restorer
from restore.io.atomic import write_atomic
from restore.registry import ModelSpec, file_sha256, get_spec, list_specs, weights_dir
from restore.runtime import cpu_description

DEFAULT_TEST_DIR = REPO.parent / "shared" / "data" / "test"
RESULTS_DIR = REPO / RESULTS
CACHE_DIR = REPO / "benchmarks" / "cache"
# a re-timed image whose PSNR moved less than this keeps its cached row: float noise (BM3D's sums from run to run;
# OpenCV NL-means on a level estimated on another CPU, 0.0012 dB on an Intel Xeon against an AMD EPYC's cache), half
# the tables' last digit (0.01 dB) and far below what a changed method moves
CACHE_TOLERANCE_DB = 5e-3
HELDOUT = "skimage"  # the held-out set: photos that are not in shared/ (scikit-image's bundled sample photographs)
HELDOUT_PHOTOS = ("astronaut.png", "chelsea.png", "coffee.png", "motorcycle_left.png", "rocket.jpg")
ENSEMBLE_SUFFIX = "+x8"  # a method name ending in it: the model with its geometric self-ensemble (ensemble=True)
ORACLE_SUFFIX = "+oracle"  # a denoising baseline given its input's true RMS error as the noise level

# OpenCV's methods (NL-means, resizing, alignment) use as many threads as torch (OMP_NUM_THREADS), so the thread
# count that every result's provenance line states holds for the classical baselines too.
cv2.setNumThreads(torch.get_num_threads())


def method_spec(method: str) -> ModelSpec:
    """The registered model behind a benchmark method: its name, or its name + ``ENSEMBLE_SUFFIX``."""
    return get_spec(method.removesuffix(ENSEMBLE_SUFFIX))


def load_method(method: str, device: str = "auto") -> Restorer:
    """A benchmark method's restorer: the model, self-ensembled where the name ends in ``ENSEMBLE_SUFFIX``."""
    name = method.removesuffix(ENSEMBLE_SUFFIX)
    return restore.load(name, device=device, ensemble=name != method)


def test_images(test_dir: Path, name: str, limit: int | None = None) -> list[Path]:
    """The images of one test set, sorted by name, the first ``limit`` of them where given; ``HELDOUT`` names the
    five color photographs scikit-image ships (never used in training or tuning; gray benchmarks convert them to
    gray).

    Raises:
        FileNotFoundError: the set's folder is missing or holds no images.
    """
    if name == HELDOUT:
        import skimage.data

        folder = Path(skimage.data.__file__).parent
        return [folder / photo for photo in HELDOUT_PHOTOS][:limit]
    folder = Path(test_dir) / name
    if not folder.is_dir():
        raise FileNotFoundError(f"no test set {name!r}: {folder} is not a folder")
    images = sorted(p for p in folder.iterdir() if p.suffix.lower() in {".png", ".tif", ".bmp", ".jpg"})
    if not images:
        raise FileNotFoundError(f"no test images in {folder}")
    return images[:limit]


def set_images(
    parser: argparse.ArgumentParser, test_dir: Path, sets: list[str], limit: int | None = None
) -> dict[str, list[Path]]:
    """Every set's images (``test_images``), gathered before any work runs: a missing or empty set is a usage
    error (``parser.error``: one line, exit status 2)."""
    try:
        return {name: test_images(test_dir, name, limit) for name in sets}
    except FileNotFoundError as error:
        parser.error(f"--sets: {error}")


positive_int = bounded_int(1)  # an argparse type: image counts, repeats, steps
positive_float = bounded_float(0, exclusive_low=True)  # an argparse type: exposure ratios


def output_stem(text: str) -> Path:
    """An argparse type for ``--output``: a bare stem means ``RESULTS_DIR/<stem>``, anything with a folder is the
    path of the stem (``<stem>.md``, ``.json`` and figures are written beside it). The folder is created now, so
    that a bad location fails before any work."""
    if Path(text).name in ("", ".", "..") or text.endswith(("/", os.sep)):
        raise argparse.ArgumentTypeError(f"{text!r} names a folder, not a file stem such as results/my-run")
    stem = RESULTS_DIR / text if Path(text).name == text else Path(text)
    try:
        stem.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise argparse.ArgumentTypeError(f"cannot create the folder {stem.parent}: {error.strerror}") from None
    if not os.access(stem.parent, os.W_OK):
        raise argparse.ArgumentTypeError(f"the folder {stem.parent} is not writable")
    return stem


def add_output(parser: argparse.ArgumentParser, default: str) -> None:
    """The ``--output`` option every benchmark shares (``output_stem``)."""
    parser.add_argument(
        "--output",
        type=output_stem,
        default=default,
        help=f"result file stem, in benchmarks/results/ unless it names a folder (default: {default})",
    )


def method_names(task: str) -> list[str]:
    """What a benchmark's ``--methods`` takes for a task: its registered models, and those that take the
    self-ensemble also with ``ENSEMBLE_SUFFIX``."""
    specs = [spec for spec in list_specs() if spec.task == task]
    return [*(spec.name for spec in specs), *(spec.name + ENSEMBLE_SUFFIX for spec in specs if spec.self_ensemble)]


def provenance(
    command: str, limit: int | None = None, models: Iterable[str] = (), restorers: Iterable[Restorer] = ()
) -> dict:
    """Where and when a benchmark ran: command, commit, machine, torch version, threads and date, and the device and
    precision the learned ``restorers`` ran in; and what keeps a result out of the README (``benchmarks.readme``):
    the ``--limit`` of a partial run (None: every image), the weights folder ``RESTORE_WEIGHTS_DIR`` where set (None:
    the shipped weights) and the sha256 of the weights file of each learned model among ``models`` (registered
    names) and ``restorers``."""
    restorers = list(restorers)
    models = [*models, *(restorer.spec.name for restorer in restorers)]
    learned = [restorer for restorer in restorers if restorer.network is not None]
    return {
        "devices": sorted({f"{r.device.type} {str(r.dtype).removeprefix('torch.')}" for r in learned}),
        "command": command.strip(),
        "commit": git_commit(),
        "machine": f"{cpu_description()}, {torch.get_num_threads()} threads",
        "torch": torch.__version__,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "limit": limit,
        "weights_dir": os.environ.get("RESTORE_WEIGHTS_DIR"),
        "weights": weights_sha256(models),
    }


def weights_sha256(models: Iterable[str]) -> dict[str, str]:
    """The sha256 of each learned model's weights file in the weights folder (``restore.registry.weights_dir``), by
    model name; classical methods have none."""
    specs = [get_spec(name) for name in sorted(set(models))]
    return {spec.name: file_sha256(weights_dir() / f"{spec.weights}.safetensors") for spec in specs if spec.weights}


def provenance_lines(meta: dict) -> list[str]:
    """The Markdown lines that say where a result came from (see ``provenance``), and whether it is partial or made
    with other weights than the shipped ones."""
    return [
        f"- command: `{meta['command'].strip()}`",
        f"- commit: {meta['commit']}, machine: {meta['machine']}, torch {meta['torch']}, date: {meta['date']}",
        *([f"- learned models ran on: {', '.join(meta['devices'])}"] if meta.get("devices") else []),
        *([f"- partial run: the first {meta['limit']} images of each set"] if meta.get("limit") else []),
        *([f"- weights from RESTORE_WEIGHTS_DIR={meta['weights_dir']}"] if meta.get("weights_dir") else []),
    ]


def settings_table(
    results: list[dict], settings: list[dict], chosen: dict, name: Callable[[dict], str], cell: Callable[[dict], str]
) -> list[str]:
    """The Markdown lines of a tuning table: a row per setting (``name(setting)``, in bold where ``chosen``) with a
    cell (``cell(row)``) per gain and one over all gains, from ``results`` rows with "setting" and "gain" keys."""
    gains = sorted({r["gain"] for r in results if r["gain"] != "all"})
    lines = [
        "| setting | " + " | ".join(f"gain {g:g}" for g in gains) + " | all gains |",
        "|---|" + "---|" * (len(gains) + 1),
    ]
    for setting in settings:
        cells = [cell(r) for gain in [*gains, "all"] for r in results if (r["setting"], r["gain"]) == (setting, gain)]
        label = name(setting)
        lines.append(f"| {f'**{label}**' if setting == chosen else label} | " + " | ".join(cells) + " |")
    return lines


def pooled_by_gain(
    scores: dict[tuple[int, float], list], settings: list[dict], gains: list[float]
) -> Iterator[tuple[dict, float | str, list]]:
    """(setting, gain, its per-burst scores) for every setting and gain, then gain "all" with the scores of every
    gain; ``scores`` maps (setting index, gain) to the scores of that setting's bursts at that gain."""
    for index, setting in enumerate(settings):
        for gain in [*gains, "all"]:
            yield setting, gain, [s for (i, g), ss in scores.items() if i == index and gain in (g, "all") for s in ss]


def mean_scores(rows: Iterable[dict]) -> dict[str, float]:
    """{"psnr", "ssim"}: the means over ``rows`` (dicts holding each image's "psnr" and "ssim")."""
    rows = list(rows)
    return {key: float(np.mean([r[key] for r in rows])) for key in ("psnr", "ssim")}


def table(headers: list[str], rows: list[list]) -> list[str]:
    """A Markdown table's lines."""
    return [
        "| " + " | ".join(headers) + " |",
        "|" + "---|" * len(headers),
        *("| " + " | ".join(str(cell) for cell in row) + " |" for row in rows),
    ]


def quality_report(
    title: str, script: str, published: str, meta: dict, results: list[dict], setting: str, seconds: tuple[str, str]
) -> str:
    """A benchmark's Markdown: header, provenance and one row per result (set, ``setting``, method, PSNR, SSIM, time,
    images). ``seconds`` is (column header, result key) of the time per input."""
    header, key = seconds
    lines = [
        f"# {title}",
        "",
        f"Generated by `benchmarks/{script}`; do not edit by hand. Protocol: the module docstring.",
        f"Published reference: {published}.",
        "PSNR and SSIM are means over the images of each image's value.",
        "",
        *provenance_lines(meta),
        "",
        *table(
            ["set", setting, "method", "PSNR (dB)", "SSIM", header, "images"],
            [
                [
                    r["set"],
                    r[setting],
                    r["method"],
                    f"{r['psnr']:.2f}",
                    f"{r['ssim']:.4f}",
                    f"{r[key]:.2f}",
                    r["images"],
                ]
                for r in results
            ],
        ),
    ]
    return "\n".join(lines) + "\n"


def write_results(stem: Path, markdown: str, data: dict) -> tuple[Path, Path]:
    """Write ``<stem>.md`` and ``<stem>.json`` atomically (``stem`` from ``output_stem``, its folder made)."""
    paths = stem.with_name(f"{stem.name}.md"), stem.with_name(f"{stem.name}.json")
    for path, text in zip(paths, (markdown, json.dumps(data, indent=2) + "\n")):
        write_atomic(path, text)
    return paths


def write_quality_results(stem: Path, figure: np.ndarray | None, **report) -> tuple[Path, Path]:
    """Write a quality benchmark's ``<stem>.md`` (``quality_report(**report)``) and ``<stem>.json`` (its meta,
    published reference and results), and its figure (an HxWx3 uint8 image) as ``<stem>.png`` where given."""
    data = {key: report[key] for key in ("meta", "published", "results")}
    paths = write_results(stem, quality_report(**report), data)
    if figure is not None:
        restore.io.write_image(stem.with_name(f"{stem.name}.png"), figure)
    return paths


def add_cache_dir(parser: argparse.ArgumentParser) -> None:
    """The ``--cache-dir`` option of the benchmarks that cache their slow baselines' quality."""
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=CACHE_DIR,
        help="folder of the per-image quality cache (default: the committed benchmarks/cache; another folder, e.g. a "
        "copy of it, keeps the committed one untouched)",
    )


def cache_path(folder: Path, benchmark: str, method: str) -> Path:
    """The file caching one method's per-image quality in one benchmark."""
    return Path(folder) / f"{benchmark}-{method}.json"


def cache_key(test_set: str, image: Path, *setting: str) -> str:
    """The cache key of one image in one setting: set, file name, the setting (e.g. sigma and seed) and the sha256 of
    the image file, so that an entry holds for the very same image only (another file of that name misses)."""
    return "|".join([test_set, image.name, *setting, file_sha256(image)])


def load_cache(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def save_cache(path: Path, cache: dict) -> None:
    """Write one method's cache atomically, merged with what is on disk, so that runs of the same method on other
    sets or images can overlap without losing each other's entries."""
    path.parent.mkdir(parents=True, exist_ok=True)
    merged = {**load_cache(path), **cache}
    write_atomic(path, json.dumps(merged, indent=1, sort_keys=True) + "\n")


def cached_row(cache: dict | None, key: str, index: int, timed_images: int) -> dict | None:
    """A method's cached row for image ``key``, or None when the image has to be scored: no cache, no entry, or one of
    the first ``timed_images`` images of a set, which always run so that the method is timed."""
    return None if cache is None or index < timed_images else cache.get(key)


def remember(path: Path, cache: dict, key: str, row: dict) -> dict:
    """Cache a method's freshly scored row under ``key`` in ``cache`` and its file ``path``, and return the row to
    report. An image scored again only to time it keeps its cached row when the PSNRs agree to ``CACHE_TOLERANCE_DB``
    (BM3D's and BM4D's float sums move the 6th decimal from run to run), so a rerun leaves the committed cache as it
    was.

    Raises:
        SystemExit: the PSNRs disagree: the method or the making of its test input changed since the cache was
            written, so the other images' cached rows are stale too and a table mixing them would be wrong.
    """
    cached = cache.get(key)
    if cached is None:
        cache[key] = row
        save_cache(path, cache)
        return row
    if abs(cached["psnr"] - row["psnr"]) > CACHE_TOLERANCE_DB:
        raise SystemExit(
            f"{path}: {key} is cached at {cached['psnr']:.4f} dB but scores {row['psnr']:.4f} dB now: the method or "
            "its test input changed since the cache was written, so its other rows are stale too. Delete the file "
            "to score every image again (or give --cache-dir another folder)"
        )
    return cached
