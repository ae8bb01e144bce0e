"""Pack the training photos small enough to carry to a GPU machine (which has no ``../shared``).

    python -m pipelines.pack_photos --out cache/photos-512            # 37 MB for the 188 shared photos
    python -m pipelines.train_dncnn dncnn-color --data cache/photos-512 --device cuda

Each photo is area-downscaled to ``--long-side`` pixels and stored as WebP (lossless by default) in ``train/`` or
``validation/`` following ``split_photos`` of the source folder, so the held-out photos stay held out. ``--quality``
below 101 stores lossy WebP: at 95 the 188 shared photos at 512 px take 10.9 MB instead of 37.2 (40.8 dB from the
lossless ones on average, 31.5 at worst; measured 2026-12-04), which fits beside the checkout in a GPU machine's
64 MiB carry. The output folder must be new or empty, so that two packs never mix; a photo that cannot be read is
skipped with a warning.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2

from pipelines.arguments import bounded_int
from pipelines.photos import DEFAULT_TRAIN_DIR, read_photos, split_photos
from restore.io.atomic import write_atomic

LOSSLESS = 101  # OpenCV's WebP quality above 100: lossless


def pack_photos(source: Path, out: Path, long_side: int, quality: int = LOSSLESS) -> int:
    """Write the downscaled photos of ``source`` into ``out/train`` and ``out/validation`` as WebP of ``quality``
    (1-100 lossy, ``LOSSLESS``); returns bytes written."""
    if not 1 <= quality <= LOSSLESS:
        raise ValueError(f"quality is 1 to 100 (lossy WebP) or {LOSSLESS} (lossless), got {quality}")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise FileExistsError(f"{out} is not an empty folder: pack into a new one")
    total = 0
    train, validation = split_photos(source)
    for subset, photos in (("train", train), ("validation", validation)):
        (out / subset).mkdir(parents=True, exist_ok=True)
        for index, (path, photo) in enumerate(read_photos(photos, 3, long_side)):
            image = cv2.cvtColor(photo, cv2.COLOR_RGB2BGR)
            ok, data = cv2.imencode(".webp", image, [cv2.IMWRITE_WEBP_QUALITY, quality])
            if not ok:
                raise ValueError(f"cannot encode {path} as WebP")
            write_atomic(out / subset / f"{index:04d}_{path.stem}.webp", data.tobytes())
            total += data.nbytes
    return total


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
        total = pack_photos(args.data, args.out, args.long_side, args.quality)
    except (FileExistsError, FileNotFoundError) as error:
        parser.error(str(error))
    print(f"packed {total / 1e6:.1f} MB into {args.out}")


if __name__ == "__main__":
    main()
