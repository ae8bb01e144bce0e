"""Regenerate the README's models table from the registry, the model cards and ``benchmarks/results/*.json``.

    python -m benchmarks.readme

Nothing in the table is typed by hand: training status comes from the cards, PSNR from the benchmark results
(one headline setting per task, ``HEADLINES``).
"""

from __future__ import annotations

import json
import re

from benchmarks.common import REPO, RESULTS_DIR
from restore.api import models

START, END = "<!-- models-table:start -->", "<!-- models-table:end -->"


# task -> (results file stem, the setting shown, its value, how the column names it)
HEADLINES = {
    "denoise": ("denoise", "sigma", 25, "sigma 25"),
    "lowlight": ("lowlight", "ratio", 100, "ratio 100"),
}


def load_results(stem: str) -> tuple[list[dict], dict]:
    path = RESULTS_DIR / f"{stem}.json"
    if not path.exists():
        return [], {}
    data = json.loads(path.read_text())
    return data["results"], data["meta"]


def training_status(card: dict | None) -> str:
    training = (card or {}).get("training", {})
    status = f"{training.get('steps_done', 0)} of {training.get('steps_planned', '?')} steps"
    status += "" if training.get("complete") else " (partial)"
    hardware = {session["device"] for session in training.get("sessions", [])}
    return status + (f", {', '.join(sorted(hardware))}" if hardware else "")


def models_table() -> str:
    loaded = {task: load_results(stem) for task, (stem, *_) in HEADLINES.items()}
    shown = ", ".join(f"{task} at {label}" for task, (*_, label) in HEADLINES.items())
    lines = [f"| model | task | kind | training | test PSNR (dB): {shown} |", "|---|---|---|---|---|"]
    for info in models():
        status = training_status(info.card) if info.kind == "learned" else "classical baseline"
        results, _ = loaded.get(info.task, ([], {}))
        _, setting, value, _ = HEADLINES.get(info.task, (None, None, None, None))
        scores = sorted(
            f"{r['set']} {r['psnr']:.2f}" for r in results if r["method"] == info.name and r.get(setting) == value
        )
        lines.append(f"| `{info.name}` | {info.task} | {info.kind} | {status} | {', '.join(scores) or '-'} |")
    lines.append("")
    for task, (stem, *_) in HEADLINES.items():
        _, meta = loaded[task]
        if meta:
            lines.append(
                f"{task}: `benchmarks/results/{stem}.md` (`{meta['command']}`, commit {meta['commit']}, "
                f"{meta['machine']}, {meta['date']}); full tables with SSIM, timings and published numbers there."
            )
    return "\n".join(lines)


def main() -> None:
    readme = REPO / "README.md"
    text = readme.read_text()
    if START not in text or END not in text:
        raise SystemExit(f"README.md lacks the {START} ... {END} markers")
    block = f"{START}\n{models_table()}\n{END}"
    readme.write_text(re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: block, text, flags=re.DOTALL))
    print("README.md models table updated")


if __name__ == "__main__":
    main()
