"""The ``restore`` command line: ``restore models``, ``restore run MODEL INPUT... -o OUTDIR``, ``restore demo``.

A folder run keeps the folder structure (several input folders each under their own name) and bit depth, never
overwrites inputs or existing outputs (unless ``--overwrite``), writes each output atomically, shows a progress bar,
skips outputs that already exist so a re-run resumes, carries on past bad files and ends with a summary; the exit
code is 1 if any file failed, 2 for a usage error (unknown model, bad option, output folder inside an input folder
or the reverse). SIGTERM and SIGHUP end a run as Ctrl-C does. ``--dry-run`` lists what a run would write.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from restore import __version__, api, io
from restore.baselines_deblur import RICHARDSON_LUCY_ITERATIONS, WIENER_BALANCE
from restore.batch_jobs import run_bursts, run_jobs
from restore.batch_plan import (
    FORMATS,
    Summary,
    UsageError,
    other_kind_hint,
    plan_burst_writes,
    plan_bursts,
    plan_jobs,
    plan_writes,
)
from restore.catalog import ENCODINGS, parse_sigma
from restore.errors import RestoreError
from restore.figures import side_by_side, zoomed
from restore.model_report import model_details, model_table
from restore.registry import get_spec
from restore.runtime import tune_allocator

MAX_PIXELS = 2**30  # the largest image the command line reads (OpenCV's own decoding limit)

RUN_DESCRIPTION = (
    "Restore image files and folders into OUTPUT, keeping the folder structure, bit depth, EXIF and ICC profile; "
    "several input folders each get their own subfolder of OUTPUT, named after them. "
    "Inputs and existing outputs are never overwritten (existing outputs are replaced only with --overwrite), so a "
    "re-run resumes. Bad files are reported at the end; the exit code is 1 if any failed, 2 for a usage error. "
    "--dry-run lists what a run would write."
)


def parse_tile(value: str) -> int | str | None:
    if value in ("auto", "off"):
        return value
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--tile takes 'auto', 'off' or a size in pixels, not {value!r}") from None


def jpeg_quality(value: str) -> int:
    try:
        quality = int(value)
    except ValueError:
        quality = 0
    if not 1 <= quality <= 100:
        raise argparse.ArgumentTypeError(f"--quality takes a whole number from 1 to 100, not {value!r}")
    return quality


def number_or_auto(option: str) -> Callable[[str], float | str]:
    """An argparse type for ``option``: a number, or the word 'auto' kept as is (the model decides what it means)."""

    def parse(value: str) -> float | str:
        if value == "auto":
            return value
        try:
            return float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{option} takes a number or 'auto', not {value!r}") from None

    return parse


def read_kernel(path: Path | None) -> np.ndarray | None:
    """A blur kernel from a ``.npy`` file (2-D array) or a grayscale image (weights = pixel values; an RGB image
    gives the mean of its channels)."""
    if path is None:
        return None
    try:
        kernel = np.load(path) if path.suffix.lower() == ".npy" else io.read_image(path)
    except (OSError, ValueError, RestoreError) as error:
        raise UsageError(f"cannot read the kernel {path}: {error}") from None
    if path.suffix.lower() == ".npy" or kernel.ndim == 2:
        return kernel  # an array is taken as it is: parse_kernel refuses one that is not 2-D
    if kernel.shape[2] != 3:
        raise UsageError(f"the kernel image {path} has an alpha channel; give a grayscale image without one")
    return kernel.mean(axis=2)


def refuse_file_output(outdir: Path) -> None:
    """Raises UsageError where ``-o`` names a file."""
    if outdir.exists() and not outdir.is_dir():
        raise UsageError(f"output {outdir} is a file, not a folder; -o takes a folder")


def prepare_output_folder(outdir: Path) -> None:
    """Make ``outdir`` (and its parents) before any inference, so that a bad ``-o`` is told at once.

    Raises:
        UsageError: ``outdir`` is a file, cannot be made, or cannot be written to.
    """
    refuse_file_output(outdir)
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(f"cannot make the output folder {outdir}: {error.strerror or error}") from None
    if not os.access(outdir, os.W_OK | os.X_OK):
        raise UsageError(f"cannot write into the output folder {outdir}")


def command_run(args: argparse.Namespace) -> int:
    spec = get_spec(args.model)
    given = {
        "sigma": args.sigma,
        "ratio": args.ratio,
        "inverse": args.inverse or None,
        "noise": args.noise,
        "encoding": args.encoding,
        "align": False if args.no_align else None,
        "reference": args.reference,
        "kernel": read_kernel(args.kernel),
        "balance": args.balance,
        "iterations": args.iterations,
    }
    options = {name: value for name, value in given.items() if value is not None}
    if spec.input_kind == "burst":
        options.setdefault("encoding", "srgb")  # image files are sRGB-encoded unless told otherwise
    spec.parse_options(options)
    if args.bit_depth is not None and (spec.input_kind != "raw" or args.inverse):
        raise UsageError(f"--bit-depth sets the bits of raw renderings; {args.model} keeps each input's bit depth")
    refuse_file_output(args.output)
    summary = Summary()
    if spec.input_kind in ("burst", "raw-burst"):
        raw = spec.input_kind == "raw-burst"
        reference = options.get("reference", 0)
        bursts = plan_bursts(args.inputs, args.output, args.format, summary, raw, reference, args.recursive)
        if not bursts:
            hint = other_kind_hint(args.inputs, raw, recursive=args.recursive)
            if not hint and summary.unsearched:
                hint = f" ({len(summary.unsearched)} subfolders not searched: --recursive makes each a burst)"
            raise UsageError(f"no frames in {', '.join(map(str, args.inputs))}{hint}")
        restorer = load_model(args)  # bad device, precision, tile or ensemble: told before -o is made
        if args.dry_run:
            due = plan_burst_writes(bursts, args.overwrite, summary)
            return preview([(f"{job.source} ({len(frames)} frames)", job.target) for job, frames in due], summary)
        prepare_output_folder(args.output)
        start = time.monotonic()
        run_bursts(restorer, bursts, options, args.overwrite, summary, args.quality)
        return report(summary, args.output, time.monotonic() - start)
    if args.inverse and args.format != "same":
        raise UsageError(f"--inverse writes DNG files; --format {args.format} does not apply to it")
    fmt = "dng" if args.inverse else args.format
    takes_raw = spec.input_kind == "raw" and not args.inverse
    jobs = plan_jobs(args.inputs, args.output, args.recursive, fmt, takes_raw, summary)
    if not jobs:
        hint = other_kind_hint(args.inputs, takes_raw, True, args.recursive, bool(args.inverse))
        if not hint and summary.unsearched:
            hint = f" ({len(summary.unsearched)} subfolders not searched: --recursive)"
        raise UsageError(f"no files to restore in {', '.join(map(str, args.inputs))}{hint}")
    restorer = load_model(args)
    if args.dry_run:
        return preview([(job.source, job.target) for job in plan_writes(jobs, args.overwrite, summary)], summary)
    prepare_output_folder(args.output)
    start = time.monotonic()
    run_jobs(restorer, jobs, options, args.overwrite, summary, args.bit_depth or 16, args.quality)
    return report(summary, args.output, time.monotonic() - start)


def report(summary: Summary, output: Path, seconds: float) -> int:
    """Print the run's summary and its failures; the exit code: 1 if anything failed."""
    return tally(f"{len(summary.restored)} restored", "failed", summary, f"in {seconds:.1f} s -> {output}")


def preview(due: list[tuple[object, Path]], summary: Summary) -> int:
    """``--dry-run``: print each (input, output) pair a run would write, what it would skip and what would fail
    before any model runs; the exit code as the run's."""
    for source, target in due:
        print(f"{source} -> {target}")
    return tally(f"{len(due)} to restore", "would fail", summary, "(dry run: nothing written)")


def tally(done: str, failed: str, summary: Summary, tail: str) -> int:
    """One summary line and a line per failure on stderr; the exit code: 1 if anything failed."""
    unsearched = f", {len(summary.unsearched)} subfolders not searched (--recursive)" if summary.unsearched else ""
    print(
        f"{done}, {len(summary.skipped)} skipped (output exists), {len(summary.failed)} {failed}, "
        f"{len(summary.ignored)} ignored (not inputs of the model){unsearched} {tail}"
    )
    for source, reason in summary.failed:
        print(f"FAILED {source}: {reason}", file=sys.stderr)
    return 1 if summary.failed else 0


def command_models(args: argparse.Namespace) -> int:
    infos = api.models()
    if args.names:
        by_name = {info.name: info for info in infos}
        infos = [by_name[get_spec(name).name] for name in args.names]  # an unknown name: a usage error
    if args.json:
        print(json.dumps([info.__dict__ for info in infos], indent=2, default=str))
    elif args.names:
        print("\n\n".join("\n".join(model_details(info)) for info in infos))
    else:
        print("\n".join(model_table(infos)))
    return 0


DEMO_DETAIL = np.s_[60:188, 160:288]  # the face in the bundled sample, shown 4x under the whole photos
DETAIL_ZOOM = 4


def command_demo(args: argparse.Namespace) -> int:
    from importlib import resources

    from restore.metrics import psnr, to_uint8
    from restore.ops.noise import add_gaussian_noise_np

    for option, name in (("--model", args.model), ("--compare", args.compare)):
        if name is not None and get_spec(name).task != "denoise":
            raise UsageError(f"the demo denoises a photo; {option} takes a denoiser (see 'restore models'), not {name}")
    parse_sigma(args.sigma)
    restorers = [(f"{args.model} x8" if args.ensemble else args.model, load_model(args))]
    if args.compare:
        restorers.append((args.compare, api.load(args.compare, device=args.device, precision=args.precision)))
    prepare_output_folder(args.output)
    with resources.as_file(resources.files("restore") / "data" / "sample.png") as sample:
        clean = io.read_image(sample)
    noisy = add_gaussian_noise_np(clean, args.sigma, seed=0)
    print(f"restore demo on the bundled sample ({clean.shape[1]}x{clean.shape[0]}, synthetic Gaussian noise, seed 0)")
    noisy8 = to_uint8(noisy)
    score = psnr(noisy8, clean)
    print(f"  noisy (sigma {args.sigma:g}): {score:.2f} dB")
    labels, panels = [f"noisy, {score:.2f} dB"], [noisy8]
    for label, restorer in restorers:
        start = time.monotonic()
        output = to_uint8(restorer(noisy, sigma=args.sigma))
        seconds, score = time.monotonic() - start, psnr(output, clean)
        print(f"  {label}: {score:.2f} dB in {seconds:.2f} s on {restorer.device}")
        labels.append(f"{label}, {score:.2f} dB")
        panels.append(output)
    io.write_image(args.output / "demo_restored.png", panels[1])
    labels.append("clean")
    panels.append(clean)
    whole = side_by_side(panels, labels, band=32)
    detail = side_by_side(
        [zoomed(p, DEMO_DETAIL, DETAIL_ZOOM) for p in panels], [f"detail, {DETAIL_ZOOM}x"] * len(panels), band=32
    )
    figure = args.output / "demo_before_after.png"
    io.write_image(figure, np.concatenate([whole, detail], axis=0))
    print(f"wrote {figure}")
    return 0


def load_model(args: argparse.Namespace) -> api.Restorer:
    """``args.model`` loaded with the options ``add_device_options`` added."""
    return api.load(args.model, device=args.device, precision=args.precision, tile=args.tile, ensemble=args.ensemble)


def add_device_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", default="auto", help="auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:1, mps")
    parser.add_argument("--precision", default="auto", choices=["auto", "fp32", "fp16", "bf16"])
    parser.add_argument("--tile", type=parse_tile, default="auto", help="tile size in pixels, 'auto' or 'off'")
    parser.add_argument(
        "--ensemble",
        action="store_true",
        help="average the model over the 8 flips and quarter turns of the input (8x slower, slightly better)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="restore", description="Learned image restoration.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    models = commands.add_parser("models", help="list the models and baselines")
    models.add_argument(
        "names", nargs="*", metavar="MODEL", help="show these models' options, weights, training and validation"
    )
    models.add_argument("--json", action="store_true", help="print model infos and cards as JSON")
    models.set_defaults(handler=command_models)

    run = commands.add_parser("run", help="restore files and folders", description=RUN_DESCRIPTION)
    run.add_argument("model", help="model name (see 'restore models')")
    run.add_argument("inputs", nargs="+", type=Path, metavar="INPUT", help="image files, raw files or folders")
    run.add_argument("-o", "--output", type=Path, required=True, help="output folder")
    run.add_argument(
        "-r", "--recursive", action="store_true", help="descend into subfolders (burst models: each one is a burst)"
    )
    run.add_argument(
        "--sigma", type=number_or_auto("--sigma"), default=None, help="noise level on the 8-bit scale, or 'auto'"
    )
    run.add_argument(
        "--ratio",
        type=number_or_auto("--ratio"),
        default=None,
        help="exposure ratio or 'auto', for low-light raw models",
    )
    run.add_argument(
        "--format", choices=["same", *FORMATS], default="same", help="output format (default: as input; raws -> png)"
    )
    run.add_argument(
        "--noise",
        type=float,
        nargs=2,
        default=None,
        metavar=("READ", "SHOT"),
        help="burst models: noise standard deviations of the linear intensities (default: estimated from the frames)",
    )
    run.add_argument(
        "--encoding",
        choices=ENCODINGS,
        default=None,
        help="burst models: how the frames encode intensity (default srgb, as most image files; linear for linear "
        "TIFFs or PNGs, e.g. from a raw converter's linear output); merged in linear light either way",
    )
    run.add_argument(
        "--no-align", action="store_true", help="burst networks: no whole-pixel pre-alignment of the frames"
    )
    run.add_argument(
        "--reference",
        type=int,
        default=None,
        metavar="INDEX",
        help="burst models: the frame to restore, by its place in the burst (a folder's frames sorted by name as "
        "text, so f10 before f2: number them with leading zeros; files named in the order given; default 0)",
    )
    run.add_argument("--inverse", action="store_true", help="invisp: sRGB/JPEG images -> raw, written as DNG")
    run.add_argument(
        "--kernel", type=Path, default=None, help="non-blind deblurring: the blur kernel, .npy or a grayscale image"
    )
    run.add_argument(
        "--balance",
        type=float,
        default=None,
        help=f"deblur-wiener: regularization, more against noise (default {WIENER_BALANCE:g}, chosen for 1%% noise)",
    )
    run.add_argument(
        "--iterations",
        type=int,
        default=None,
        help=f"deblur-rl: iterations, fewer against noise (default {RICHARDSON_LUCY_ITERATIONS}, chosen for 1%% noise)",
    )
    run.add_argument(
        "--bit-depth", type=int, choices=[8, 16], default=None, help="bits of raw renderings in PNG/TIFF (default 16)"
    )
    run.add_argument(
        "--quality", type=jpeg_quality, default=95, help="JPEG and lossy WebP quality, 1-100 (JPEG is 4:4:4)"
    )
    run.add_argument("--overwrite", action="store_true", help="replace outputs that already exist (never inputs)")
    run.add_argument(
        "-n",
        "--dry-run",
        action="store_true",
        help="check the command, then list each input and the output it would get, and what would be skipped or "
        "fail, without reading the files (one that cannot be read or restored fails only in the run); write nothing",
    )
    add_device_options(run)
    run.set_defaults(handler=command_run)

    demo = commands.add_parser("demo", help="denoise the bundled sample image and write a before/after figure")
    demo.add_argument("-o", "--output", type=Path, default=Path("restore-demo"), help="folder for the figure")
    demo.add_argument("--model", default="dncnn-color")
    demo.add_argument("--sigma", type=float, default=25.0, help="synthetic noise level on the 8-bit scale")
    demo.add_argument("--compare", metavar="BASELINE", default=None, help="also run a baseline, e.g. cbm3d (slow)")
    add_device_options(demo)
    demo.set_defaults(handler=command_demo)
    return parser


def interrupt(signum: int, frame) -> None:
    """SIGTERM and SIGHUP end a run as Ctrl-C does: writes in flight finish or leave no temporary file."""
    raise KeyboardInterrupt


def show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """A warning as one line on stderr, clear of the progress bar (``warnings.showwarning``'s signature)."""
    tqdm.write(f"restore: warning: {message}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    with warnings.catch_warnings():  # restores the caller's warning display on return
        warnings.showwarning = show_warning
        return run_command(args)


def run_command(args: argparse.Namespace) -> int:
    """Run the parsed command; errors and interruptions end it with a message and an exit status. Pillow's image
    size limit and the signal handlers are put back on return."""
    tune_allocator()
    pixel_limit, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, MAX_PIXELS  # Pillow's own stops at 179 MP
    previous = {}
    for name in ("SIGTERM", "SIGHUP"):  # SIGHUP: POSIX only; handlers can only be set from the main thread
        if hasattr(signal, name) and threading.current_thread() is threading.main_thread():
            previous[getattr(signal, name)] = signal.signal(getattr(signal, name), interrupt)
    try:
        return args.handler(args)
    except RestoreError as error:
        print(f"restore: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("restore: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader of stdout went away (restore models | head): end quietly, as cat does
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so that the flush at exit fails no more
        return 128 + signal.SIGPIPE if hasattr(signal, "SIGPIPE") else 1
    finally:
        Image.MAX_IMAGE_PIXELS = pixel_limit
        for number, handler in previous.items():
            signal.signal(number, handler)


if __name__ == "__main__":
    sys.exit(main())
