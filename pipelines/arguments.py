"""Argument types of the training commands: numbers in range and a device that exists, refused when the command line
is parsed (a one-line usage error) instead of with a traceback after the patch bank is built."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

import torch

__all__ = ["bounded_float", "bounded_int", "multiple_of", "torch_device"]


def bounded_int(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse type: an integer from ``low`` up to ``high`` (inclusive; no upper bound where None)."""

    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an integer: {value!r}") from None
        if number < low or (high is not None and number > high):
            bound = f"{low} or more" if high is None else f"in {low}..{high}"
            raise argparse.ArgumentTypeError(f"{number} is not {bound}")
        return number

    return parse


def multiple_of(step: int, low: int, high: int | None = None, reason: str = "") -> Callable[[str], int]:
    """An argparse type: an integer from ``low`` up to ``high`` that ``step`` divides (a network's downsampling, an
    encoder's block); ``reason`` says why in the error."""
    within = bounded_int(low, high)

    def parse(value: str) -> int:
        number = within(value)
        if number % step:
            why = f" ({reason})" if reason else ""
            raise argparse.ArgumentTypeError(f"{number} is not a multiple of {step}{why}")
        return number

    return parse


def bounded_float(
    low: float, high: float = math.inf, *, exclusive_low: bool = False, allow_inf: bool = False
) -> Callable[[str], float]:
    """An argparse type: a finite number from ``low`` (above it, with ``exclusive_low``) up to ``high``; ``inf``
    too with ``allow_inf`` (a time limit that never ends)."""

    def parse(value: str) -> float:
        try:
            number = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
        if math.isinf(number) and not allow_inf:
            raise argparse.ArgumentTypeError(f"{value} is not a finite number")
        too_low = number <= low if exclusive_low else number < low
        if math.isnan(number) or too_low or number > high:
            bound = f"above {low:g}" if exclusive_low else f"{low:g} or more"
            raise argparse.ArgumentTypeError(
                f"{value} is not {bound}" + (f" and at most {high:g}" if high < math.inf else "")
            )
        return number

    return parse


def torch_device(value: str) -> str:
    """An argparse type: a torch device name this machine has (``cpu``, ``cuda``, ``cuda:1``, ``mps``)."""
    try:
        device = torch.device(value)
    except RuntimeError:
        raise argparse.ArgumentTypeError(f"not a torch device: {value!r} (cpu, cuda, cuda:1, mps)") from None
    available = {
        "cpu": True,
        "cuda": torch.cuda.is_available() and (device.index or 0) < torch.cuda.device_count(),
        "mps": torch.backends.mps.is_available(),
    }
    if not available.get(device.type, False):
        raise argparse.ArgumentTypeError(f"this machine has no {value} device")
    return value
