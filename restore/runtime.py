"""Process-level performance settings, applied by the command line and scripts, never on import of the library."""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3


def tune_allocator() -> bool:
    """Keep large tensor buffers in glibc's heap instead of mmap/munmap on every allocation.

    With glibc's defaults, 30-45% of CPU inference time goes to page faults on freshly mapped buffers (DESIGN.md,
    performance notes). Returns whether the settings were applied (glibc on Linux only).
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    settings = ((M_MMAP_THRESHOLD, 32 << 20), (M_TRIM_THRESHOLD, (1 << 31) - 1), (M_TOP_PAD, 1 << 30))
    return all(mallopt(option, value) == 1 for option, value in settings)
