"""How far two runs of the speed benchmark differ: the spread a reader should allow between rows of ``speed.md``.

    python -m benchmarks.speed_spread 0deb595:benchmarks/results/speed.json benchmarks/results/speed.json

Each argument is a ``speed.json`` written by ``python -m benchmarks.speed``, as a file or as ``REVISION:PATH`` of this
repository. Rows are matched by model, size, precision and tile; printed are the median and largest relative change
of their megapixels per second, how many rows moved by over 20%, and the change of each measured machine peak.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
from pathlib import Path

LARGE_CHANGE = 0.2
"""A row that moved by more than this fraction is counted."""


def load_run(source: str) -> dict:
    """A speed benchmark result: from a file, or ``REVISION:PATH`` read with ``git show`` when no such file exists."""
    if Path(source).is_file() or ":" not in source:
        return json.loads(Path(source).read_text())
    return json.loads(subprocess.run(["git", "show", source], check=True, capture_output=True, text=True).stdout)


def row_rates(run: dict) -> dict[tuple, float]:
    """Megapixels per second of each timed row, keyed by (model, size, precision, tile)."""
    return {
        (row["model"], row["size"], row["precision"], row["tile"]): row["megapixels_per_second"]
        for row in run["results"]
    }


def spread(first: dict, second: dict) -> dict:
    """Relative changes from ``first`` to ``second``: rows matched, median, largest, rows over ``LARGE_CHANGE``, and
    the change of each machine peak's convolution rate."""
    rates_first, rates_second = row_rates(first), row_rates(second)
    shared = sorted(set(rates_first) & set(rates_second))
    if not shared:
        raise SystemExit("the two runs share no row (model, size, precision, tile)")
    changes = [abs(rates_second[key] / rates_first[key] - 1) for key in shared]
    peaks = {
        precision: second["machine_peaks"][precision]["conv3x3_gflops"] / peak["conv3x3_gflops"] - 1
        for precision, peak in first["machine_peaks"].items()
        if precision in second["machine_peaks"]
    }
    return {
        "rows": len(shared),
        "median": statistics.median(changes),
        "largest": max(changes),
        "over_large": sum(change > LARGE_CHANGE for change in changes),
        "conv_peaks": peaks,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("first", help="speed.json of the earlier run (a file or REVISION:PATH)")
    parser.add_argument("second", help="speed.json of the later run (a file or REVISION:PATH)")
    args = parser.parse_args(argv)
    result = spread(load_run(args.first), load_run(args.second))
    print(
        f"{result['rows']} rows: median change {result['median']:.0%}, largest {result['largest']:.0%}, "
        f"{result['over_large']} over {LARGE_CHANGE:.0%}"
    )
    for precision, change in result["conv_peaks"].items():
        print(f"{precision} convolution peak: {change:+.0%}")


if __name__ == "__main__":
    main()
