"""What a command-line run restores and where each output goes: input files and folders expanded into jobs (single
images) or bursts, outputs named after their inputs, and the refusals that keep inputs and other outputs safe (an
output folder inside an input folder, two inputs writing one output, an output that would replace an input).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from restore import io
from restore.errors import RestoreError

FORMATS = {"png": ".png", "tif": ".tif", "jpg": ".jpg", "webp": ".webp"}
INVERSE_FORMAT = {"dng": ".dng"}  # the output of an inverse (sRGB -> raw) run


class UsageError(RestoreError):
    """A command line that cannot run at all (the command line exits with status 2)."""


@dataclass(frozen=True)
class Job:
    """One file to restore: its source and the output it goes to."""

    source: Path
    target: Path


@dataclass
class Summary:
    """What a folder run did."""

    restored: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)
    ignored: list[Path] = field(default_factory=list)
    unsearched: list[Path] = field(default_factory=list)  # subfolders of a run without --recursive


def output_suffix(source: Path, fmt: str) -> str:
    """The output file's suffix: the source's own, or ``fmt``; raw sources become 16-bit PNG by default."""
    if fmt != "same":
        return {**FORMATS, **INVERSE_FORMAT}[fmt]
    return ".png" if io.is_raw_path(source) else source.suffix


def folder_name(folder: Path) -> str:
    """The name a folder was given by (of the absolute path, so that "." and ".." have one; a symlink keeps its own
    name rather than its target's)."""
    return Path(os.path.abspath(folder)).name


def refuse_nested_folders(folder: Path, outdir: Path) -> None:
    """Raises UsageError where the output folder ``outdir`` is the input folder ``folder`` or inside it, or
    ``folder`` is inside ``outdir`` (outputs would land beside unrelated files of the same names)."""
    given, out = folder.resolve(), outdir.resolve()
    if out == given or given in out.parents:
        raise UsageError(f"output folder {outdir} is inside input folder {folder}; choose another -o")
    if out in given.parents:
        raise UsageError(f"input folder {folder} is inside output folder {outdir}; choose another -o")


def refuse_same_names(folders: list[Path], outdir: Path) -> None:
    """Raises UsageError where two of ``folders`` have one name, so their outputs would share ``outdir / name``."""
    seen: dict[str, Path] = {}
    for folder in folders:
        other = seen.setdefault(folder_name(folder), folder)
        if other != folder:
            raise UsageError(
                f"input folders {other} and {folder} would both write to {outdir / folder_name(folder)}; "
                "restore them in separate runs (or into separate -o folders)"
            )


def is_hidden(path: Path, root: Path) -> bool:
    """Whether ``path``, found under the folder ``root``, is hidden or lies inside a hidden folder below ``root``."""
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def list_folder(folder: Path, recursive: bool, summary: Summary) -> list[Path]:
    """The files below ``folder``, sorted: at every depth where ``recursive`` (through links to folders too, each
    folder once), else only its own, its visible subfolders then counted in ``summary.unsearched``. A visible
    subfolder that cannot be read is a failure in ``summary``, and the run goes on without it.

    Raises:
        UsageError: ``folder`` itself cannot be read.
    """
    files: list[Path] = []
    visited: set[str] = set()

    def unreadable(error: OSError) -> None:
        path = Path(error.filename)
        if path == folder:
            raise UsageError(f"cannot read the input folder {folder}: {error.strerror or error}")
        if not is_hidden(path, folder):
            summary.failed.append((path, f"cannot read the folder: {error.strerror or error}"))

    for top, names, file_names in os.walk(folder, onerror=unreadable, followlinks=True):
        place, real = Path(top), os.path.realpath(top)
        if real in visited:  # a link back to a folder already listed
            names.clear()
            continue
        visited.add(real)
        files.extend(path for path in (place / name for name in file_names) if path.is_file())
        if not recursive:
            summary.unsearched.extend(
                path for path in sorted(place / name for name in names) if not is_hidden(path, folder)
            )
            break
    return sorted(files)


def plan_jobs(inputs: list[Path], outdir: Path, recursive: bool, fmt: str, takes_raw: bool, summary: Summary):
    """Expand files and folders into jobs; folder contents keep their relative paths under ``outdir``, under a
    subfolder named after their folder where several folders are given (``a/ b/ -o out`` gives ``out/a``, ``out/b``).

    Files in a folder that are not inputs of the model (camera raws for a raw model, ``takes_raw``, else images)
    are ignored, and so are hidden files, the files of hidden folders and subfolders without ``recursive`` (all
    counted in ``summary``); a file named explicitly is always tried, so that a wrong file gives an error rather
    than silence.

    Raises:
        UsageError: a missing or unreadable input, ``outdir`` inside an input folder or equal to it, an input folder
            inside ``outdir`` (outputs would land beside unrelated files of the same names), or several input
            folders of one name (they would share a subfolder).
    """
    accepted = io.RAW_SUFFIXES if takes_raw else io.IMAGE_SUFFIXES
    folders = [given for given in inputs if given.is_dir()]
    several_folders = len(folders) > 1
    if several_folders:
        refuse_same_names(folders, outdir)
    jobs: list[Job] = []
    for given in inputs:
        if not given.exists():
            raise UsageError(f"input {given} does not exist")
        if given.is_dir():
            refuse_nested_folders(given, outdir)
            destination = outdir / folder_name(given) if several_folders else outdir
            for path in list_folder(given, recursive, summary):
                if path.suffix.lower() not in accepted or is_hidden(path, given):
                    summary.ignored.append(path)  # hidden files, and with --recursive all files of hidden folders
                    continue
                relative = path.relative_to(given).with_suffix(output_suffix(path, fmt))
                jobs.append(Job(path, destination / relative))
        else:
            jobs.append(Job(given, outdir / Path(given.name).with_suffix(output_suffix(given, fmt))))
    return jobs


def plan_writes(jobs: list[Job], overwrite: bool, summary: Summary, inputs: list[Path] | None = None) -> list[Job]:
    """The jobs to run: refuses outputs that would overwrite an input (``inputs``, default the jobs' sources) or
    collide, skips existing outputs."""
    sources = {path.resolve() for path in (inputs if inputs is not None else [job.source for job in jobs])}
    targets: set[Path] = set()
    due = []
    for job in jobs:
        target = job.target.resolve()
        if target in sources:
            summary.failed.append((job.source, f"output {job.target} would overwrite an input; not written"))
        elif target in targets:
            summary.failed.append((job.source, f"output {job.target} already written by another input this run"))
        elif job.target.exists() and not overwrite:
            summary.skipped.append(job.source)
        else:
            due.append(job)
        targets.add(target)
    return due


def plan_burst_writes(
    bursts: list[tuple[list[Path], Path]], overwrite: bool, summary: Summary
) -> list[tuple[Job, list[Path]]]:
    """The bursts to run, each as (a job named by its first frame, its frames): as ``plan_writes``, no output
    replaces a frame or another burst's output of this run, and existing outputs are skipped."""
    jobs = [Job(frames[0], target) for frames, target in bursts]
    due = {id(job) for job in plan_writes(jobs, overwrite, summary, [f for frames, _ in bursts for f in frames])}
    return [(job, frames) for job, (frames, _) in zip(jobs, bursts, strict=True) if id(job) in due]


def plan_bursts(
    inputs: list[Path],
    outdir: Path,
    fmt: str,
    summary: Summary,
    raw: bool = False,
    reference: int = 0,
    recursive: bool = False,
) -> list[tuple[list[Path], Path]]:
    """Bursts to restore: each input folder is one burst (its images sorted by name), and so, with ``recursive``,
    is each of its subfolders that holds frames (``day/a/`` gives ``OUTDIR/day/a.png`` beside ``OUTDIR/day.png``);
    the files named on the command line together form one more, named after its ``reference`` frame. Returns
    (frames, output file) pairs. Raw bursts (``raw``) take camera raw files and give a DNG. Hidden files and folders
    are left out; subfolders not searched (no ``recursive``) are counted in ``summary``, and so are those that cannot
    be read, as failures.

    Raises:
        UsageError: a missing or unreadable input, ``outdir`` inside an input folder, an input folder inside
            ``outdir``, or a ``reference`` beyond the named files.
    """
    suffixes = io.RAW_SUFFIXES if raw else io.IMAGE_SUFFIXES
    bursts, files = [], []
    for given in inputs:
        if not given.exists():
            raise UsageError(f"input {given} does not exist")
        if given.is_file():
            files.append(given)
            continue
        refuse_nested_folders(given, outdir)
        frames_by_folder: dict[Path, list[Path]] = {}
        for path in list_folder(given, recursive, summary):
            if path.suffix.lower() in suffixes and not is_hidden(path, given):
                frames_by_folder.setdefault(path.parent, []).append(path)
        for folder, frames in sorted(frames_by_folder.items()):  # named after the folder ("." has a name too)
            name = Path(folder_name(given)) / folder.relative_to(given)
            bursts.append((frames, outdir / (str(name) + burst_suffix(frames[0], fmt, raw))))
    if files:
        if reference >= len(files):
            raise UsageError(f"--reference {reference}, but the files named form a burst of {len(files)} frames")
        named = files[reference]
        bursts.append((files, outdir / (named.stem + "-burst" + burst_suffix(named, fmt, raw))))
    return bursts


def other_kind_hint(
    inputs: list[Path], raw: bool, single: bool = False, recursive: bool = False, inverse: bool = False
) -> str:
    """For a model (``raw``: of camera raws; ``single``: of single images, else of bursts; ``inverse``: invisp from
    sRGB) that found nothing in its input folders (with their subfolders where ``recursive``): a hint when they hold
    the other kind."""
    found = {
        path.suffix.lower()
        for given in inputs
        if given.is_dir()
        for path in list_folder(given, recursive, Summary())  # what it records, the plan has recorded already
    }
    if not raw and found & io.RAW_SUFFIXES:
        if inverse:
            return " (they hold camera raws: leave out --inverse to render them)"
        return (
            " (they hold camera raws: use lowlight-raw or invisp)"
            if single
            else " (they hold camera raws: use kpn-burst-raw)"
        )
    if raw and found & io.IMAGE_SUFFIXES:
        other = "an image model" if single else "kpn-burst or a burst-* baseline"
        return f" (they hold images, not camera raws: use {other})"
    return ""


def burst_suffix(reference: Path, fmt: str, raw: bool) -> str:
    """A burst output's suffix: DNG for a raw burst, else as for single images (``output_suffix``)."""
    return INVERSE_FORMAT["dng"] if raw else output_suffix(reference, fmt)
