"""The exceptions ``restore`` raises and the warning it gives. Every exception is a ``RestoreError``; input problems
are also ``ValueError``s."""

from __future__ import annotations

__all__ = [
    "InvalidImageError",
    "InvalidOptionError",
    "MetadataWarning",
    "PerformanceWarning",
    "RestoreError",
    "UnknownModelError",
    "UnreadableFileError",
    "WeightsError",
]


class RestoreError(Exception):
    """Base class of every error raised by ``restore``."""


class InvalidImageError(RestoreError, ValueError):
    """An image (array, tensor or burst) that cannot be restored: empty, wrong shape or channels, NaN/inf, bad dtype."""


class InvalidOptionError(RestoreError, ValueError):
    """A per-call or load-time option that a model does not take or that is out of range."""


class UnreadableFileError(RestoreError, ValueError):
    """A file that does not exist, is truncated, or is not an image or raw format that ``restore`` reads."""


class UnknownModelError(RestoreError, ValueError):
    """A model name that is not in the registry."""


class WeightsError(RestoreError):
    """A checkpoint that is missing, corrupted (sha256 mismatch) or does not fit its architecture."""


class MetadataWarning(UserWarning):
    """Metadata of an input file that could not be carried over to the output (a malformed EXIF block, an ICC profile
    of another color model); the pixels are written without it."""


class PerformanceWarning(UserWarning):
    """A setting that works but runs far slower than the default on this machine (e.g. bfloat16 on a CPU without
    native bfloat16); filter it like any warning."""
