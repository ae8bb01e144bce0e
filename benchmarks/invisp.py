"""Invertible ISP benchmark: held-out photos through the camera synthesis, both directions, fixed seeds.

    python -m benchmarks.invisp                      # Kodak24, McMaster and the held-out photos
    python -m benchmarks.invisp --sets Kodak24 --limit 4 --output /tmp/invisp-try

Protocol: each test photo (cropped to even size) is unprocessed into the Canon 550D's raw under a white balance
drawn from ``default_rng(crc32("<set>/<image>"))``, written as a DNG and rendered by LibRaw through rawpy
(``pipelines.invisp_data.render_pair``): RAW = white-balanced linear camera RGB (16 bit), sRGB = LibRaw's rendering,
JPEG = its quality-90 JPEG (OpenCV). Reported per set:

- forward: PSNR/SSIM of f(RAW), clipped and rounded to uint8, against LibRaw's sRGB rounded to uint8;
- inverse: PSNR of f^-1(JPEG), clipped to [0, 1], against the true RAW (data range 1, white balance not undone),
  beside analytic unprocessing (Brooks et al. 2019) with the same color matrix, and the exact inverse of LibRaw's own
  curve and matrix (an oracle that knows the ISP in closed form);
- round trip: mean absolute error of f^-1(f(RAW)) without JPEG and without clipping;
- seconds per image for each direction on this machine;
- an application: denoising a noisy sRGB photo through the raw domain vs CBM3D on the sRGB (``application``).

Writes ``benchmarks/results/invisp.md``, ``.json`` and ``invisp.png`` (crops: JPEG input, true RAW, ours,
Brooks; RAWs shown through the sRGB curve).
"""

from __future__ import annotations

import argparse
import math
import shlex
import sys
import time
import zlib

import numpy as np
import torch

import restore
from benchmarks.common import (
    DEFAULT_TEST_DIR,
    HELDOUT,
    add_output,
    positive_int,
    provenance,
    provenance_lines,
    set_images,
    write_results,
)
from pipelines.arguments import bounded_int
from pipelines.invisp_data import camera_550d, random_wb_gains, render_pair
from restore.baselines import cbm3d_denoise
from restore.baselines_isp import brooks_unprocess, bt709_forward, bt709_unprocess
from restore.figures import side_by_side
from restore.metrics import psnr, ssim, to_uint8
from restore.ops.vst import anscombe, inverse_anscombe
from restore.runtime import tune_allocator

RGB_FROM_CAMERA = camera_550d((1.0, 1.0, 1.0)).rgb_from_camera[0].double().numpy()
PUBLISHED = "InvISP (Xing et al. 2021), its own camera datasets (a different test set)"


def raw_psnr(estimate: np.ndarray, truth: np.ndarray) -> float:
    """PSNR of float RAWs on [0, 1] (data range 1)."""
    return 10 * math.log10(1.0 / max(float(np.mean((estimate - truth) ** 2)), 1e-20))


def display(raw: np.ndarray) -> np.ndarray:
    """A linear RAW shown through the sRGB curve, uint8."""
    return to_uint8(np.where(raw <= 0.0031308, 12.92 * raw, 1.055 * np.clip(raw, 0.0031308, None) ** (1 / 2.4) - 0.055))


def evaluate(restorer, test_set: str, paths, figure: list) -> dict:
    rows = []
    network = restorer.network
    for path in paths:
        photo = restore.io.read_image(path)
        gains = random_wb_gains(np.random.default_rng(zlib.crc32(f"{test_set}/{path.name}".encode())))
        pair = render_pair(photo, gains)
        raw, jpeg = pair.raw.astype(np.float32) / 65535, pair.jpeg.astype(np.float32) / 255
        srgb8 = np.round(pair.srgb / 257.0).astype(np.uint8)
        start = time.perf_counter()
        rendered = restorer(raw)
        forward_seconds = time.perf_counter() - start
        start = time.perf_counter()
        recovered = restorer(jpeg, inverse=True)
        inverse_seconds = time.perf_counter() - start
        with torch.inference_mode():
            x = torch.from_numpy(raw).permute(2, 0, 1)[None]
            round_trip = float((network.inverse(network(x)) - x).abs().mean())
        analytic = bt709_forward(raw, RGB_FROM_CAMERA)
        brooks = brooks_unprocess(jpeg, RGB_FROM_CAMERA)
        rows.append(
            {
                "image": path.name,
                "forward_psnr": psnr(to_uint8(rendered), srgb8),
                "forward_ssim": ssim(to_uint8(rendered), srgb8),
                "forward_analytic_psnr": psnr(to_uint8(analytic), srgb8),
                "inverse_psnr": raw_psnr(recovered, raw),
                "inverse_brooks_psnr": raw_psnr(brooks, raw),
                "inverse_libraw_exact_psnr": raw_psnr(bt709_unprocess(jpeg, RGB_FROM_CAMERA), raw),
                "round_trip_mae": round_trip,
                "forward_seconds": forward_seconds,
                "inverse_seconds": inverse_seconds,
            }
        )
        if not figure:
            h, w = raw.shape[:2]
            top, left = (h - 192) // 2, (w - 192) // 2
            crops = [pair.jpeg, display(raw), display(recovered), display(brooks)]
            labels = ["JPEG", "true raw", "invisp inverse", "Brooks unprocessing"]
            figure.append(side_by_side([c[top : top + 192, left : left + 192] for c in crops], labels))
    keys = [k for k in rows[0] if k != "image"]
    return {
        "set": test_set,
        "images": len(rows),
        **{k: float(np.mean([r[k] for r in rows])) for k in keys},
        "rows": rows,
    }


APPLICATION_NOISE = (0.004, 2e-5)  # shot and read noise variances on the raw scale (a high-ISO normal exposure)


def denoise_through_raw(to_raw, to_srgb, noisy_srgb8: np.ndarray) -> np.ndarray:
    """sRGB -> raw (``to_raw``), CBM3D under the generalized Anscombe transform (known noise), back (``to_srgb``)."""
    shot, read = APPLICATION_NOISE
    raw = np.asarray(to_raw(noisy_srgb8), dtype=np.float64)
    stabilized = anscombe(raw, shot, read)
    top = stabilized.max()
    denoised = cbm3d_denoise(stabilized / top, sigma=255.0 / top) * top
    return to_srgb(np.clip(inverse_anscombe(denoised, shot, read), 0.0, 1.0).astype(np.float32))


def application(restorer, test_set: str, paths, size: int = 256) -> dict:
    """Denoise noisy sRGB renderings two ways: CBM3D on the sRGB, or through the raw domain (``denoise_through_raw``).

    The noisy photo is the camera's rendering (LibRaw's steps in closed form) of the raw plus shot/read noise
    (``APPLICATION_NOISE``, seed crc32("<set>/<image>/noise")), rounded to 8 bits; the reference is the rendering
    of the clean raw. Center crops of ``size``.
    """
    shot, read = APPLICATION_NOISE
    rows = []
    for path in paths:
        photo = restore.io.read_image(path)
        top, left = (photo.shape[0] - size) // 2, (photo.shape[1] - size) // 2
        gains = random_wb_gains(np.random.default_rng(zlib.crc32(f"{test_set}/{path.name}".encode())))
        raw = render_pair(photo[top : top + size, left : left + size], gains).raw / 65535.0
        rng = np.random.default_rng(zlib.crc32(f"{test_set}/{path.name}/noise".encode()))
        noisy_raw = raw + rng.normal(size=raw.shape) * np.sqrt(shot * raw + read)
        clean = to_uint8(bt709_forward(raw, RGB_FROM_CAMERA))
        noisy = to_uint8(bt709_forward(noisy_raw, RGB_FROM_CAMERA))
        direct = to_uint8(cbm3d_denoise(noisy / 255.0))
        through_raw = to_uint8(denoise_through_raw(lambda image: restorer(image, inverse=True), restorer, noisy))
        through_exact = to_uint8(
            denoise_through_raw(
                lambda image: bt709_unprocess(image / 255.0, RGB_FROM_CAMERA),
                lambda linear: bt709_forward(linear, RGB_FROM_CAMERA),
                noisy,
            )
        )
        rows.append(
            {
                "image": path.name,
                "noisy_psnr": psnr(noisy, clean),
                "cbm3d_srgb_psnr": psnr(direct, clean),
                "through_raw_psnr": psnr(through_raw, clean),
                "through_raw_exact_isp_psnr": psnr(through_exact, clean),
            }
        )
    keys = [k for k in rows[0] if k != "image"]
    return {
        "set": test_set,
        "images": len(rows),
        **{k: float(np.mean([r[k] for r in rows])) for k in keys},
        "rows": rows,
    }


def markdown(results: list[dict], meta: dict, card: dict | None, applied: list[dict]) -> str:
    training = (card or {}).get("training", {})
    lines = [
        "# Invertible ISP",
        "",
        "Generated by `benchmarks/invisp.py`; do not edit by hand. Protocol: the module docstring (Canon 550D colors,",
        "LibRaw's ISP through rawpy, JPEG quality 90, white balance drawn per image from a fixed seed).",
        f"Published reference: {PUBLISHED}.",
        "",
        *provenance_lines(meta),
        f"- weights: {training.get('steps_done', '?')} of {training.get('steps_planned', '?')} training steps",
        "",
        (
            "| set | images | forward sRGB PSNR (dB) | SSIM | inverse RAW PSNR from JPEG-90 (dB) | Brooks unprocessing | "
            "LibRaw exact inverse (oracle) | round-trip MAE | s forward / inverse |"
        ),
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['set']} | {r['images']} | {r['forward_psnr']:.2f} | {r['forward_ssim']:.4f} | {r['inverse_psnr']:.2f} | "
            f"{r['inverse_brooks_psnr']:.2f} | {r['inverse_libraw_exact_psnr']:.2f} | {r['round_trip_mae']:.1e} | "
            f"{r['forward_seconds']:.2f} / {r['inverse_seconds']:.2f} |"
        )
    lines += [
        "",
        "LibRaw's rendering is a per-pixel color matrix and BT.709 curve: in closed form it reproduces the sRGB to "
        + ", ".join(f"{r['forward_analytic_psnr']:.1f} dB ({r['set']})" for r in results)
        + ". The oracle column inverts exactly that; the network learns the ISP from pairs only.",
    ]
    if applied:
        shot, read = APPLICATION_NOISE
        lines += [
            "",
            "## Application: denoising an sRGB photo through the raw domain",
            "",
            f"Noisy photo = the camera's rendering of its raw plus shot/read noise (variances {shot} x + {read}), 8 bit;",
            "reference = the rendering of the clean raw; 256x256 center crops. CBM3D on the sRGB (noise level",
            "estimated) against: `invisp` inverse -> generalized Anscombe transform with the known noise -> CBM3D ->",
            "inverse transform -> `invisp` forward.",
            "",
            (
                "| set | images | noisy PSNR (dB) | CBM3D on sRGB | through raw with invisp | through raw with the exact "
                "ISP (oracle) |"
            ),
            "|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {a['set']} | {a['images']} | {a['noisy_psnr']:.2f} | {a['cbm3d_srgb_psnr']:.2f} | "
            f"{a['through_raw_psnr']:.2f} | {a['through_raw_exact_isp_psnr']:.2f} |"
            for a in applied
        ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--test-dir", default=DEFAULT_TEST_DIR)
    parser.add_argument("--sets", nargs="+", default=["Kodak24", "McMaster", HELDOUT])
    parser.add_argument("--limit", type=positive_int, help="only the first N images of each set")
    parser.add_argument("--device", default="auto")
    add_output(parser, "invisp")
    parser.add_argument(
        "--application-images", type=bounded_int(0), default=4, help="images per set for the application (0: none)"
    )
    args = parser.parse_args(argv)
    images = set_images(parser, args.test_dir, args.sets, args.limit)
    tune_allocator()
    restorer = restore.load("invisp", device=args.device)
    meta = provenance(
        "python -m benchmarks.invisp " + shlex.join(sys.argv[1:] if argv is None else argv),
        args.limit,
        restorers=[restorer],
    )
    results, figure = [], []
    for test_set, paths in images.items():
        result = evaluate(restorer, test_set, paths, figure)
        results.append(result)
        print(
            f"{test_set:9} forward {result['forward_psnr']:.2f} dB, inverse {result['inverse_psnr']:.2f} dB "
            f"(Brooks {result['inverse_brooks_psnr']:.2f}), round trip {result['round_trip_mae']:.1e}"
        )
    applied = []
    for test_set in args.sets if args.application_images else []:
        applied.append(application(restorer, test_set, images[test_set][: args.application_images]))
        print(f"{test_set:9} application: {applied[-1]}")
    if figure:
        restore.io.write_image(args.output.with_name(f"{args.output.name}.png"), figure[0])
    card = restorer.info.card
    data = {"meta": meta, "results": results, "application": applied}
    md, js = write_results(args.output, markdown(results, meta, card, applied), data)
    print(f"wrote {md} and {js}")


if __name__ == "__main__":
    main()
