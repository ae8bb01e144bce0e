"""``warnings.catch_warnings`` for library code that may run beside other threads (the command line decodes the next
file while the model works on this one): it swaps process-wide state, so two blocks in two threads could leave the
wrong filters in place or send later warnings to a dead list. Blocks entered through here take turns."""

from __future__ import annotations

import contextlib
import threading
import warnings
from collections.abc import Iterator

_LOCK = threading.Lock()


@contextlib.contextmanager
def catch_warnings(record: bool = False) -> Iterator[list[warnings.WarningMessage] | None]:
    """``warnings.catch_warnings(record=record)``, one block at a time across threads."""
    with _LOCK, warnings.catch_warnings(record=record) as caught:
        yield caught
