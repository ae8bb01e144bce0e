"""Shared benchmark plumbing: test-set discovery, run provenance, and writing Markdown + JSON results."""

from __future__ import annotations

import datetime
import json
import platform
from pathlib import Path

import torch

from pipelines.model_card import git_commit
from restore.io.atomic import write_atomic

REPO = Path(__file__).resolve().parent.parent
DEFAULT_TEST_DIR = REPO.parent / "shared" / "data" / "test"
RESULTS_DIR = REPO / "benchmarks" / "results"
CACHE_DIR = REPO / "benchmarks" / "cache"
HELDOUT = "skimage"  # the held-out set: photos that are not in shared/ (scikit-image's bundled sample photographs)
HELDOUT_PHOTOS = ("astronaut.png", "chelsea.png", "coffee.png", "motorcycle_left.png", "rocket.jpg")


def test_images(test_dir: Path, name: str, limit: int | None = None) -> list[Path]:
    """The images of one test set, sorted by name; ``HELDOUT`` names the five color photographs scikit-image ships
    (never used in training or tuning; gray benchmarks convert them to gray)."""
    if name == HELDOUT:
        import skimage.data

        folder = Path(skimage.data.__file__).parent
        images = [folder / photo for photo in HELDOUT_PHOTOS]
        return images[:limit] if limit else images
    folder = Path(test_dir) / name
    images = sorted(p for p in folder.iterdir() if p.suffix.lower() in {".png", ".tif", ".bmp", ".jpg"})
    if not images:
        raise FileNotFoundError(f"no test images in {folder}")
    return images[:limit] if limit else images


def provenance(command: str) -> dict:
    """Where and when a benchmark ran: command, commit, machine, torch version, threads and date."""
    return {
        "command": command,
        "commit": git_commit(),
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip()
        + f", {torch.get_num_threads()} threads",
        "torch": torch.__version__,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def provenance_lines(meta: dict) -> list[str]:
    """The Markdown lines that say where a result came from (see ``provenance``)."""
    return [
        f"- command: `{meta['command']}`",
        f"- commit: {meta['commit']}, machine: {meta['machine']}, torch {meta['torch']}, date: {meta['date']}",
    ]


def table(headers: list[str], rows: list[list]) -> list[str]:
    """A Markdown table's lines."""
    return [
        "| " + " | ".join(headers) + " |",
        "|" + "---|" * len(headers),
        *("| " + " | ".join(str(cell) for cell in row) + " |" for row in rows),
    ]


def write_results(stem: str, markdown: str, data: dict) -> tuple[Path, Path]:
    """Write ``<stem>.md`` and ``<stem>.json`` in ``benchmarks/results/`` atomically."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    paths = RESULTS_DIR / f"{stem}.md", RESULTS_DIR / f"{stem}.json"
    for path, text in zip(paths, (markdown, json.dumps(data, indent=2) + "\n")):
        write_atomic(path, text)
    return paths


def cache_path(benchmark: str, method: str) -> Path:
    """The file caching one method's per-image quality in one benchmark."""
    return CACHE_DIR / f"{benchmark}-{method}.json"


def load_cache(benchmark: str, method: str) -> dict:
    path = cache_path(benchmark, method)
    return json.loads(path.read_text()) if path.exists() else {}


def save_cache(benchmark: str, method: str, cache: dict) -> None:
    """Write one method's cache atomically, merged with what is on disk, so that runs of the same method on other
    sets or images can overlap without losing each other's entries."""
    path = cache_path(benchmark, method)
    path.parent.mkdir(parents=True, exist_ok=True)
    merged = {**load_cache(benchmark, method), **cache}
    write_atomic(path, json.dumps(merged, indent=1, sort_keys=True) + "\n")
