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


def test_images(test_dir: Path, name: str, limit: int | None = None) -> list[Path]:
    """The images of one test set, sorted by name."""
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


def write_results(stem: str, markdown: str, data: dict) -> tuple[Path, Path]:
    """Write ``<stem>.md`` and ``<stem>.json`` in ``benchmarks/results/`` atomically."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    paths = RESULTS_DIR / f"{stem}.md", RESULTS_DIR / f"{stem}.json"
    for path, text in zip(paths, (markdown, json.dumps(data, indent=2) + "\n")):
        write_atomic(path, text)
    return paths
