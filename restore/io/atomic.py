"""Atomic file writes: a reader never sees a half-written file, and a failed write leaves the old file intact."""

from __future__ import annotations

import errno
import os
import threading
from pathlib import Path

__all__ = ["write_atomic"]


def write_atomic(path: str | os.PathLike[str], data: bytes | str) -> None:
    """Write ``data`` (text is UTF-8 encoded) to ``path`` through a hidden temporary file in the same folder.

    The temporary file ``.<name>.<pid>.<thread>.tmp<suffix>`` is flushed to disk and moved onto ``path`` with
    ``os.replace``; on any failure it is removed and an existing ``path`` is untouched.
    """
    path = Path(path)
    if not path.parent.is_dir():  # else the error would name the temporary file
        raise FileNotFoundError(errno.ENOENT, "no such folder to write into", str(path.parent))
    payload = data.encode() if isinstance(data, str) else data
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp{path.suffix}")
    try:
        with open(temporary, "wb") as file:
            file.write(payload)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
