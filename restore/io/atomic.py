"""Atomic file writes: a reader never sees a half-written file, and a failed write leaves the old file intact."""

from __future__ import annotations

import errno
import os
import secrets
from pathlib import Path

__all__ = ["write_atomic"]


def write_atomic(path: str | os.PathLike[str], data: bytes | str) -> None:
    """Write ``data`` (text is UTF-8 encoded) to ``path`` through a hidden temporary file in the same folder.

    The temporary file (``.restore-<pid>-<random>.tmp``, short whatever the length of ``path``'s name, made with
    the permissions of any new file) is flushed to disk and moved onto ``path`` with ``os.replace``; on any
    failure it is removed, an existing ``path`` is untouched, and an ``OSError`` names ``path``, not the temporary
    file.
    """
    path = Path(path)
    if not path.parent.is_dir():  # else the error would name the temporary file
        raise FileNotFoundError(errno.ENOENT, "no such folder to write into", str(path.parent))
    payload = data.encode() if isinstance(data, str) else data
    temporary = path.with_name(f".restore-{os.getpid()}-{secrets.token_hex(6)}.tmp")
    try:
        handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    except OSError as error:
        raise _naming(error, path) from None
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(payload)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException as error:
        temporary.unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise _naming(error, path) from None
        raise


def _naming(error: OSError, path: Path) -> OSError:
    """``error`` told about ``path`` instead of the temporary file."""
    return type(error)(error.errno, error.strerror, str(path)) if error.errno is not None else error
