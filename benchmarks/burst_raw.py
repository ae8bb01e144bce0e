"""Raw burst denoising benchmark: fixed-seed synthetic raw Bayer bursts from the color images of Kodak24, CBSD68 and
the held-out photos (``benchmarks.common.HELDOUT``, not in shared/).

    python -m benchmarks.burst_raw                               # every method, gains 1/2/4/8 + a large-shift row
    python -m benchmarks.burst_raw --methods kpn-burst-raw burst-average --sets Kodak24 --limit 4 --output /tmp/raw-try

Protocol: as ``benchmarks.burst`` (same gains, translations, outlier frames, white level 1, seeds
crc32("raw/<set>/<image>/<gain>/<shift>")), but each image's centre crop is unprocessed into a random camera's raw
(``pipelines.burst_data`` with ``bayer=True``: inverse tone and sRGB curves, color matrix, white balance), downsampled
2x, sampled through an RGGB mosaic and packed into 4 half-size planes before the noise is added. ``kpn-burst-raw``
gets the noisy mosaics (N, H, W) through its own call; every other method gets the packed planes as a 4-channel burst
(N, h, w, 4), which classical methods align as one (a frame's translation found on its plane mean, since 2026-12-05;
before, each plane was aligned on its own) and merge plane by plane, and ``kpn-burst`` (the gray network, which sees
each frame's plane mean) merges with kernels shared by the planes. Every method gets the true (read, shot), except
``kpn-burst-raw-auto``, which estimates them (``noise="auto"``, the API's default). PSNR/SSIM on the packed planes
after the sRGB curve (the raw is not developed), on uint8, with an 8-pixel border crop of the planes. BM3D's quality
is cached per burst in ``benchmarks/cache/burst-raw-burst-bm3d.json``, its time measured again on the first
``--timed-images``; BM4D (about 80 s per raw burst here) is left out.
Writes ``benchmarks/results/burst-raw.md``, ``.json`` and ``burst-raw.png`` (first image at gain 4, the planes shown
as R, mean G, B with gray-world balance: reference / average / best baseline / kpn-burst-raw / clean).
"""

from __future__ import annotations

import zlib
from dataclasses import replace

import numpy as np
import torch

import restore
from benchmarks.burst import BurstTask, display, gain_noise, main_for, model_and_options
from benchmarks.common import HELDOUT
from pipelines.burst_data import BurstSpec, synthesize_bursts
from restore.io.raw import CFA
from restore.ops.bayer import unpack_bayer
from restore.runs import merge_burst

RAW_MODEL = "kpn-burst-raw"
BASELINES = ("kpn-burst", "burst-average", "burst-align", "burst-hdrplus", "burst-bm3d")
SPEC = BurstSpec(bayer=True, downsample=2, white_level=(1.0, 1.0))


def test_burst(path, test_set: str, gain: float, shift_factor: float):
    """The fixed-seed raw burst of one image: (noisy planes (N, h, w, 4) float32, clean planes (h, w, 4), read,
    shot)."""
    image = restore.io.read_image(path)
    rgb = np.repeat(image[..., None], 3, axis=2) if image.ndim == 2 else image[..., :3]
    step = SPEC.downsample * SPEC.mosaic_scale
    side = min(rgb.shape[:2]) // step - 2 * int(SPEC.outlier_shift)
    spec = replace(SPEC, size=side // 16 * 16, max_shift=SPEC.max_shift * shift_factor)
    top, left = (rgb.shape[0] - spec.crop) // 2, (rgb.shape[1] - spec.crop) // 2
    crop = torch.from_numpy(np.ascontiguousarray(rgb[top : top + spec.crop, left : left + spec.crop]))
    crop = crop.permute(2, 0, 1)[None].float() / 255
    seed = zlib.crc32(f"raw/{test_set}/{path.name}/{gain:g}/{shift_factor:g}".encode())
    read, shot = gain_noise(gain)
    burst = synthesize_bursts(
        crop, spec, torch.Generator().manual_seed(seed), torch.tensor([read]), torch.tensor([shot])
    )
    return burst.noisy[0].permute(0, 2, 3, 1).numpy(), burst.clean[0].permute(1, 2, 0).numpy(), read, shot


def restore_planes(restorer, method: str, planes: np.ndarray, read: float, shot: float) -> np.ndarray:
    """Run a method on packed planes (N, h, w, 4) -> restored planes (h, w, 4): the raw model through mosaics, the
    others through ``merge_burst`` on the four planes (the API would take a 4-channel burst for RGBA and hand its
    fourth plane back as the reference's alpha)."""
    model, options = model_and_options(method)
    options = {"noise": (read, shot), **options}
    if model != RAW_MODEL:
        align = restorer.spec.parse_options(options)["align"] if restorer.network is not None else False
        return merge_burst(restorer, np.array(planes, dtype=np.float32), read, shot, align).astype(np.float32)
    mosaics = unpack_bayer(torch.from_numpy(planes).permute(0, 3, 1, 2), CFA.RGGB)[:, 0].numpy()
    mosaic = torch.from_numpy(restorer(mosaics, **options))[None, None]
    return torch.nn.functional.pixel_unshuffle(mosaic, 2)[0].permute(1, 2, 0).numpy()


def shown(planes: np.ndarray) -> np.ndarray:
    """Packed planes (h, w, 4) -> an sRGB uint8 view (h, w, 3): R, mean G, B, each scaled to the image's green mean."""
    rgb = np.stack([planes[..., 0], planes[..., 1:3].mean(axis=-1), planes[..., 3]], axis=-1)
    means = rgb.reshape(-1, 3).mean(axis=0)
    return display(rgb * means[1] / np.maximum(means, 1e-6))


TASK = BurstTask(
    name="burst-raw",
    title="Raw burst denoising",
    published="none for raw bursts at these gains (the KPN paper's gray numbers are in burst.md)",
    model=RAW_MODEL,
    baselines=BASELINES,
    methods=(RAW_MODEL, "kpn-burst-raw-auto", *BASELINES),
    sets=("Kodak24", "CBSD68", HELDOUT),
    raw_models=True,
    make=test_burst,
    call=restore_planes,
    show=shown,
    cached=frozenset({"burst-bm3d"}),
)


def main(argv: list[str] | None = None) -> None:
    main_for(TASK, argv, __doc__)


if __name__ == "__main__":
    main()
