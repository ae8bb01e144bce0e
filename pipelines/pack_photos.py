"""Pack the training photos small enough to carry to a GPU machine (which has no ``../shared``).

    python -m pipelines.pack_photos --out cache/photos-512q95 --long-side 512 --quality 95
    python -m pipelines.train_dncnn dncnn-gray-25 --data cache/photos-512q95 --device cuda

Each photo is area-downscaled to ``--long-side`` pixels and stored as WebP (lossless by default) in ``train/`` or
``validation/`` following ``split_photos`` of the source folder, so the held-out photos stay held out. ``--quality``
below 101 stores lossy WebP, and the command reports how far the stored photos are from the downscaled ones (mean and
worst PSNR, in color and in gray: lossy WebP keeps the colors at half resolution, so the gray models' targets are
closer to the photos than the color model's). The GPU machine of the ``device`` tool takes the checkout and what it
carries in 64 MiB together, so the command also adds the pack to the checkout's size (git's tracked and untracked, not
ignored files) and warns when the two would not fit. The output folder must be new or empty, so that two packs never
mix; a photo that cannot be read is skipped with a warning.
"""

from __future__ import annotations

import argparse
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from pipelines.arguments import bounded_int
from pipelines.photos import DEFAULT_TRAIN_DIR, read_photos, split_photos
from restore.io.atomic import write_atomic
from restore.metrics import psnr

LOSSLESS = 101  # OpenCV's WebP quality above 100: lossless
CARRY_LIMIT = 64 * 2**20  # bytes the GPU machine takes: the checkout and its carried paths together
REPOSITORY = Path(__file__).resolve().parents[1]


@dataclass
class Pack:
    """What ``pack_photos`` wrote: bytes in all, and for lossy WebP each photo's PSNR (dB) against its downscaled
    original by file name, in RGB and in gray (as the gray models read it)."""

    nbytes: int = 0
    psnr: dict[str, float] = field(default_factory=dict)
    gray_psnr: dict[str, float] = field(default_factory=dict)


def pack_photos(source: Path, out: Path, long_side: int, quality: int = LOSSLESS) -> Pack:
    """Write the downscaled photos of ``source`` into ``out/train`` and ``out/validation`` as WebP of ``quality``
    (1-100 lossy, ``LOSSLESS``)."""
    if not 1 <= quality <= LOSSLESS:
        raise ValueError(f"quality is 1 to 100 (lossy WebP) or {LOSSLESS} (lossless), got {quality}")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise FileExistsError(f"{out} is not an empty folder: pack into a new one")
    pack = Pack()
    train, validation = split_photos(source)
    for subset, photos in (("train", train), ("validation", validation)):
        (out / subset).mkdir(parents=True, exist_ok=True)
        for index, (path, photo) in enumerate(read_photos(photos, 3, long_side)):
            image = cv2.cvtColor(photo, cv2.COLOR_RGB2BGR)
            ok, data = cv2.imencode(".webp", image, [cv2.IMWRITE_WEBP_QUALITY, quality])
            if not ok:
                raise ValueError(f"cannot encode {path} as WebP")
            name = f"{index:04d}_{path.stem}.webp"
            write_atomic(out / subset / name, data.tobytes())
            pack.nbytes += data.nbytes
            if quality < LOSSLESS:
                stored = cv2.imdecode(data, cv2.IMREAD_COLOR)
                pack.psnr[name] = psnr(stored, image)
                pack.gray_psnr[name] = psnr(*(cv2.cvtColor(x, cv2.COLOR_BGR2GRAY) for x in (stored, image)))
    return pack


def checkout_bytes(repository: Path = REPOSITORY) -> int | None:
    """Bytes of the files a GPU call sends without ``carry``: git's tracked and untracked, not ignored ones (None
    outside a git checkout)."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=repository,
            capture_output=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    files = (repository / name for name in listed.stdout.decode().split("\0") if name)
    return sum(path.stat().st_size for path in files if path.is_file())


def describe(pack: Pack, out: Path, checkout: int | None) -> list[str]:
    """The report's lines: size and fidelity of the pack, and whether it fits beside the checkout."""
    lines = [f"packed {pack.nbytes / 1e6:.1f} MB into {out}"]
    for what, scores in (("color", pack.psnr), ("gray", pack.gray_psnr)):
        if scores:
            worst = min(scores, key=scores.get)
            lines.append(
                f"lossy WebP, {what}: {np.mean(list(scores.values())):.1f} dB from the downscaled photos on average,"
                f" {scores[worst]:.1f} at worst ({worst})"
            )
    if checkout is not None:
        total = (checkout + pack.nbytes) / 2**20
        fits = "fits" if total <= CARRY_LIMIT / 2**20 else "WARNING: does not fit"
        lines.append(
            f"with the checkout ({checkout / 2**20:.1f} MiB): {total:.1f} of the GPU machine's"
            f" {CARRY_LIMIT / 2**20:.0f} MiB, {fits}"
        )
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_TRAIN_DIR, help="folder of clean photos")
    parser.add_argument("--out", type=Path, required=True, help="output folder (git-ignored, e.g. cache/...)")
    parser.add_argument("--long-side", type=bounded_int(16), default=512, help="long side in pixels, 16 or more")
    parser.add_argument(
        "--quality",
        type=bounded_int(1, LOSSLESS),
        default=LOSSLESS,
        help=f"WebP quality 1-100, or {LOSSLESS}: lossless",
    )
    args = parser.parse_args(argv)
    try:
        pack = pack_photos(args.data, args.out, args.long_side, args.quality)
    except (FileExistsError, FileNotFoundError) as error:
        parser.error(str(error))
    print("\n".join(describe(pack, args.out, checkout_bytes())))


if __name__ == "__main__":
    main()
