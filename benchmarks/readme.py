"""Regenerate the README's models table from the registry, the model cards and ``benchmarks/results/*.json``.

    python -m benchmarks.readme

Also the speed summary (between the ``speed`` markers) from ``benchmarks/results/speed.json``, the runs on other
machines (``SPEED_RESULTS``), the GPU run (``GPU_SPEED_RESULTS``) and ``speed-24mp.json``. Nothing in the table is
typed by hand: training status comes from the cards, PSNR from the benchmark results (one headline setting per task,
``HEADLINES``). A result of a partial run (``--limit``) or of other weights than the shipped ones is refused
(``check_result``).
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from benchmarks.common import ORACLE_SUFFIX, REPO, RESULTS_DIR
from restore.api import models
from restore.registry import get_spec, run_used_its_minutes

START, END = "<!-- models-table:start -->", "<!-- models-table:end -->"
SPEED_START, SPEED_END = "<!-- speed:start -->", "<!-- speed:end -->"


# task -> (results file stem, the setting shown, its value, how the column names it)
HEADLINES = {
    "denoise": ("denoise", "sigma", 25, "sigma 25"),
    "lowlight": ("lowlight", "ratio", 100, "ratio 100"),
    "burst": ("burst", "gain", "4", "burst at gain 4"),
    "deblur": ("deblur", "kernels", "levin", "deblur with the Levin kernels"),
}
# models whose headline comes from their own task's other benchmark: (result stem, what differs in its numbers)
MODEL_RESULTS = {"kpn-burst-raw": ("burst-raw", "PSNR on the packed raw planes")}
LEVEL_RESULTS = "denoise-levels"  # the per-level denoisers at sigma 15 and 50; they are shown at their own sigma
COLOR_LEVEL_RESULTS = "denoise-color-levels"  # the color denoisers at sigma 15 and 50, linked below the table
COLOR_ENSEMBLE_RESULTS = "denoise-ensemble"  # dncnn-color's self-ensemble (+x8) at sigma 25, linked below the table
GRAY_ENSEMBLE_RESULTS = "denoise-gray-ensemble"  # the same for the gray denoisers
BURST_ENSEMBLE_RESULTS = "burst-ensemble"  # kpn-burst with and without its self-ensemble, against BM4D
DEBLUR_ENSEMBLE_RESULTS = "deblur-ensemble"  # deblur-ms with and without its self-ensemble, against the blurred input
# speed runs on other machines, shown below the main table (``speed``) with these captions
SPEED_RESULTS = {
    "speed-avx2": "The same on a CPU without native bfloat16 (AVX2 only), where bf16 is emulated:",
}
GPU_SPEED_RESULTS = "speed-h200"  # a GPU run (``--device cuda``), compared with ``speed.json`` at 12 MP
GPU_LARGE = "4000x3000"


def load_results(stem: str) -> tuple[list[dict], dict]:
    """The rows and provenance of ``benchmarks/results/<stem>.json`` (none where it is absent), checked by
    ``check_result``."""
    path = RESULTS_DIR / f"{stem}.json"
    if not path.exists():
        return [], {}
    data = json.loads(path.read_text())
    check_result(path, data["meta"])
    return data["results"], data["meta"]


def shipped_sha256(model: str) -> str | None:
    """The sha256 that the shipped card of a learned model (``weights/<name>.json`` of this checkout) gives."""
    card = REPO / "weights" / f"{get_spec(model).weights}.json"
    return json.loads(card.read_text()).get("sha256") if card.is_file() else None


def result_problems(meta: dict) -> list[str]:
    """What keeps a result with this provenance out of the README: a run on part of the sets (``--limit``), or with
    other weights than the shipped ones (``RESTORE_WEIGHTS_DIR``, or a weights file whose sha256 is not the shipped
    card's). Results written before these fields were recorded count as full runs with the shipped weights."""
    problems = []
    if meta.get("limit"):
        problems.append(f"it ran on the first {meta['limit']} images of each set only (--limit)")
    if meta.get("weights_dir"):
        problems.append(f"its weights came from RESTORE_WEIGHTS_DIR={meta['weights_dir']}")
    other = sorted(model for model, digest in meta.get("weights", {}).items() if digest != shipped_sha256(model))
    if other:
        problems.append(f"its weights of {', '.join(other)} are not the shipped ones (sha256 of weights/*.json)")
    return problems


def check_result(path: Path, meta: dict) -> None:
    """Refuse (``SystemExit``) a result that ``result_problems`` finds fault with."""
    problems = result_problems(meta)
    if problems:
        raise SystemExit(
            f"{path} cannot go into the README: {'; '.join(problems)}. Rerun it in full with the shipped weights, "
            "or write such runs elsewhere (--output /tmp/...)."
        )


def training_status(card: dict | None) -> str:
    training = (card or {}).get("training", {})
    lineage = training.get("lineage", [])
    if lineage and not training.get("steps_done"):  # exported again from other weights without a step
        dtype = training.get("config", {}).get("weights_dtype", "float32")
        status = f"{training['steps_including_lineage']} steps, re-exported" + (
            f" in {dtype}" if dtype != "float32" else ""
        )
    else:
        status = run_extent(training)
        if lineage:
            status += (
                f", started from weights trained {training['steps_including_lineage'] - training['steps_done']} steps"
            )
    sessions = [s for entry in [training, *lineage] for s in entry.get("sessions", [])]
    hardware = hardware_summary([session["device"] for session in sessions])
    return status + (f", {hardware}" if hardware else "")


def run_extent(training: dict) -> str:
    """How far the card's own run got: "500 of 1000 steps (partial)", or "23302 steps in 7.5 min" (all its
    sessions' time) for a run whose last leg used up its minutes (``restore.registry.run_used_its_minutes``)."""
    done = training.get("steps_done", 0)
    if not training.get("complete") and run_used_its_minutes(training):
        minutes = training.get("train_seconds", 0) / 60
        return f"{done} steps in {round(minutes, 1) if minutes < 10 else round(minutes):g} min"
    return f"{done} of {training.get('steps_planned', '?')} steps" + ("" if training.get("complete") else " (partial)")


def hardware_summary(devices: list[str]) -> str:
    """Training sessions' device descriptions (``pipelines.model_card.hardware_description``) in one short list:
    sessions that differ only in their thread count are merged ("x CPU, 1/2 threads, torch v"); "; " between."""
    threads: dict[tuple[str, str], set[int]] = {}
    for device in devices:
        match = re.fullmatch(r"(.*), (\d+) threads?(, .*)?", device)
        key, count = ((match[1], match[3] or ""), {int(match[2])}) if match else ((device, ""), set())
        threads.setdefault(key, set()).update(count)
    return "; ".join(
        f"{machine}, {'/'.join(map(str, sorted(counts)))} threads{rest}" if counts else machine
        for (machine, rest), counts in sorted(threads.items())
    )


def isp_scores(name: str) -> list[str]:
    """The invertible ISP's headline: forward sRGB PSNR and inverse RAW PSNR from JPEG-90, per set."""
    results, _ = load_results("invisp")
    return (
        [f"{r['set']} {r['forward_psnr']:.2f} / {r['inverse_psnr']:.2f}" for r in results] if name == "invisp" else []
    )


def per_level_scores(name: str) -> list[str]:
    """A per-level denoiser's PSNR at the sigma it is trained for, from the denoise results."""
    level = get_spec(name).noise_level
    if level is None:
        return []
    rows = [r for stem in ("denoise", LEVEL_RESULTS) for r in load_results(stem)[0]]
    return sorted(
        f"{r['set']} {r['psnr']:.2f} (sigma {level:g})" for r in rows if (r["method"], r["sigma"]) == (name, level)
    )


def headline_scores(results: list[dict], method: str, setting: str | None, value: object) -> list[str]:
    """Each row of ``method`` at the headline ``setting`` = ``value`` as "<set> <PSNR>", sorted."""
    return sorted(f"{r['set']} {r['psnr']:.2f}" for r in results if r["method"] == method and r.get(setting) == value)


def models_table() -> str:
    loaded = {task: load_results(stem) for task, (stem, *_) in HEADLINES.items()}
    shown = ", ".join(label if task in label else f"{task} at {label}" for task, (*_, label) in HEADLINES.items())
    shown += ", isp forward / inverse from JPEG-90"
    lines = [f"| model | task | kind | training | test PSNR (dB): {shown} |", "|---|---|---|---|---|"]
    for info in models():
        status = training_status(info.card) if info.kind == "learned" else "classical baseline"
        results, _ = (
            load_results(MODEL_RESULTS[info.name][0]) if info.name in MODEL_RESULTS else loaded.get(info.task, ([], {}))
        )
        _, setting, value, _ = HEADLINES.get(info.task, (None, None, None, None))
        scores = (
            isp_scores(info.name) or per_level_scores(info.name) or headline_scores(results, info.name, setting, value)
        )
        cell = ", ".join(scores) or "-"
        if scores and info.name in MODEL_RESULTS:
            cell += f" ({MODEL_RESULTS[info.name][1]})"
        oracle = headline_scores(results, info.name + ORACLE_SUFFIX, setting, value)
        if oracle:
            cell += f"; given its input's RMS error as the noise level (an oracle): {', '.join(oracle)}"
        lines.append(f"| `{info.name}` | {info.task} | {info.kind} | {status} | {cell} |")
    lines.append("")
    raw_stem, raw_note = MODEL_RESULTS["kpn-burst-raw"]
    stems = [
        *((task, stem) for task, (stem, *_) in HEADLINES.items()),
        ("denoise, sigma 15/50", LEVEL_RESULTS),
        ("denoise in color, sigma 15/50", COLOR_LEVEL_RESULTS),
        ("denoise in color with the self-ensemble (+x8)", COLOR_ENSEMBLE_RESULTS),
        ("denoise in gray with the self-ensemble (+x8)", GRAY_ENSEMBLE_RESULTS),
        ("burst with the self-ensemble (+x8)", BURST_ENSEMBLE_RESULTS),
        (f"raw Bayer bursts (kpn-burst-raw; {raw_note})", raw_stem),
        ("deblur with the self-ensemble (+x8)", DEBLUR_ENSEMBLE_RESULTS),
    ]
    for task, stem in [*stems, ("isp", "invisp")]:
        _, meta = load_results(stem)
        if meta:
            lines.append(
                f"{task}: `benchmarks/results/{stem}.md` (`{meta['command'].strip()}`, commit {meta['commit']}, "
                f"{meta['machine']}, {meta['date']}); full tables with SSIM, timings and published numbers there."
            )
    return "\n".join(lines)


def load_speed_results(stem: str) -> tuple[list[dict], dict, dict]:
    """A speed run's rows, provenance and machine peaks (``benchmarks/results/<stem>.json``)."""
    results, meta = load_results(stem)
    return results, meta, json.loads((RESULTS_DIR / f"{stem}.json").read_text())["machine_peaks"]


def speed_source(stem: str, meta: dict, peaks: dict, addendum: str = "") -> str:
    """The line under a speed table that says where its numbers came from, with the peaks measured in the same run;
    ``addendum`` goes between the closing parenthesis and the full stop."""
    measured_peaks = "; ".join(f"{p['device']} {precision} {p['conv3x3_gflops']:.0f}" for precision, p in peaks.items())
    return (
        f"From `benchmarks/results/{stem}.md` (`{meta['command'].strip()}`, commit {meta['commit']}, {meta['machine']}, "
        f"{meta['date']}; convolution peak in GFLOP/s measured in the same run: {measured_peaks}){addendum}."
    )


def speed_table(stem: str) -> list[str]:
    """The headline speed table of ``benchmarks/results/<stem>.json``: each model's MPx/s at 512x512 in float32, its
    multiple of CBM3D's and its fraction of the machine's convolution peak measured in the same run; where the run
    also measured bfloat16, its rate and how far it moves the output. Ends with where the numbers came from."""
    results, meta, peaks = load_speed_results(stem)
    at_512 = [r for r in results if r["size"] == "512x512"]
    full = {r["model"]: r for r in at_512 if r["precision"] == "float32"}
    half = {r["model"]: r for r in at_512 if r["precision"] == "bfloat16"}
    cbm3d = full.get("cbm3d", {}).get("megapixels_per_second")
    peak = peaks["float32"]["conv3x3_gflops"]
    header = "| model | MPx/s at 512x512 | x CBM3D | % of conv peak |"
    if half:
        header += " bf16 MPx/s | bf16 speed-up | bf16 output vs fp32 (dB) |"
    lines = [header, "|---" * (header.count("|") - 1) + "|"]
    for name, r in sorted(full.items()):
        rate = r["megapixels_per_second"]
        ratio = f"{rate / cbm3d:.1f}" if cbm3d else "-"
        flops = r.get("flops_per_pixel")
        fraction = f"{100 * rate * flops / 1e3 / peak:.0f}%" if flops else "-"
        line = f"| `{name}` | {rate:.3f} | {ratio} | {fraction} |"
        if half:
            low = half.get(name)
            line += (
                f" {low['megapixels_per_second']:.3f} | {low['megapixels_per_second'] / rate:.2f}x | "
                f"{low['psnr_vs_float32']:.1f} |"
                if low
                else " - | - | - |"
            )
        lines.append(line)
    return [*lines, "", speed_source(stem, meta, peaks)]


def gpu_speed_table(stem: str) -> list[str]:
    """The GPU run ``benchmarks/results/<stem>.json`` beside the CPU's float32 rows of ``speed.json``: MPx/s at
    1024x1024, seconds and peak memory for a 12 MP photo, the speed-up over the CPU at 12 MP, and how far the GPU's
    precision moves the output from float32. Ends with where the numbers came from."""
    results, meta, peaks = load_speed_results(stem)
    cpu = {(r["model"], r["size"]): r for r in load_results("speed")[0] if r["precision"] == "float32"}
    rows = {(r["model"], r["size"]): r for r in results}
    header = (
        "| model | precision | MPx/s at 1024x1024 | s per 12 MP photo | CPU s per 12 MP photo | speed-up "
        "| peak memory at 12 MP (GB) | output vs fp32 (dB) |"
    )
    lines = [header, "|---" * (header.count("|") - 1) + "|"]
    for name in sorted({model for model, _ in rows}):
        small, large = rows.get((name, "1024x1024")), rows.get((name, GPU_LARGE))
        if not (small and large):
            continue
        on_cpu = cpu.get((name, GPU_LARGE))
        agreement = small.get("psnr_vs_float32")
        lines.append(
            f"| `{name}` | {small['precision']} | {small['megapixels_per_second']:.1f} | {large['seconds']:.2f} | "
            + (f"{on_cpu['seconds']:.1f} | {on_cpu['seconds'] / large['seconds']:.0f}x" if on_cpu else "- | -")
            + f" | {large['peak_memory_gb']:.2f} | "
            + (f"{agreement:.1f} |" if agreement else "- |")
        )
    cpu_column = "; the CPU column from `benchmarks/results/speed.md` above (float32)"
    return [*lines, "", speed_source(stem, meta, peaks, cpu_column)]


def speed_summary() -> str:
    """The speed table of ``speed.json``, then one for each run on another machine (``SPEED_RESULTS``), the GPU run
    (``GPU_SPEED_RESULTS``), then the peak memory of a 24 MP photo from ``speed-24mp.json``."""
    if not load_results("speed")[0]:
        return "No speed results yet: `python -m benchmarks.speed`."
    lines = speed_table("speed")
    for stem, caption in SPEED_RESULTS.items():
        if load_results(stem)[0]:
            lines += ["", caption, "", *speed_table(stem)]
    if load_results(GPU_SPEED_RESULTS)[0]:
        caption = 'On a GPU, with `precision="auto"` (bfloat16 on CUDA), against the first CPU above in float32:'
        lines += ["", caption, "", *gpu_speed_table(GPU_SPEED_RESULTS)]
    large, large_meta = load_results("speed-24mp")
    if large:
        memory = ", ".join(f"`{r['model']}` {r['peak_memory_gb']:.2f}" for r in sorted(large, key=lambda r: r["model"]))
        lines += [
            "",
            (
                f"Peak memory (GB, {large[0]['memory_kind']}) of a {large[0]['size']} photo on the CPU: {memory}. "
                f"From `benchmarks/results/speed-24mp.md` (`{large_meta['command'].strip()}`, commit {large_meta['commit']}, "
                f"{large_meta['machine']}, {large_meta['date']})."
            ),
        ]
    return "\n".join(lines)


def replace_block(text: str, start: str, end: str, content: str) -> str:
    if start not in text or end not in text:
        raise SystemExit(f"README.md lacks the {start} ... {end} markers")
    block = f"{start}\n{content}\n{end}"
    return re.sub(re.escape(start) + ".*?" + re.escape(end), lambda _: block, text, flags=re.DOTALL)


def updated(readme: str) -> str:
    """The README's text with its models table and speed summary regenerated."""
    return replace_block(replace_block(readme, START, END, models_table()), SPEED_START, SPEED_END, speed_summary())


def main(argv: list[str] | None = None) -> None:
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args(argv)
    readme = REPO / "README.md"
    readme.write_text(updated(readme.read_text()))
    print("README.md models table and speed summary updated")


if __name__ == "__main__":
    main()
