"""Bayer packing: every CFA mirrors into RGGB, packs and unpacks losslessly, and odd sizes pad with the right colors."""

from __future__ import annotations

import pytest
import torch

from restore.errors import InvalidImageError
from restore.io import CFA
from restore.ops.bayer import PACKED_COLORS, mirror_to_rggb, mosaic_rgb, pack_bayer, pad_to_even, unpack_bayer

COLOR = {"R": 0.9, "G": 0.5, "B": 0.1}


def color_mosaic(cfa: CFA, height: int, width: int) -> torch.Tensor:
    """A mosaic (1, 1, H, W) whose value tells the color of each site: 0.9 red, 0.5 green, 0.1 blue."""
    mosaic = torch.empty(1, 1, height, width)
    for index, letter in enumerate(cfa.value):
        mosaic[..., index // 2 :: 2, index % 2 :: 2] = COLOR[letter]
    return mosaic


@pytest.mark.parametrize("cfa", list(CFA))
def test_pack_unpack_round_trip(cfa: CFA) -> None:
    mosaic = torch.rand(2, 1, 6, 10)
    packed = pack_bayer(mosaic, cfa)
    assert packed.shape == (2, 4, 3, 5)
    assert torch.equal(unpack_bayer(packed, cfa), mosaic)


@pytest.mark.parametrize("cfa", list(CFA))
def test_packed_planes_are_in_rggb_order(cfa: CFA) -> None:
    packed = pack_bayer(color_mosaic(cfa, 8, 12), cfa)
    for plane, letter in zip(packed[0], PACKED_COLORS):
        assert torch.all(plane == COLOR[letter]), (cfa, letter)


@pytest.mark.parametrize("cfa", list(CFA))
@pytest.mark.parametrize(("height", "width"), [(7, 8), (8, 9), (7, 9)])
def test_odd_sizes_pad_with_the_missing_sites_colors(cfa: CFA, height: int, width: int) -> None:
    full = color_mosaic(cfa, height + 1, width + 1)
    padded, size = pad_to_even(full[..., :height, :width])
    assert size == (height, width)
    assert padded.shape[-2:] == (height + height % 2, width + width % 2)
    assert torch.equal(padded, full[..., : padded.shape[-2], : padded.shape[-1]])


@pytest.mark.parametrize("cfa", list(CFA))
def test_mosaic_samples_each_sites_color(cfa: CFA) -> None:
    rgb = torch.tensor([COLOR["R"], COLOR["G"], COLOR["B"]]).view(1, 3, 1, 1).expand(1, 3, 6, 8)
    assert torch.equal(mosaic_rgb(rgb, cfa), color_mosaic(cfa, 6, 8))


@pytest.mark.parametrize("cfa", list(CFA))
def test_mirroring_is_its_own_inverse(cfa: CFA) -> None:
    image = torch.rand(1, 3, 4, 6)
    assert torch.equal(mirror_to_rggb(mirror_to_rggb(image, cfa), cfa), image)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: pack_bayer(torch.rand(1, 3, 4, 4), CFA.RGGB), "must be \\(B, 1, H, W\\)"),
        (lambda: pack_bayer(torch.rand(1, 1, 5, 4), CFA.BGGR), "even sizes"),
        (lambda: unpack_bayer(torch.rand(1, 3, 4, 4), CFA.RGGB), "must be \\(B, 4, h, w\\)"),
        (lambda: pad_to_even(torch.rand(1, 1, 1, 4)), "at least 2x2"),
        (lambda: mosaic_rgb(torch.rand(1, 1, 4, 4), CFA.RGGB), "RGB images"),
    ],
)
def test_bad_shapes_raise_clear_errors(call, message: str) -> None:
    with pytest.raises(InvalidImageError, match=message):
        call()
