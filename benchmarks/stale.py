"""Which benchmark results are out of date, and the command that reruns each.

    python -m benchmarks.stale                  # the results in benchmarks/results/ that are out of date
    python -m benchmarks.stale dncnn-color      # every result that ran dncnn-color, up to date or not: what to
                                                # rerun once new weights for it ship

A result is out of date where ``benchmarks.readme`` would refuse it: it recorded another sha256 for a model's weights
than that model's shipped card gives, or it ran with RESTORE_WEIGHTS_DIR or on part of the sets (--limit). Results
that record no weights at all (timings written before 2026-12-05) cannot be checked and are named at the end.
Exits with status 1 where a listed result is out of date, else 0.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from benchmarks import readme
from restore.registry import list_specs


@dataclass(frozen=True)
class ResultStatus:
    """One results file: its name, the command that wrote it, the learned models it ran and what is out of date."""

    name: str
    command: str
    models: tuple[str, ...]
    problems: tuple[str, ...]


def result_statuses(results_dir: Path) -> tuple[list[ResultStatus], list[str]]:
    """The status of every ``*.json`` result in ``results_dir`` that records its weights, by name; and the names of
    those that record none."""
    statuses, unchecked = [], []
    for path in sorted(results_dir.glob("*.json")):
        meta = json.loads(path.read_text()).get("meta", {})
        if "weights" not in meta:
            unchecked.append(path.name)
            continue
        models = tuple(sorted(meta["weights"]))
        statuses.append(ResultStatus(path.name, meta["command"], models, tuple(readme.result_problems(meta))))
    return statuses, unchecked


def report(statuses: list[ResultStatus], unchecked: list[str], models: list[str]) -> tuple[list[str], bool]:
    """The lines to print and whether any listed result is out of date: every result that ran one of ``models``,
    or, where none is named, every result that is out of date."""
    listed = [s for s in statuses if set(s.models) & set(models)] if models else [s for s in statuses if s.problems]
    lines = []
    for status in listed:
        state = f"out of date: {'; '.join(status.problems)}" if status.problems else "up to date"
        lines += [f"{status.name} ({', '.join(status.models)}): {state}", f"    {status.command}"]
    if not listed:
        lines.append(
            f"no result ran {' or '.join(models)}" if models else "every result records the shipped weights in full"
        )
    if unchecked:
        lines.append(f"not checked (they record no weights): {', '.join(unchecked)}")
    return lines, any(status.problems for status in listed)


def main(argv: list[str] | None = None) -> None:
    learned = sorted(spec.name for spec in list_specs() if spec.weights)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="*", metavar="MODEL", help="learned models: " + ", ".join(learned))
    args = parser.parse_args(argv)
    unknown = sorted(set(args.models) - set(learned))
    if unknown:  # checked here: argparse's choices refuse an empty nargs="*" list
        parser.error(f"not a learned model: {', '.join(unknown)} (choose from {', '.join(learned)})")
    lines, out_of_date = report(*result_statuses(readme.RESULTS_DIR), args.models)
    print("\n".join(lines))
    sys.exit(1 if out_of_date else 0)


if __name__ == "__main__":
    main()
