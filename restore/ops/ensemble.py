"""Geometric self-ensemble: run a network on the eight flips and quarter turns of its input and average the results
mapped back (Timofte et al. 2016, "Seven ways to improve example-based single image super resolution").

Valid for tasks that commute with those transforms (denoising, deblurring, burst merging, gray or RGB); not for
packed Bayer input, whose color channels a flip or turn would swap.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor

__all__ = ["DIHEDRAL", "apply_dihedral", "self_ensemble", "undo_dihedral"]

DIHEDRAL = tuple((quarter_turns, mirror) for mirror in (False, True) for quarter_turns in range(4))
"""The eight transforms of the square as (quarter turns counter-clockwise, mirrored left-right first)."""


def apply_dihedral(x: Tensor, quarter_turns: int, mirror: bool) -> Tensor:
    """(..., H, W) -> the same mirrored left-right (if ``mirror``), then turned by ``quarter_turns`` x 90 degrees."""
    return (x.flip(-1) if mirror else x).rot90(quarter_turns, dims=(-2, -1))


def undo_dihedral(x: Tensor, quarter_turns: int, mirror: bool) -> Tensor:
    """The inverse of ``apply_dihedral`` with the same arguments."""
    turned_back = x.rot90(-quarter_turns, dims=(-2, -1))
    return turned_back.flip(-1) if mirror else turned_back


def self_ensemble(function: Callable[[Tensor], Tensor], x: Tensor) -> Tensor:
    """Mean of ``undo(function(apply(x)))`` over the eight ``DIHEDRAL`` transforms, in float32.

    ``function`` maps (B, C, H, W) to (B, C', H * s, W * s) for some fixed scale s; it is called eight times, one
    transform at a time, so peak memory is that of a single call.
    """
    total = None
    for transform in DIHEDRAL:
        restored = undo_dihedral(function(apply_dihedral(x, *transform)), *transform).float()
        total = restored if total is None else total + restored
    return total / len(DIHEDRAL)
