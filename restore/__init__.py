"""restore: learned image restoration behind one ``restore(image)`` API.

>>> import restore
>>> [m.name for m in restore.models()]
>>> clean = restore.restore(noisy, model="dncnn-color", sigma=25)
"""

from restore import io, metrics
from restore.api import Restorer, load, models, restore
from restore.errors import (
    InvalidImageError,
    InvalidOptionError,
    MetadataWarning,
    PerformanceWarning,
    RestoreError,
    UnknownModelError,
    UnreadableFileError,
    WeightsError,
)
from restore.registry import ModelInfo

__version__ = "0.1.0"

__all__ = [
    "InvalidImageError",
    "InvalidOptionError",
    "MetadataWarning",
    "ModelInfo",
    "PerformanceWarning",
    "RestoreError",
    "Restorer",
    "UnknownModelError",
    "UnreadableFileError",
    "WeightsError",
    "io",
    "load",
    "metrics",
    "models",
    "restore",
]
