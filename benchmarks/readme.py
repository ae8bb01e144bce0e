"""Regenerate the README's models table from the registry, the model cards and ``benchmarks/results/*.json``.

    python -m benchmarks.readme

Nothing in the table is typed by hand: training status comes from the cards, PSNR from the benchmark results.
"""

from __future__ import annotations

import json
import re

from benchmarks.common import REPO, RESULTS_DIR
from restore.api import models

START, END = "<!-- models-table:start -->", "<!-- models-table:end -->"


def denoise_results() -> tuple[dict, dict]:
    path = RESULTS_DIR / "denoise.json"
    if not path.exists():
        return {}, {}
    data = json.loads(path.read_text())
    return {(r["method"], r["set"], r["sigma"]): r for r in data["results"]}, data["meta"]


def models_table() -> str:
    results, meta = denoise_results()
    lines = [
        "| model | task | kind | training | test PSNR (dB), sigma 25 |",
        "|---|---|---|---|---|",
    ]
    for info in models():
        if info.kind == "learned":
            training = (info.card or {}).get("training", {})
            status = f"{training.get('steps_done', 0)} of {training.get('steps_planned', '?')} steps"
            status += "" if training.get("complete") else " (partial)"
            hardware = {s["device"] for s in training.get("sessions", [])}
            status += f", {', '.join(sorted(hardware))}" if hardware else ""
        else:
            status = "classical baseline"
        scores = [
            f"{test_set} {r['psnr']:.2f}"
            for (method, test_set, sigma), r in sorted(results.items())
            if method == info.name and sigma == 25
        ]
        lines.append(f"| `{info.name}` | {info.task} | {info.kind} | {status} | {', '.join(scores) or '-'} |")
    if meta:
        lines += [
            "",
            (
                f"PSNR from `benchmarks/results/denoise.md` (`{meta['command']}`, commit {meta['commit']}, "
                f"{meta['machine']}, {meta['date']}); full table with SSIM, timings and published numbers there."
            ),
        ]
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
