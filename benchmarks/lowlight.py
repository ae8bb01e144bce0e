"""Low-light raw-to-sRGB benchmark: synthetic dark raws from Kodak24 and McMaster, through DNG and rawpy.

    python -m benchmarks.lowlight                                    # both sets, ratios 100/250/300, every method
    python -m benchmarks.lowlight --sets Kodak24 --ratios 100 --methods lowlight-raw lowlight-conventional \
        --output /tmp/lowlight-try

Protocol (DESIGN.md, low light): each clean photo (cropped to even size) is unprocessed with a random camera,
underexposed by the ratio, given shot/read noise from the unprocessing noise model and quantized to 14 bits over
black 512 (``pipelines.lowlight_data``), with ``torch.Generator`` seed crc32("<set>/<image>/<ratio>"). The CFA cycles
through RGGB, BGGR, GRBG, GBRG by image index. The raw is written as a DNG and every method reads that file through
rawpy and gets the true ratio. Outputs are rounded to uint8 and compared with the clean photo: PSNR (data range
255, RGB, no crop) and SSIM as ``restore.metrics``. The slow classical methods' quality is cached per image in
``benchmarks/cache/lowlight-<method>.json`` (``--cache-dir`` for another folder; keyed by set, image name, ratio and
the image file's sha256); their time is measured again on the first ``--timed-images`` of each set. The denoising
baselines run twice: with the noise level scikit-image estimates on the conventional rendering (what a user gets,
``sigma="auto"``), which reads far too low on these raws, and as ``<method>+oracle`` with the rendering's true RMS error
against the clean photo (``rendering_error``), an oracle that no user has, to show the baselines nearer their best.

Also reported: peak memory and time of a 24-megapixel raw (``--large``), how far ``ratio="auto"`` lands from the true
ratio, and a run on the real dim raw ``shared/data/raw/tinydng_colorchart.dng`` beside rawpy's rendering. Writes
``benchmarks/results/lowlight.md``, ``.json`` and the figures ``lowlight.jpg`` (crops: conventional /
conventional+CBM3D with the oracle level / ours / clean) and ``lowlight-real.jpg`` (JPEG quality 90, to keep the
repository small).
"""

from __future__ import annotations

import argparse
import json
import resource
import shlex
import subprocess
import sys
import tempfile
import time
import zlib
from importlib import resources
from pathlib import Path

import cv2
import numpy as np
import torch

import restore
from benchmarks.common import (
    DEFAULT_TEST_DIR,
    HELDOUT,
    ORACLE_SUFFIX,
    REPO,
    add_cache_dir,
    add_output,
    cache_key,
    cache_path,
    cached_row,
    load_cache,
    load_method,
    mean_scores,
    method_names,
    positive_float,
    positive_int,
    provenance,
    provenance_lines,
    remember,
    set_images,
    write_results,
)
from pipelines.lowlight_data import synthesize_dark_raws
from restore.figures import side_by_side
from restore.io import CFA, read_raw, write_image
from restore.metrics import psnr, ssim, to_uint8
from restore.ops.lowlight import auto_ratio
from restore.runtime import tune_allocator

ORACLE_METHODS = ("lowlight-cbm3d" + ORACLE_SUFFIX, "lowlight-nlmeans" + ORACLE_SUFFIX)
METHODS = ("lowlight-raw", "lowlight-cbm3d", "lowlight-nlmeans", *ORACLE_METHODS, "lowlight-conventional")
CACHED_METHODS = {"lowlight-cbm3d", "lowlight-nlmeans", *ORACLE_METHODS}
CFAS = (CFA.RGGB, CFA.BGGR, CFA.GRBG, CFA.GBRG)
REAL_RAW = REPO.parent / "shared" / "data" / "raw" / "tinydng_colorchart.dng"
FIGURE_METHODS = ("lowlight-conventional", "lowlight-cbm3d" + ORACLE_SUFFIX, "lowlight-raw")
PUBLISHED = "SID (Chen et al. 2018), Sony a7S II test set, a different test set: 28.88 dB / 0.787 SSIM"


def dark_raw_case(path: Path, test_set: str, cfa: CFA, ratio: float, folder: Path) -> tuple[np.ndarray, Path, float]:
    """Synthesize the dark raw of one photo, Bayer pattern and ratio as a DNG; returns (clean uint8, DNG path, auto
    ratio)."""
    clean = restore.io.read_image(path)
    clean = clean[: clean.shape[0] // 2 * 2, : clean.shape[1] // 2 * 2]
    generator = torch.Generator().manual_seed(zlib.crc32(f"{test_set}/{path.name}/{ratio:g}".encode()))
    tensor = torch.from_numpy(clean).permute(2, 0, 1)[None].float() / 255
    raws = synthesize_dark_raws(tensor, ratio, generator, cfa=cfa)
    dng = folder / f"{test_set}-{path.stem}-{ratio:g}.dng"
    raws.to_dng(0, dng)
    raw = read_raw(dng)
    estimate = auto_ratio(torch.from_numpy(raw.mosaic)[None, None], raw.cfa, raw.wb_gains)
    return clean, dng, estimate


def rendering_error(dng: Path, ratio: float, clean: np.ndarray) -> float:
    """The oracle noise level of the ``ORACLE_METHODS``: the RMS error (8-bit scale) of the conventional rendering of
    ``dng`` against the clean photo (H, W, 3) uint8, the level a denoiser of that rendering would have to know."""
    rendering = restore.restore(dng, model="lowlight-conventional", ratio=ratio).astype(np.float64) * 255
    return float(np.sqrt(np.mean((rendering - clean) ** 2)))


def run_set(test_set: str, paths: list[Path], ratio: float, methods: list[str], restorers: dict, args, folder: Path):
    """Every method on one set at one ratio: summary rows, auto-ratio estimates, and the first image's outputs."""
    files = {m: cache_path(args.cache_dir, "lowlight", m) for m in methods if m in CACHED_METHODS}
    caches = {m: load_cache(path) for m, path in files.items()}
    rows = {m: [] for m in methods}
    seconds = {m: [] for m in methods}
    estimates, first_outputs = [], {}
    for index, path in enumerate(paths):
        cfa = CFAS[index % len(CFAS)]  # by place in the set: the key names it, since the place may change
        clean, dng, estimate = dark_raw_case(path, test_set, cfa, ratio, folder)
        estimates.append(estimate / ratio)
        key = cache_key(test_set, path, f"{ratio:g}", cfa.value)
        oracle_sigma: dict[str, float] = {}  # computed once per image, when an oracle row is not cached
        for method in methods:
            cache = caches.get(method)
            cached = cached_row(cache, key, index, args.timed_images)
            if cached is not None:
                rows[method].append(cached)
                continue
            if method in ORACLE_METHODS and not oracle_sigma:
                oracle_sigma["sigma"] = rendering_error(dng, ratio, clean)
            options = oracle_sigma if method in ORACLE_METHODS else {}
            start = time.perf_counter()
            out = to_uint8(restorers[method](dng, ratio=ratio, **options))
            seconds[method].append(time.perf_counter() - start)
            row = {"image": path.name, "psnr": psnr(out, clean), "ssim": ssim(out, clean)}
            rows[method].append(row if cache is None else remember(files[method], cache, key, row))
            if index == 0:
                first_outputs[method] = out
        if index == 0:
            first_outputs["clean"] = clean
    results = [
        {
            "set": test_set,
            "ratio": ratio,
            "method": method,
            **mean_scores(rows[method]),
            "seconds_per_image": float(np.mean(seconds[method])),
            "timed_images": len(seconds[method]),
            "images": len(rows[method]),
            "rows": rows[method],
        }
        for method in methods
    ]
    return results, estimates, first_outputs


def sample_photo(width: int, height: int) -> np.ndarray:
    """The bundled sample photo resized (bicubic) to (height, width, 3) uint8."""
    with resources.as_file(resources.files("restore") / "data" / "sample.png") as path:
        return cv2.resize(restore.io.read_image(path), (width, height), interpolation=cv2.INTER_CUBIC)


def measure_large(dng: str, width: int, height: int, ratio: float) -> dict:
    """Render one large DNG with lowlight-raw (tile auto, CPU); run in a fresh process so the peak RSS is its own."""
    tune_allocator()
    restorer = restore.load("lowlight-raw", device="cpu")
    start = time.perf_counter()
    out = to_uint8(restorer(dng, ratio=ratio))
    seconds = time.perf_counter() - start
    return {
        "width": width,
        "height": height,
        "tile": restorer.tile,
        "seconds": round(seconds, 1),
        "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2),
        "psnr": round(psnr(out, sample_photo(width, height)), 2),
    }


def large_raw_run(width: int, height: int, folder: Path, ratio: float = 100.0) -> dict:
    """A dark raw of the bundled sample at width x height (seed 0) through lowlight-raw, measured in a subprocess."""
    clean = torch.from_numpy(sample_photo(width, height)).permute(2, 0, 1)[None].float() / 255
    dng = folder / "large.dng"
    synthesize_dark_raws(clean, ratio, torch.Generator().manual_seed(0)).to_dng(0, dng)
    del clean
    code = (
        "import json; from benchmarks.lowlight import measure_large; "
        f"print(json.dumps(measure_large({str(dng)!r}, {width}, {height}, {ratio})))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def crop_figure(outputs: dict, labels: list[str], size: int = 192) -> np.ndarray:
    """Center crops of each output side by side, labelled, uint8 RGB."""
    height, width = outputs["clean"].shape[:2]
    top, left = (height - size) // 2, (width - size) // 2
    return side_by_side([outputs[label][top : top + size, left : left + size] for label in labels], labels)


def real_raw_figure(restorer) -> tuple[np.ndarray, float]:
    """rawpy's own rendering of the real dim raw beside ours (ratio auto); returns the figure and the ratio used."""
    import rawpy

    with rawpy.imread(str(REAL_RAW)) as raw:
        reference = raw.postprocess(use_camera_wb=True, no_auto_bright=False, output_bps=8)
    image = read_raw(REAL_RAW)
    ratio = auto_ratio(torch.from_numpy(image.mosaic)[None, None], image.cfa, image.wb_gains)
    ours = to_uint8(restorer(image))
    if reference.shape != ours.shape:
        reference = cv2.resize(reference, (ours.shape[1], ours.shape[0]), interpolation=cv2.INTER_AREA)
    return side_by_side(
        [reference, ours], ["rawpy (LibRaw), auto brightness", f"lowlight-raw, ratio {ratio:.3g}"]
    ), ratio


def markdown(
    results: list[dict], estimates: list[float], meta: dict, real_ratio: float | None, large: dict | None
) -> str:
    lines = [
        "# Low-light raw to sRGB",
        "",
        "Generated by `benchmarks/lowlight.py`; do not edit by hand. Protocol: the module docstring (synthetic dark",
        "raws from the clean photos, unprocessing noise model, 14-bit DNG read back through rawpy, true ratio given to",
        "every method; PSNR/SSIM on uint8 RGB against the clean photo).",
        f"Published reference, {PUBLISHED}.",
        "`+oracle` rows: the denoiser given the conventional rendering's RMS error against the clean photo as its",
        "noise level (an oracle no user has; without it the level is estimated from the rendering and reads low).",
        "",
        *provenance_lines(meta),
        "",
        "| set | ratio | method | PSNR (dB) | SSIM | s/image (timed images) | images |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['set']} | {r['ratio']:g} | {r['method']} | {r['psnr']:.2f} | {r['ssim']:.4f} | "
            f"{r['seconds_per_image']:.2f} ({r['timed_images']}) | {r['images']} |"
        )
    spread = np.asarray(estimates)
    lines += [
        "",
        f'`ratio="auto"` (mean white-balanced level brought to 0.18) against the true ratio, over {spread.size} raws:',
        (
            f"median auto/true {np.median(spread):.2f}, 10th-90th percentile {np.percentile(spread, 10):.2f}"
            f"-{np.percentile(spread, 90):.2f}. It matches the photo's brightness, not the exposure that was lost."
        ),
    ]
    if large is not None:
        lines += [
            "",
            (
                f"Large raw: a {large['width']}x{large['height']} ({large['width'] * large['height'] / 1e6:.0f} MP) dark "
                f"raw of the bundled sample (ratio 100) through `lowlight-raw` on the CPU, tile {large['tile']}: "
                f"{large['seconds']} s, peak RSS {large['peak_rss_gb']} GB, {large['psnr']} dB."
            ),
        ]
    if real_ratio is not None:
        lines += [
            "",
            f"Real dim raw `{REAL_RAW.name}` (Canon 550D): `lowlight-real.jpg`, left rawpy's rendering (camera WB,",
            f"auto-brightness), right `lowlight-raw` with ratio auto ({real_ratio:.1f}).",
        ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--test-dir", type=Path, default=DEFAULT_TEST_DIR)
    parser.add_argument("--sets", nargs="+", default=["Kodak24", "McMaster", HELDOUT])
    parser.add_argument("--ratios", nargs="+", type=positive_float, default=[100, 250, 300])
    parser.add_argument(
        "--methods",
        nargs="+",
        choices=[*method_names("lowlight"), *ORACLE_METHODS],
        default=list(METHODS),
        metavar="METHOD",
    )
    parser.add_argument(
        "--limit",
        type=positive_int,
        help="only the first N images of each set (the large raw of --large still runs: add --large 0 0 to skip it)",
    )
    parser.add_argument("--device", default="auto")
    parser.add_argument(
        "--timed-images", type=positive_int, default=2, help="images per set that cached baselines rerun"
    )
    add_cache_dir(parser)
    add_output(parser, "lowlight")
    parser.add_argument(
        "--large",
        nargs=2,
        type=int,
        default=[6000, 4000],
        metavar=("W", "H"),
        help="size of the large raw timed with lowlight-raw, a run of minutes and GBs that --limit does not shorten "
        "(default: 6000 4000, 24 MP; 0 0: skip it)",
    )
    args = parser.parse_args(argv)
    images = set_images(parser, args.test_dir, args.sets, args.limit)
    tune_allocator()
    restorers = {method: load_method(method.removesuffix(ORACLE_SUFFIX), device=args.device) for method in args.methods}
    command = "python -m benchmarks.lowlight " + shlex.join(sys.argv[1:] if argv is None else argv)
    meta = provenance(command, args.limit, restorers=restorers.values())
    results, estimates, figure_rows = [], [], []
    large = None
    with tempfile.TemporaryDirectory() as folder:
        if "lowlight-raw" in restorers and min(args.large) > 0:
            large = large_raw_run(*args.large, Path(folder))
            print(large)
        for test_set, paths in images.items():
            for ratio in args.ratios:
                rows, ratios, outputs = run_set(test_set, paths, ratio, args.methods, restorers, args, Path(folder))
                results += rows
                estimates += ratios
                for r in rows:
                    print(
                        f"{test_set:9} ratio {ratio:4g} {r['method']:22} {r['psnr']:.2f} dB {r['ssim']:.4f} "
                        f"{r['seconds_per_image']:.2f} s/image"
                    )
                if all(m in outputs for m in FIGURE_METHODS):
                    figure_rows.append(crop_figure(outputs, [*FIGURE_METHODS, "clean"]))
    real_ratio = None
    if figure_rows:
        write_image(args.output.with_name(f"{args.output.name}.jpg"), np.concatenate(figure_rows, axis=0), quality=90)
    if "lowlight-raw" in restorers and REAL_RAW.exists():
        figure, real_ratio = real_raw_figure(restorers["lowlight-raw"])
        write_image(args.output.with_name(f"{args.output.name}-real.jpg"), figure, quality=90)
    data = {"meta": meta, "published": PUBLISHED, "auto_ratio_over_true": estimates, "large_raw": large}
    data["results"] = results
    md, js = write_results(args.output, markdown(results, estimates, meta, real_ratio, large), data)
    print(f"wrote {md} and {js}")


if __name__ == "__main__":
    main()
