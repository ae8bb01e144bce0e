"""Running planned command-line jobs: each file read ahead in a worker thread, restored, and written atomically with
its metadata while the next one is restored; a failure is recorded in the run's ``Summary`` and the run carries on.
"""

from __future__ import annotations

import sys
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from restore import api, io
from restore.batch_plan import Job, Summary, plan_burst_writes, plan_writes
from restore.errors import RestoreError
from restore.io.orientation import apply_orientation
from restore.runs import write_burst_dng, write_invisp_dng

SIXTEEN_BIT_SUFFIXES = {".png", ".tif", ".tiff"}


def quantize_rendering(rendering: np.ndarray, target: Path, bit_depth: int) -> np.ndarray:
    """A float rendering on [0, 1] (from a raw) as uint16 where ``bit_depth`` is 16 and the format holds it, else uint8."""
    clipped = np.clip(rendering, 0.0, 1.0)
    if bit_depth == 16 and target.suffix.lower() in SIXTEEN_BIT_SUFFIXES:
        return np.round(clipped * 65535.0).astype(np.uint16)
    return np.round(clipped * 255.0).astype(np.uint8)


@dataclass
class Loaded:
    """A job's input, read ahead of inference: a decoded image with its metadata, or a raw file's path."""

    job: Job
    image: np.ndarray | Path
    metadata: io.ImageMetadata | None
    renders_raw: bool  # a raw file rendered to sRGB, to be quantized to the output's bit depth


def read_job(restorer: api.Restorer, job: Job, options: dict) -> Loaded:
    """Check that the file suits the model and decode it (raw files are read by the model itself). Pixels stay as
    stored (the output keeps the EXIF orientation), except for a blur kernel, which is given as the photo is
    displayed: then the orientation is applied and the output written upright."""
    raw_file = io.is_raw_path(job.source)
    if options.get("inverse"):
        if raw_file:
            raise RestoreError(f"--inverse takes sRGB images, not camera raws, for {restorer.spec.name}")
    elif raw_file and restorer.spec.input_kind != "raw":
        raise RestoreError(f"camera raw file, but {restorer.spec.name} restores RGB/gray images")
    elif not raw_file and restorer.spec.input_kind == "raw":
        raise RestoreError(f"not a camera raw file, but {restorer.spec.name} takes raw input")
    if raw_file:
        return Loaded(job, job.source, None, renders_raw=True)
    if job.source.suffix.lower() not in io.IMAGE_SUFFIXES:
        raise RestoreError(f"unsupported file type {job.source.suffix!r}")
    image, metadata = io.read_image_with_metadata(job.source)
    if options.get("kernel") is not None and metadata.orientation != 1:
        image, metadata = apply_orientation(image, metadata.orientation), replace(metadata, orientation=1)
    refuse_alpha_in_jpeg(image, job.target)
    return Loaded(job, image, metadata, renders_raw=False)


def refuse_alpha_in_jpeg(image: np.ndarray, target: Path) -> None:
    """Raises RestoreError, before any work, where an image with alpha would go to a JPEG ``target``."""
    if target.suffix.lower() in io.JPEG_SUFFIXES and image.ndim == 3 and image.shape[2] == 4:
        raise RestoreError("the image has an alpha channel, which JPEG cannot hold: use --format png or tif")


def write_job(loaded: Loaded, result: np.ndarray, options: dict, bit_depth: int, quality: int = 95) -> None:
    """Write one result atomically: a DNG for inverse runs, else an image keeping bit depth, EXIF and ICC.

    Raw renderings are written at ``bit_depth`` bits where the output format holds it (PNG, TIFF), else at 8 bits;
    JPEG and lossy WebP at ``quality``.
    """
    target = loaded.job.target
    target.parent.mkdir(parents=True, exist_ok=True)
    if options.get("inverse"):
        write_invisp_dng(target, result, orientation=loaded.metadata.orientation)  # pixels are read as stored
    elif loaded.renders_raw:
        io.write_image(target, quantize_rendering(result, target, bit_depth), quality=quality)
    else:
        io.write_image(target, result, metadata=loaded.metadata, quality=quality)


EXPECTED_FAILURES = (RestoreError, OSError, ValueError)  # a bad file, told in its own words


def failure_reason(error: Exception) -> str:
    """Why one file failed: the message of an expected failure, else the error's type too (out of memory, a bug)."""
    return str(error) if isinstance(error, EXPECTED_FAILURES) else f"{type(error).__name__}: {error}"


def run_jobs(
    restorer: api.Restorer,
    jobs: list[Job],
    options: dict,
    overwrite: bool,
    summary: Summary,
    bit_depth: int = 16,
    quality: int = 95,
) -> None:
    """Restore every job, carrying on past failures; progress goes to stderr; ``bit_depth`` and ``quality`` as for
    ``write_job``.

    Decoding the next file and encoding the previous result run in worker threads while the model works on the
    current one, so that inference does not wait on file I/O (at most one file read ahead, two writes in flight).
    """
    due = plan_writes(jobs, overwrite, summary)
    with ThreadPoolExecutor(max_workers=2) as pool:
        reads = deque(pool.submit(read_job, restorer, job, options) for job in due[:1])
        writes: deque = deque()
        for index, job in enumerate(tqdm(due, desc=restorer.spec.name, unit="file", file=sys.stderr, disable=not due)):
            if index + 1 < len(due):
                reads.append(pool.submit(read_job, restorer, due[index + 1], options))
            try:
                loaded = reads.popleft().result()
                result = restorer(loaded.image, **options)
                writes.append((job, pool.submit(write_job, loaded, result, options, bit_depth, quality)))
            except Exception as error:  # noqa: BLE001 - one file's failure, whatever it is, must not stop the run
                summary.failed.append((job.source, failure_reason(error)))
            while len(writes) > 2 or (writes and index + 1 == len(due)):
                finish_write(*writes.popleft(), summary)


def finish_write(job: Job, write: Future, summary: Summary) -> None:
    try:
        write.result()
        summary.restored.append(job.source)
    except Exception as error:  # noqa: BLE001 - as in run_jobs
        summary.failed.append((job.source, failure_reason(error)))


def restore_burst(restorer: api.Restorer, frames: list[Path], target: Path, options: dict, quality: int = 95) -> None:
    """Restore one burst of files into ``target`` (its folder made as needed): camera raws into a DNG; images into
    an image that keeps the reference frame's EXIF block and ICC profile (and WebP losslessness), JPEG and lossy
    WebP at ``quality``. Frames are merged as displayed (their EXIF orientations applied)."""
    reference = options.get("reference", 0)
    if restorer.spec.input_kind == "raw-burst":
        raws = [io.read_raw(frame) for frame in frames]
        mosaic = restorer(raws, **options)
        target.parent.mkdir(parents=True, exist_ok=True)
        write_burst_dng(target, mosaic, raws[reference])
        return
    images, metadata = [], None
    for index, frame in enumerate(frames):
        image, frame_metadata = io.read_image_with_metadata(frame)
        images.append(apply_orientation(image, frame_metadata.orientation))
        if index == reference:
            metadata = replace(frame_metadata, orientation=1)  # the pixels are written as displayed
            refuse_alpha_in_jpeg(image, target)
    result = restorer(images, **options)
    target.parent.mkdir(parents=True, exist_ok=True)
    io.write_image(target, result, metadata=metadata, quality=quality)


def run_bursts(
    restorer: api.Restorer, bursts, options: dict, overwrite: bool, summary: Summary, quality: int = 95
) -> None:
    """Restore every burst into one file (``restore_burst``), carrying on past failures (a burst is reported by its
    first frame); which bursts run is ``plan_burst_writes``'s choice."""
    todo = plan_burst_writes(bursts, overwrite, summary)
    for job, frames in tqdm(todo, desc=restorer.spec.name, unit="burst", file=sys.stderr, disable=not todo):
        try:
            restore_burst(restorer, frames, job.target, options, quality)
            summary.restored.append(frames[0])
        except Exception as error:  # noqa: BLE001 - as in run_jobs
            summary.failed.append((frames[0], f"burst of {len(frames)} frames: {failure_reason(error)}"))
