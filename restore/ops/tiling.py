"""Tiled inference: run a network on overlapping tiles and blend them, so memory stays bounded on large images."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["tile_layout", "tiled_apply"]


def tile_layout(length: int, tile: int, overlap: int, multiple: int = 1) -> tuple[int, list[int]]:
    """(size, starts) of the fewest tiles of at most ``tile`` pixels covering ``length``, consecutive tiles
    overlapping by at least ``overlap``; where ``length`` exceeds ``tile``, every start and the size are multiples of
    ``multiple``.

    A network that pools (a pyramid, a U-Net) computes the same function on a tile as on the whole image only where
    the tile's pooling grid lines up with the image's, hence tiles laid out in units of its size multiple; ``length``
    must then be a multiple of it too (``tiled_apply`` pads the image as an untiled run does). The tiles share the
    length evenly (the smallest size that still covers it), so a length just above a multiple of the tile does not
    cost a nearly redundant tile. The first tile starts at 0 and the last ends at ``length``.

    Raises:
        ValueError: ``length`` is not a multiple of ``multiple``, or ``tile`` leaves no room beyond the overlap.
    """
    if length <= tile:
        return length, [0]
    if length % multiple:
        raise ValueError(f"length {length} is not a multiple of {multiple}")
    units, room, lap = length // multiple, tile // multiple, -(-overlap // multiple)  # in units of the grid
    if room <= lap:
        raise ValueError(f"tiles of {tile} px cannot overlap by {overlap} px on a grid of {multiple}")
    count = -(-(units - lap) // (room - lap))
    size = -(-(units + (count - 1) * lap) // count)
    return size * multiple, [index * (units - size) // (count - 1) * multiple for index in range(count)]


def _edge_ramp(size: int, overlap: int, ramp_start: bool, ramp_end: bool, device: torch.device) -> Tensor:
    """Blending weights along one tile axis, shape (size,).

    Sides shared with a neighbouring tile get weight 0 in their outer ``overlap // 2`` pixels (where a network with a
    receptive-field radius up to that margin sees the tile border) and a linear ramp up to 1 over the next
    ``overlap - overlap // 2`` pixels. Image borders keep weight 1.
    """
    weights = torch.ones(size, device=device)
    margin = overlap // 2
    width = max(overlap - margin, 1)
    distance = torch.arange(size, device=device, dtype=torch.float32)
    ramp = ((distance - margin + 1) / (width + 1)).clamp(0.0, 1.0)
    if ramp_start:
        weights = torch.minimum(weights, ramp)
    if ramp_end:
        weights = torch.minimum(weights, ramp.flip(0))
    return weights


def tiled_apply(
    fn: Callable[[Tensor], Tensor],
    x: Tensor,
    tile: int,
    overlap: int,
    scale: int = 1,
    batch_tiles: int = 1,
    multiple: int = 1,
) -> Tensor:
    """Apply ``fn`` to overlapping tiles of ``x`` and blend the results.

    With ``overlap`` at least twice the network's receptive-field radius, every output pixel with non-zero weight
    is computed from the same input as without tiling, so the result matches untiled inference up to rounding.

    Args:
        fn: the network, mapping (B, C, h, w) to (B, C', h * scale, w * scale).
        x: input (B, C, H, W).
        tile: tile size in input pixels; images no larger than that in both sides are processed whole.
        overlap: overlap between neighbouring tiles in input pixels, smaller than ``tile``.
        scale: output pixels per input pixel (e.g. 2 for packed Bayer input to full-resolution RGB).
        batch_tiles: tiles per call of ``fn``, stacked along the batch dimension (all tiles have the same size);
            more keeps a GPU busy, 1 keeps memory lowest.
        multiple: a network's size multiple: tiles start on multiples of it, and tiles reaching past the bottom or
            right edge are edge-padded as the whole image would be (``fn`` pads an image of another size itself).

    Returns:
        The blended output (B, C', H * scale, W * scale), float32, on ``x``'s device.
    """
    height, width = x.shape[-2:]
    if height <= tile and width <= tile:
        return fn(x).float()
    if not 0 <= overlap < tile:
        raise ValueError(f"overlap ({overlap}) must be smaller than the tile size ({tile})")
    if batch_tiles < 1:
        raise ValueError(f"batch_tiles must be at least 1, got {batch_tiles}")
    padded_height, padded_width = -(-height // multiple) * multiple, -(-width // multiple) * multiple
    tile_height, tops = tile_layout(padded_height, tile, overlap, multiple)
    tile_width, lefts = tile_layout(padded_width, tile, overlap, multiple)
    positions = [(top, left) for top in tops for left in lefts]
    out = weight_sum = None
    for first in range(0, len(positions), batch_tiles):
        group = positions[first : first + batch_tiles]
        patches = torch.cat([_edge_padded(x, top, left, tile_height, tile_width) for top, left in group])
        for (top, left), result in zip(group, fn(patches).float().split(x.shape[0])):
            if out is None:
                out = result.new_zeros((*result.shape[:2], padded_height * scale, padded_width * scale))
                weight_sum = result.new_zeros((padded_height * scale, padded_width * scale))
            h, w = result.shape[-2:]
            wy = _edge_ramp(h, overlap * scale, top > 0, top + tile_height < padded_height, result.device)
            wx = _edge_ramp(w, overlap * scale, left > 0, left + tile_width < padded_width, result.device)
            weights = wy[:, None] * wx[None, :]
            rows, cols = slice(top * scale, top * scale + h), slice(left * scale, left * scale + w)
            out[..., rows, cols] += result * weights
            weight_sum[rows, cols] += weights
    return (out / weight_sum)[..., : height * scale, : width * scale]


def _edge_padded(x: Tensor, top: int, left: int, height: int, width: int) -> Tensor:
    """The (height, width) window of ``x`` (B, C, H, W) at (top, left); where it reaches past the bottom or right
    edge, the edge pixels are repeated, as in the whole image padded to a network's size multiple."""
    window = x[..., top : top + height, left : left + width]
    missing_rows, missing_cols = height - window.shape[-2], width - window.shape[-1]
    if missing_rows or missing_cols:
        window = F.pad(window, (0, missing_cols, 0, missing_rows), mode="replicate")
    return window
