"""Motion deblurring benchmark: Kodak24, McMaster and the held-out photos blurred by the Levin et al. kernels and by
held-out synthetic camera shake; the two real GoPro pairs.

    python -m benchmarks.deblur                                     # every method, every set
    python -m benchmarks.deblur --sets Kodak24 --limit 4 --methods deblur-ms deblur-wiener --output /tmp/deblur-try
    python -m benchmarks.deblur --kernel-sets sharp --no-gopro --output deblur-sharp  # what each does to sharp photos

Protocol: image i of a set is blurred by kernel i mod 8 of each kernel set, so a set of 8 or more images covers every
kernel (Kodak24: three images per kernel; McMaster: kernels 0-1 three times, the others twice); the 5 held-out photos
see kernels 0-4 only, so their rows do not compare one for one with the other sets'. Kernel sets: the 8 Levin et al.
kernels (``shared/data/deblur/levin_kernels``), each moved by whole pixels so that its centre of mass lies within half
a pixel of its centre (``centred_kernel``: as stored, five of them shift the image by 1.2 to 4.3 px as they blur it, a
shift that a blind method cannot know and the non-blind ones undo), and 8 synthetic trajectories from
``pipelines.blur_data.kernel_bank(8, seed=20000)`` (training uses seed 0, its validation seed 10000); on request
(``--kernel-sets sharp``) also none. Blur as in training (``blur_batch``): in linear light, reflect borders, Gaussian
noise of 1%, 8-bit sRGB, ``torch.Generator`` seed crc32("<set>/<image>/<kernel set>"). Wiener and Richardson-Lucy
get the true kernel; unsharp masking and our blind network do not. The baselines run at their defaults: Wiener's
balance and Richardson-Lucy's iterations were chosen by ``benchmarks.deblur_tuning`` on validation crops of the
training photos (unsharp masking is not tuned). PSNR/SSIM on uint8 RGB after cropping 16 pixels at every border
(deconvolution's border artefacts are not what is measured).
GoPro: the real blurred frame against its sharp frame, no kernel, so only the blind methods.
Writes ``benchmarks/results/deblur.md``, ``.json`` and ``deblur.png`` (crops: blurred / Wiener / ours / clean).
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import torch

import restore
from benchmarks.common import (
    DEFAULT_TEST_DIR,
    HELDOUT,
    REPO,
    add_output,
    load_method,
    mean_scores,
    method_names,
    positive_int,
    provenance,
    set_images,
    write_quality_results,
)
from pipelines.blur_data import blur_batch, kernel_bank
from restore.figures import side_by_side
from restore.metrics import psnr, ssim, to_uint8
from restore.ops.blur import centred_kernel
from restore.runtime import tune_allocator

DEBLUR_DIR = REPO.parent / "shared" / "data" / "deblur"
METHODS = ("deblur-ms", "deblur-wiener", "deblur-rl", "deblur-unsharp", "blurred")
NON_BLIND = {"deblur-wiener", "deblur-rl"}
KERNEL_SETS = ("levin", "synthetic", "sharp")
NOISE = 0.01
BORDER = 16
HELDOUT_KERNEL_SEED = 20_000
PUBLISHED = (
    "DeepDeblur (Nah et al. 2017), GoPro test set, a different test set: 29.08 dB (30.4 dB with a longer PyTorch "
    "retrain)"
)


def kernel_sets(deblur_dir: Path, names: list[str]) -> dict[str, list[np.ndarray]]:
    """The kernel sets ``names``, each kernel (k, k) summing to 1: "levin", Levin et al.'s 8 kernels, each moved by
    whole pixels to its centre of mass (``centred_kernel``); "synthetic", 8 held-out synthetic ones; "sharp", no blur
    (a 1x1 delta: the photo with only the noise and 8 bits, which a blind method should leave as it is)."""
    sets = {}
    for name in names:
        if name == "levin":
            levin = np.load(deblur_dir / "levin_kernels" / "levin_kernels.npz")
            sets[name] = [centred_kernel(levin[f"arr_{i}"]) for i in range(len(levin.files))]
        elif name == "synthetic":
            sets[name] = list(kernel_bank(8, seed=HELDOUT_KERNEL_SEED).astype(np.float64))
        else:
            sets[name] = [np.ones((1, 1))]
    return sets


def blurred_case(clean: np.ndarray, kernel: np.ndarray, seed_text: str) -> np.ndarray:
    """Clean uint8 RGB (H, W, 3) -> blurred float32 sRGB (H, W, 3) on [0, 1] (8-bit levels), fixed seed."""
    generator = torch.Generator().manual_seed(zlib.crc32(seed_text.encode()))
    tensor = torch.from_numpy(clean).permute(2, 0, 1)[None].float() / 255
    kernels = torch.from_numpy(kernel).float()[None]
    return blur_batch(tensor, kernels, torch.tensor([NOISE]), generator)[0].permute(1, 2, 0).numpy()


def score(estimate: np.ndarray, clean: np.ndarray) -> dict:
    a, b = to_uint8(estimate)[BORDER:-BORDER, BORDER:-BORDER], clean[BORDER:-BORDER, BORDER:-BORDER]
    return {"psnr": psnr(a, b), "ssim": ssim(a, b)}


def apply(method: str, restorers: dict, blurred: np.ndarray, kernel: np.ndarray | None) -> np.ndarray:
    if method == "blurred":
        return blurred
    options = {"kernel": kernel} if method in NON_BLIND else {}
    return restorers[method](blurred, **options)


def summary(test_set: str, kernels: str, method: str, rows: list[dict], seconds: list[float]) -> dict:
    return {
        "set": test_set,
        "kernels": kernels,
        "method": method,
        **mean_scores(rows),
        "seconds_per_image": float(np.mean(seconds)),
        "images": len(rows),
        "rows": rows,
    }


def run_synthetic(test_set, paths, kernel_set, kernels, methods, restorers, figure) -> list[dict]:
    rows = {m: [] for m in methods}
    seconds = {m: [] for m in methods}
    for index, path in enumerate(paths):
        clean = restore.io.read_image(path)
        clean = np.stack([clean] * 3, axis=-1) if clean.ndim == 2 else clean[..., :3]
        kernel = kernels[index % len(kernels)]
        blurred = blurred_case(clean, kernel, f"{test_set}/{path.name}/{kernel_set}")
        outputs = {}
        for method in methods:
            start = time.perf_counter()
            outputs[method] = apply(method, restorers, blurred, kernel)
            seconds[method].append(time.perf_counter() - start)
            rows[method].append({"image": path.name, "kernel": index % len(kernels), **score(outputs[method], clean)})
        if not figure and "deblur-ms" in outputs:
            crop = np.s_[100:356, 100:356]
            labels = [m for m in ("blurred", "deblur-wiener", "deblur-ms") if m in outputs]
            panels = [to_uint8(outputs[m])[crop] for m in labels] + [clean[crop]]
            figure.append(side_by_side(panels, [*labels, "clean"]))
    return [summary(test_set, kernel_set, m, rows[m], seconds[m]) for m in methods]


def run_gopro(deblur_dir: Path, methods, restorers) -> list[dict]:
    blind = [m for m in methods if m not in NON_BLIND]
    rows = {m: [] for m in blind}
    seconds = {m: [] for m in blind}
    for blurred_path in sorted((deblur_dir / "gopro_pairs").glob("*_blur*.png")):
        clean = restore.io.read_image(blurred_path.with_name(blurred_path.name.replace("_blur", "_sharp")))
        blurred = restore.io.read_image(blurred_path).astype(np.float32) / 255
        for method in blind:
            start = time.perf_counter()
            estimate = apply(method, restorers, blurred, None)
            seconds[method].append(time.perf_counter() - start)
            rows[method].append({"image": blurred_path.name, **score(estimate, clean)})
    return [summary("GoPro (real)", "real", m, rows[m], seconds[m]) for m in blind]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--test-dir", type=Path, default=DEFAULT_TEST_DIR)
    parser.add_argument("--deblur-dir", type=Path, default=DEBLUR_DIR)
    parser.add_argument("--sets", nargs="+", default=["Kodak24", "McMaster", HELDOUT])
    known = [*method_names("deblur"), "blurred"]
    parser.add_argument(
        "--methods", nargs="+", choices=known, default=[m for m in METHODS if m in known], metavar="METHOD"
    )
    parser.add_argument("--limit", type=positive_int, help="only the first N images of each set")
    parser.add_argument(
        "--kernel-sets",
        nargs="+",
        choices=KERNEL_SETS,
        default=["levin", "synthetic"],
        help="blur kernels (sharp: none, to see what each method does to a sharp photo)",
    )
    parser.add_argument("--no-gopro", action="store_true", help="skip the real GoPro pairs")
    parser.add_argument("--device", default="auto", help="device of the learned models (default: CUDA if present)")
    add_output(parser, "deblur")
    args = parser.parse_args(argv)
    images = set_images(parser, args.test_dir, args.sets, args.limit)
    tune_allocator()  # as the other benchmarks and the command line: timings comparable across tables
    restorers = {m: load_method(m, device=args.device) for m in args.methods if m != "blurred"}
    command = "python -m benchmarks.deblur " + shlex.join(sys.argv[1:] if argv is None else argv)
    meta = provenance(command, args.limit, restorers=restorers.values())
    results, figure = [], []
    for test_set, paths in images.items():
        for kernel_set, kernels in kernel_sets(args.deblur_dir, args.kernel_sets).items():
            rows = run_synthetic(test_set, paths, kernel_set, kernels, args.methods, restorers, figure)
            results += rows
            for r in rows:
                print(f"{test_set:8} {kernel_set:9} {r['method']:15} {r['psnr']:.2f} dB {r['seconds_per_image']:.2f} s")
    if not args.no_gopro:
        rows = run_gopro(args.deblur_dir, args.methods, restorers)
        results += rows
        for r in rows:
            print(f"GoPro {r['method']:15} {r['psnr']:.2f} dB {r['seconds_per_image']:.2f} s")
    md, js = write_quality_results(
        args.output,
        figure[0] if figure else None,
        title="Motion deblurring",
        script="deblur.py",
        published=PUBLISHED,
        meta=meta,
        results=results,
        setting="kernels",
        seconds=("s/image", "seconds_per_image"),
    )
    print(f"wrote {md} and {js}")


if __name__ == "__main__":
    main()
