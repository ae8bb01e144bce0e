"""Speed of every model and baseline: megapixels per second, peak memory, FLOPs per pixel, fraction of the machine.

    python -m benchmarks.speed                                   # CPU: every model at 512^2, 1024^2 and 12 MP
    python -m benchmarks.speed --models dncnn-color cbm3d --sizes 512 --output /tmp/speed-try
    python -m benchmarks.speed --sizes 24mp --output speed-24mp  # peak memory of a 24 MP photo through every model
    python -m benchmarks.speed --precisions fp32 bf16            # also bfloat16 on a CPU with AVX512-BF16
    PYTHONPATH=. python -m benchmarks.speed --device cuda        # on a GPU (precision auto: bf16/fp16)

Each (model, size) runs in a fresh subprocess, so that the peak resident memory (CPU) or the peak allocated CUDA
memory is its own: one warm-up call on a 64x64 input, then the timed calls (best of ``--repeats`` up to 1024^2, one
at 12 and 24 MP). Inputs: noisy uint8 photos (the bundled sample resized) for denoisers, an in-memory raw (``RawImage``)
for raw models, linear raw RGB for ``invisp``, 8-frame gray bursts (linear, noise (0.01, 0.05)) for burst models,
whose megapixels are those of one frame (the output); the time is the ``Restorer`` call (conversion, tiling,
inference), and for a burst model also the part of it spent aligning the frames (before the network; on CUDA
the correlation runs on the GPU).
The machine's peak is measured in the same run: a 2048^3 fp32 matmul and a 3x3 64->64 convolution (channels_last,
1x64x512x512) at the run's precision; every model's rate is also given as a fraction of that convolution rate.
Classical baselines run at the sizes in ``--classical-sizes`` only (CBM3D needs minutes per 12 MP image), once.
Each precision in ``--precisions`` gets its own rows and its own machine peak; a row in a lower precision also gives
the PSNR of its output against the float32 output of the same input (up to 1024^2), i.e. how far the cheaper
arithmetic moves the result. Tiling overhead: ``--tiling-model`` at ``--tiling-size`` untiled and with smaller tiles
(same overlap as "auto"), in the first precision.
Writes ``benchmarks/results/speed.md`` and ``.json`` (``--output`` for another stem or folder).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import resource
import shlex
import subprocess
import sys
import time
from importlib import resources

import cv2
import numpy as np
import torch

from benchmarks.common import add_output, positive_int, provenance, write_results
from restore.api import PRECISIONS, resolve_device, resolve_precision
from restore.errors import RestoreError
from restore.registry import list_specs

SIZES = {"512": (512, 512), "1024": (1024, 1024), "12mp": (4000, 3000), "24mp": (6000, 4000)}
LARGE = ("12mp", "24mp")  # timed once
DEFAULT_MODELS = (
    "dncnn-color",
    "dncnn-gray",
    "lowlight-raw",
    "invisp",
    "kpn-burst",
    "deblur-ms",
    "cbm3d",
    "bm3d",
    "nlmeans",
    "lowlight-conventional",
    "burst-hdrplus",
    "burst-bm3d",
    "deblur-wiener",
)
BURST_FRAMES, BURST_NOISE = 8, (0.01, 0.05)
MOTION_KERNEL = np.full((1, 15), 1 / 15)  # for the non-blind deblurring baselines


def sample(width: int, height: int, channels: int) -> np.ndarray:
    """The bundled sample resized to (height, width[, 3]) uint8 with Gaussian noise sigma 25 (seed 0)."""
    import restore

    with resources.as_file(resources.files("restore") / "data" / "sample.png") as path:
        image = cv2.resize(restore.io.read_image(path), (width, height), interpolation=cv2.INTER_AREA)
    if channels == 1:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    noisy = image + np.random.default_rng(0).normal(0, 25, image.shape)
    return np.clip(np.round(noisy), 0, 255).astype(np.uint8)


def model_input(name: str, width: int, height: int):
    """What the model's call takes, at this size (see the module docstring)."""
    import restore
    from restore.io import CFA, RawImage

    spec = restore.registry.get_spec(name)
    if spec.name == "invisp":
        return sample(width, height, 3).astype(np.float32) / 255
    if spec.input_kind in ("burst", "raw-burst"):  # a raw burst: the frames are read as RGGB mosaics
        frame = sample(width, height, 1).astype(np.float32) / 255
        rng = np.random.default_rng(1)
        return np.stack([np.roll(frame, rng.integers(-2, 3, size=2), axis=(0, 1)) for _ in range(BURST_FRAMES)])
    if spec.input_kind == "raw":
        mosaic = sample(width, height, 1).astype(np.float32) / 255 / 100  # a dark frame
        values = np.round(mosaic * 15871 + 512).astype(np.uint16)
        return RawImage(mosaic, CFA.RGGB, (512.0,) * 4, 16383.0, (2.0, 1.0, 1.7), np.eye(3, dtype=np.float32), values)
    return sample(width, height, 3 if 3 in spec.channels else 1)


def flops_per_pixel(restorer) -> float | None:
    """FLOPs per output pixel of a learned model's network (torch's flop counter on a 64x64 output)."""
    from torch.utils.flop_counter import FlopCounterMode

    network = restorer.network
    if network is None:
        return None
    spec = restorer.spec
    if spec.name == "lowlight-raw":
        inputs = (torch.rand(1, 4, 32, 32),)
    elif spec.input_kind in ("burst", "raw-burst"):
        planes = network.planes  # 4 packed half-size Bayer planes per frame (a 64x64 mosaic) for the raw network
        side = 32 if spec.input_kind == "raw-burst" else 64
        inputs = (torch.rand(1, BURST_FRAMES, planes, side, side), torch.rand(1, planes, side, side))
    else:
        inputs = (torch.rand(1, 3 if 3 in spec.channels else 1, 64, 64),)
    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        network.cpu().float()(*inputs)
    return counter.get_total_flops() / (64 * 64)


def agreement_db(output, reference) -> float:
    """PSNR (dB) of ``output`` against ``reference`` (arrays of one dtype; peak 255 for uint8, else 1)."""
    peak = 255.0 if np.asarray(reference).dtype == np.uint8 else 1.0
    output, reference = np.asarray(output, dtype=np.float64), np.asarray(reference, dtype=np.float64)
    mse = float(np.mean((output - reference) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(peak**2 / mse)


@contextlib.contextmanager
def timed_alignment(seconds: list[float]):
    """Within the block, every whole-pixel burst alignment (``restore.ops.alignment.align_whole_pixels``, which runs
    before a burst network: on the CPU, or its correlation on the network's GPU) appends its duration to
    ``seconds``."""
    from restore.ops import alignment

    align = alignment.align_whole_pixels

    def timed(burst: np.ndarray, device=None) -> list[tuple[int, int]]:
        start = time.perf_counter()
        shifts = align(burst, device)
        seconds.append(time.perf_counter() - start)
        return shifts

    alignment.align_whole_pixels = timed
    try:
        yield
    finally:
        alignment.align_whole_pixels = align


def measure(name: str, size: str, device: str, precision: str, repeats: int, tile: str | int | None = "auto") -> dict:
    """Time one model at one size in this process; returns rate, peak memory and FLOPs per pixel (and, below
    float32, the PSNR of its output against the float32 output)."""
    import restore
    from restore.runtime import tune_allocator

    tune_allocator()
    width, height = SIZES[size]
    restorer = restore.load(name, device=device, precision=precision, tile=tile)
    options = {"ratio": 100} if restorer.spec.input_kind == "raw" and name != "invisp" else {}
    if restorer.spec.task == "denoise" and restorer.network is None:
        options = {"sigma": 25}
    if restorer.spec.input_kind in ("burst", "raw-burst"):
        options = {"noise": BURST_NOISE}
    if "kernel" in restorer.info.options:
        options = {"kernel": MOTION_KERNEL}
    restorer(model_input(name, 64, 64), **options)  # warm-up
    image = model_input(name, width, height)
    cuda = restorer.device.type == "cuda"
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    times, aligning = [], []
    with timed_alignment(aligning):
        for _ in range(1 if size in LARGE else repeats):
            if cuda:
                torch.cuda.synchronize()
            start = time.perf_counter()
            output = restorer(image, **options)
            if cuda:
                torch.cuda.synchronize()
            times.append(time.perf_counter() - start)
    seconds = min(times)
    alignment_seconds = aligning[times.index(seconds)] if len(aligning) == len(times) else None
    peak = (
        torch.cuda.max_memory_allocated() / 2**30
        if cuda
        else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    )
    versus_float32 = None
    if restorer.network is not None and restorer.dtype != torch.float32 and size not in LARGE:
        reference = restore.load(name, device=device, precision="fp32", tile=tile)(image, **options)
        versus_float32 = agreement_db(output, reference)
    device_flops = (
        flops_per_pixel(restorer.__class__(restorer.spec, device="cpu")) if restorer.network is not None else None
    )
    return {
        "model": name,
        "size": f"{width}x{height}",
        "megapixels": width * height / 1e6,
        "seconds": seconds,
        "megapixels_per_second": width * height / 1e6 / seconds,
        "peak_memory_gb": round(peak, 3),
        "memory_kind": "CUDA max allocated" if cuda else "peak RSS",
        "flops_per_pixel": device_flops,
        "device": str(restorer.device),
        "precision": str(restorer.dtype).removeprefix("torch."),
        "tile": restorer.tile,
        "psnr_vs_float32": versus_float32,
        "alignment_seconds": alignment_seconds,
    }


def run_isolated(name: str, size: str, device: str, precision: str, repeats: int, tile="auto") -> dict:
    code = (
        "import json; from benchmarks.speed import measure; "
        f"print(json.dumps(measure({name!r}, {size!r}, {device!r}, {precision!r}, {repeats}, {tile!r})))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    if result.returncode:
        raise RuntimeError(f"{name} at {size} failed:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def machine_peak(device: str, precision: str) -> dict:
    """GFLOP/s of a 2048^3 matmul and of a 3x3 64->64 convolution (1x64x512x512, channels_last), best of 5."""
    import restore.api

    target = restore.api.resolve_device(device)
    dtype = restore.api.resolve_precision(precision, target)

    def rate(function, flops: float) -> float:
        function()
        best = float("inf")
        for _ in range(5):
            if target.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            function()
            if target.type == "cuda":
                torch.cuda.synchronize()
            best = min(best, time.perf_counter() - start)
        return flops / best / 1e9

    n = 2048
    a, b = (torch.rand(n, n, device=target, dtype=dtype) for _ in range(2))
    x = torch.rand(1, 64, 512, 512, device=target, dtype=dtype).contiguous(memory_format=torch.channels_last)
    conv = torch.nn.Conv2d(64, 64, 3, padding=1, bias=False).to(target, dtype).to(memory_format=torch.channels_last)
    with torch.inference_mode():
        matmul = rate(lambda: a @ b, 2 * n**3)
        convolution = rate(lambda: conv(x), 2 * 64 * 64 * 9 * 512 * 512)
    name = f"{target} ({torch.cuda.get_device_name(target)})" if target.type == "cuda" else str(target)
    return {
        "device": name,
        "precision": str(dtype).removeprefix("torch."),
        "matmul_gflops": matmul,
        "conv3x3_gflops": convolution,
    }


def conv_fraction(row: dict, peaks: dict) -> str:
    """A learned model's achieved GFLOP/s as a percentage of the convolution peak at its precision."""
    flops = row["flops_per_pixel"]
    if not flops:
        return "-"
    achieved = row["megapixels_per_second"] * flops / 1e3  # GFLOP/s
    return f"{100 * achieved / peaks[row['precision']]['conv3x3_gflops']:.0f}%"


def markdown(rows: list[dict], tiling: list[dict], peaks: dict, meta: dict) -> str:
    lines = [
        "# Speed",
        "",
        "Generated by `benchmarks/speed.py`; do not edit by hand. Protocol: the module docstring.",
        "",
        f"- command: `{meta['command']}`",
        f"- commit: {meta['commit']}, machine: {meta['machine']}, torch {meta['torch']}, date: {meta['date']}",
    ]
    lines += [
        f"- machine peak ({peak['device']}, {precision}): matmul {peak['matmul_gflops']:.0f} GFLOP/s, "
        f"3x3 convolution {peak['conv3x3_gflops']:.0f} GFLOP/s"
        for precision, peak in peaks.items()
    ]
    lines += [
        "",
        (
            "| model | size | device | precision | MPx/s | s/image | peak memory (GB) | GFLOP per MPx "
            "| % of conv peak | PSNR vs float32 (dB) |"
        ),
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        per_mpx = f"{r['flops_per_pixel'] / 1e3:.0f}" if r["flops_per_pixel"] else "-"
        versus = r.get("psnr_vs_float32")
        lines.append(
            f"| {r['model']} | {r['size']} | {r['device']} | {r['precision']} | {r['megapixels_per_second']:.3f} | "
            f"{r['seconds']:.2f} | {r['peak_memory_gb']:.2f} ({r['memory_kind']}) | {per_mpx} | "
            f"{conv_fraction(r, peaks)} | {'-' if versus is None else f'{versus:.1f}'} |"
        )
    aligned = [r for r in rows if r.get("alignment_seconds") is not None]
    if aligned:
        lines += [
            "",
            (
                "Of a burst model's time, the whole-pixel alignment of its frames (before the network; on CUDA its "
                "correlation runs on the GPU):"
            ),
            "",
        ]
        lines += [
            f"- {r['model']} at {r['size']} ({r['precision']}): {r['alignment_seconds']:.2f} of {r['seconds']:.2f} s"
            for r in aligned
        ]
    if tiling:
        untiled = next((r for r in tiling if r["tile"] is None), tiling[0])
        lines += [
            "",
            "## Tiling overhead",
            "",
            "| model | size | precision | tile | MPx/s | time vs untiled | peak memory (GB) |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in tiling:
            lines.append(
                f"| {r['model']} | {r['size']} | {r['precision']} | {r['tile'] or 'off'} | "
                f"{r['megapixels_per_second']:.3f} | {100 * r['seconds'] / untiled['seconds']:.0f}% | "
                f"{r['peak_memory_gb']:.2f} |"
            )
    return "\n".join(lines) + "\n"


def check_precisions(parser: argparse.ArgumentParser, device: str, precisions: list[str]) -> None:
    """Refuse a device that is not there, or a precision it does not run (fp16 on the CPU), before any work."""
    try:
        target = resolve_device(device)
        for precision in precisions:
            resolve_precision(precision, target)
    except RestoreError as error:
        parser.error(str(error))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    names = [spec.name for spec in list_specs()]
    parser.add_argument("--models", nargs="+", choices=names, default=list(DEFAULT_MODELS), metavar="MODEL")
    parser.add_argument("--sizes", nargs="+", choices=list(SIZES), default=["512", "1024", "12mp"])
    parser.add_argument("--classical-sizes", nargs="+", choices=list(SIZES), default=["512"])
    parser.add_argument("--device", default="auto")
    parser.add_argument(
        "--precisions", nargs="+", choices=["auto", *PRECISIONS], default=["auto"], help="fp16 on a GPU only"
    )
    parser.add_argument(
        "--tiling-model",
        choices=["", *names],
        default="dncnn-color",
        help="model of the tiling-overhead rows ('' skips)",
    )
    parser.add_argument("--tiling-size", choices=list(SIZES), default="1024")
    parser.add_argument("--tiles", nargs="+", type=int, default=[512, 256], help="tile sizes of the tiling rows")
    parser.add_argument("--repeats", type=positive_int, default=3, help="timed calls per model up to 1024^2 (best)")
    add_output(parser, "speed")
    args = parser.parse_args(argv)
    check_precisions(parser, args.device, args.precisions)
    import restore

    command = "python -m benchmarks.speed " + shlex.join(sys.argv[1:] if argv is None else argv)
    meta = provenance(command, models=[*args.models, *filter(None, [args.tiling_model])])
    peaks = {}
    for precision in args.precisions:
        peak = machine_peak(args.device, precision)
        peaks[peak["precision"]] = peak
        print(peak)
    rows = []
    for index, precision in enumerate(args.precisions):
        for name in args.models:
            classical = restore.registry.get_spec(name).build is None
            if classical and index:
                continue  # the baselines do not use torch's precision: measured once
            for size in args.classical_sizes if classical else args.sizes:
                row = run_isolated(name, size, args.device, precision, args.repeats)
                rows.append(row)
                print(f"{name:22} {row['size']:10} {row['precision']:8} {row['megapixels_per_second']:.3f} MPx/s")
    tiling = []
    if args.tiling_model:
        for tile in [None, *args.tiles]:
            tiling.append(run_isolated(args.tiling_model, args.tiling_size, args.device, args.precisions[0], 3, tile))
            print(f"tile {tile}: {tiling[-1]['megapixels_per_second']:.3f} MPx/s")
    md, js = write_results(
        args.output,
        markdown(rows, tiling, peaks, meta),
        {"meta": meta, "machine_peaks": peaks, "results": rows, "tiling": tiling},
    )
    print(f"wrote {md} and {js}")


if __name__ == "__main__":
    main()
