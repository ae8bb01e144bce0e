"""``restore.ops.tiling``: tiled inference matches untiled inference when the overlap covers the receptive field."""

from __future__ import annotations

import inspect
import itertools
from functools import partial

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import restore
from restore.ops.tiling import tile_layout, tiled_apply


def conv_stack(channels_in: int = 2, channels_out: int = 2, layers: int = 4, seed: int = 0) -> nn.Module:
    """A deterministic stack of 3x3 convolutions (receptive radius ``layers``) with zero padding."""
    generator = torch.Generator().manual_seed(seed)
    modules = []
    for i in range(layers):
        cin = channels_in if i == 0 else 8
        cout = channels_out if i == layers - 1 else 8
        conv = nn.Conv2d(cin, cout, 3, padding=1)
        with torch.no_grad():
            conv.weight.copy_(torch.randn(conv.weight.shape, generator=generator) * 0.3)
            conv.bias.copy_(torch.randn(conv.bias.shape, generator=generator) * 0.1)
        modules += [conv, nn.Tanh()] if i < layers - 1 else [conv]
    return nn.Sequential(*modules).eval()


def fewest_tiles_by_search(length: int, tile: int, overlap: int, multiple: int) -> int:
    """The fewest tiles of one size on the grid that cover ``length`` with the overlap, by trying every size and
    count (independent of ``tile_layout``'s closed form)."""
    for count in range(1, length + 1):
        for size in range(multiple, tile + 1, multiple):
            if count * size >= length and (count == 1 or count * size - (count - 1) * overlap >= length):
                gaps = (length - size) / max(count - 1, 1)  # even spacing, each gap rounded to the grid
                if count == 1 or size - -(-gaps // multiple) * multiple >= overlap:
                    return count
    raise AssertionError("no layout")


@pytest.mark.parametrize(
    "length, tile, overlap, multiple",
    [(10, 10, 2, 1), (5, 10, 2, 1), (11, 10, 2, 1), (150, 40, 8, 1), (97, 32, 8, 1), (4000, 1024, 40, 16)]
    + [(length, 100, 48, 4) for length in range(104, 400, 12)],
)
def test_tile_layout_covers_with_the_fewest_even_tiles_on_the_grid(length, tile, overlap, multiple):
    size, starts = tile_layout(length, tile, overlap, multiple)
    assert starts[0] == 0 and starts == sorted(set(starts))
    if length > tile:
        assert size <= tile and size % multiple == 0 and starts[-1] == length - size
        assert all(start % multiple == 0 for start in starts), "pooling grids line up with the image's"
        assert all(b - a <= size - overlap for a, b in itertools.pairwise(starts))
        assert len(starts) == fewest_tiles_by_search(length, tile, overlap, multiple)
    else:
        assert (size, starts) == (length, [0])


def test_a_length_just_over_the_tile_costs_little_extra_work():
    size, starts = tile_layout(4000, 1024, 40, 16)  # fixed 1024 tiles would process 5 x 1024 = 5120 pixels
    assert len(starts) * size <= 4000 + 4 * 48 + 5 * 15  # overlaps of 40 px on a 16 px grid, sizes rounded up to it


def test_a_length_off_the_grid_is_refused():
    with pytest.raises(ValueError, match="multiple"):
        tile_layout(125, 100, 48, 4)


@pytest.mark.parametrize("height, width", [(150, 97), (97, 150), (41, 33), (64, 200)])
@pytest.mark.parametrize("tile, overlap", [(32, 8), (40, 10), (33, 9)])
@torch.no_grad()
def test_tiled_matches_untiled(height, width, tile, overlap):
    layers = overlap // 2  # overlap >= 2 * receptive radius
    fn = conv_stack(layers=layers)
    x = torch.randn(2, 2, height, width, generator=torch.Generator().manual_seed(1))
    expected = fn(x)
    out = tiled_apply(fn, x, tile, overlap)
    assert out.shape == expected.shape and out.dtype == torch.float32
    assert float((out - expected).abs().max()) < 1e-5


@pytest.mark.parametrize("batch_tiles", [2, 3, 100])
@torch.no_grad()
def test_batched_tiles_give_the_same_result(batch_tiles):
    fn = conv_stack(layers=4)
    x = torch.randn(2, 2, 150, 97, generator=torch.Generator().manual_seed(2))
    calls = []

    def counted(patches):
        calls.append(patches.shape[0])
        return fn(patches)

    one_by_one = tiled_apply(fn, x, 40, 8)
    batched = tiled_apply(counted, x, 40, 8, batch_tiles=batch_tiles)
    assert float((batched - one_by_one).abs().max()) < 1e-5
    assert max(calls) == 2 * min(batch_tiles, len(tile_layout(150, 40, 8)[1]) * len(tile_layout(97, 40, 8)[1]))


def test_batch_tiles_must_be_positive():
    with pytest.raises(ValueError, match="batch_tiles"):
        tiled_apply(lambda t: t, torch.zeros(1, 1, 64, 64), 32, 8, batch_tiles=0)


@torch.no_grad()
def test_too_small_overlap_differs():
    """Sanity check of the test above: with overlap below 2 * radius, tiles do see their borders."""
    fn = conv_stack(layers=6)
    x = torch.randn(1, 2, 90, 90, generator=torch.Generator().manual_seed(2))
    out = tiled_apply(fn, x, 32, 4)
    assert float((out - fn(x)).abs().max()) > 1e-3


class ConvPixelShuffle(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = conv_stack(channels_in=2, channels_out=3 * 4, layers=3, seed=3)

    def forward(self, x):
        return F.pixel_shuffle(self.body(x), 2)


class ConvNearest(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = conv_stack(channels_in=2, channels_out=3, layers=3, seed=4)

    def forward(self, x):
        return F.interpolate(self.body(x), scale_factor=2, mode="nearest")


@pytest.mark.parametrize("network", [ConvPixelShuffle, ConvNearest])
@torch.no_grad()
def test_tiled_matches_untiled_with_scale_2(network):
    fn = network().eval()
    x = torch.randn(1, 2, 75, 49, generator=torch.Generator().manual_seed(5))
    expected = fn(x)
    assert expected.shape == (1, 3, 150, 98)
    out = tiled_apply(fn, x, 24, 6, scale=2)
    assert out.shape == expected.shape
    assert float((out - expected).abs().max()) < 1e-5


@torch.no_grad()
def test_tile_covering_the_image_is_one_call():
    calls = []

    def fn(t):
        calls.append(tuple(t.shape))
        return t * 2

    x = torch.rand(1, 1, 30, 20, dtype=torch.float64)
    out = tiled_apply(fn, x, 30, 8)
    assert calls == [(1, 1, 30, 20)]
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, (x * 2).float())


@torch.no_grad()
def test_tiles_share_one_size_within_the_requested_one():
    calls = []

    def fn(t):
        calls.append(tuple(t.shape[-2:]))
        return t

    x = torch.rand(1, 1, 70, 45)
    out = tiled_apply(fn, x, 32, 8)
    assert set(calls) == {(tile_layout(70, 32, 8)[0], tile_layout(45, 32, 8)[0])}
    assert max(max(c) for c in calls) <= 32
    torch.testing.assert_close(out, x)  # identity stays the identity: weights are normalized


class Pyramid(nn.Module):
    """A pooling network like deblur-ms's pyramid: not shift-equivariant except by multiples of 4."""

    multiple = 4

    def __init__(self) -> None:
        super().__init__()
        self.fine = conv_stack(channels_in=2, channels_out=2, layers=2, seed=6)
        self.coarse = conv_stack(channels_in=2, channels_out=2, layers=2, seed=7)

    def forward(self, x):
        coarse = F.interpolate(self.coarse(F.avg_pool2d(x, 4)), scale_factor=4, mode="bilinear")
        return self.fine(x) + coarse


@pytest.mark.parametrize("height, width", [(125, 97), (128, 101), (99, 130), (50, 130), (152, 152)])
@pytest.mark.parametrize("batch_tiles", [1, 3])
@torch.no_grad()
def test_tiled_matches_untiled_for_a_pooling_network_of_any_size(height, width, batch_tiles):
    network = Pyramid().eval()

    def padded_run(t):  # as Restorer.run_network: edge-pad to the multiple, crop back
        h, w = t.shape[-2:]
        return network(F.pad(t, (0, -w % 4, 0, -h % 4), mode="replicate"))[..., :h, :w]

    x = torch.randn(1, 2, height, width, generator=torch.Generator().manual_seed(8))
    out = tiled_apply(padded_run, x, 60, 24, batch_tiles=batch_tiles, multiple=4)
    assert out.shape == x.shape
    assert float((out - padded_run(x)).abs().max()) < 1e-5


def test_api_tiled_deblurring_matches_untiled_off_its_size_multiple(untrained_weights, smooth_image):
    image = smooth_image(470, 461, 3).astype(np.float32)  # neither side a multiple of the pyramid's 4
    whole = restore.load("deblur-ms", device="cpu", tile=None)
    tiled = restore.load("deblur-ms", device="cpu", tile=2 * whole.overlap + 8)
    assert tiled.tile < 461
    assert np.abs(tiled(image) - whole(image)).max() < 1e-4


def test_overlap_not_smaller_than_tile_raises():
    with pytest.raises(ValueError, match="overlap"):
        tiled_apply(lambda t: t, torch.zeros(1, 1, 50, 50), 16, 16)


# --- through the API ------------------------------------------------------------------------------------------------


def test_api_tiled_matches_untiled(untrained_weights, smooth_image, add_noise):
    noisy = add_noise(smooth_image(150, 130), sigma=25, seed=11).astype(np.float32)
    tiled = restore.load("dncnn-gray", device="cpu", tile=96)
    assert tiled.tile == 96 and tiled.overlap >= 2 * tiled.spec.receptive_radius
    whole = restore.load("dncnn-gray", device="cpu", tile=None)
    out_tiled, out_whole = tiled(noisy), whole(noisy)
    assert out_tiled.shape == noisy.shape and out_tiled.dtype == np.float32
    difference = np.abs(out_tiled - out_whole)
    assert difference.max() < 1e-4
    # No seam: the difference has no structure along the tile borders either.
    assert difference.mean(axis=0).max() < 1e-5 and difference.mean(axis=1).max() < 1e-5


def test_api_refuses_tiles_too_small_for_the_overlap(untrained_weights):
    # dncnn-gray has a receptive radius of 20 px: its overlap is 40 px, so a tile must exceed 80 px.
    with pytest.raises(restore.InvalidOptionError, match="tile"):
        restore.load("dncnn-gray", device="cpu", tile=64)


# --- every registered network ---------------------------------------------------------------------------------------


def reach(function, inputs: tuple[torch.Tensor, ...], scale: int = 1, phase: int = 0) -> int:
    """How far (px, Chebyshev) from the pixel ``phase`` past the middle the inputs still move that pixel's output: the
    receptive radius of ``function`` there, measured through its gradient."""
    inputs = tuple(x.detach().clone().requires_grad_() for x in inputs)
    output = function(*inputs)
    middle = inputs[0].shape[-1] // 2 + phase
    output[..., middle * scale, middle * scale].sum().backward()
    moved = sum(x.grad.abs().flatten(0, -3).sum(0) for x in inputs)
    rows, columns = torch.nonzero(moved, as_tuple=True)
    return int(max((rows - middle).abs().max(), (columns - middle).abs().max()))


def narrow_network(spec) -> torch.nn.Module:
    """``spec``'s network, four channels wide where its build is a ``partial`` of a class taking ``widths`` or
    ``features`` (the same layers, kernels and poolings, so the same reach, at a fraction of the cost; the small
    invisp is built as registered), every weight moved off zero (a coupling or output layer that starts at zero
    would hide its reach) and every bias raised by 1 (so that no ReLU is off everywhere, which would hide it too), in
    float64 and eval mode (batch norm on its running statistics, as at inference)."""
    build = spec.build
    if isinstance(build, partial):
        accepted = inspect.signature(build.func).parameters
        keywords = dict(build.keywords)
        if "widths" in accepted:
            keywords["widths"] = (4,) * len(keywords.get("widths", accepted["widths"].default))
        if "features" in accepted:
            keywords["features"] = 4
        build = partial(build.func, *build.args, **keywords)
    network = build().double().eval()
    with torch.no_grad():
        for name, parameter in network.named_parameters():
            parameter.add_(0.05 * torch.randn_like(parameter) + (1.0 if name.endswith("bias") else 0.0))
    return network


@pytest.mark.parametrize(
    "spec", [spec for spec in restore.api.list_specs() if spec.kind == "learned"], ids=lambda spec: spec.name
)
def test_the_registered_receptive_radius_covers_the_network(spec):
    """Tiles overlap by twice ``receptive_radius``: a smaller one than the network's true reach leaves seams. A
    network that pools reaches further from some pixels of its pooling grid than from others: every phase of the
    grid (``multiple``) is measured."""
    from restore.models.invisp import InvertibleISP
    from restore.models.kpn import KPN
    from restore.models.lowlight import SIDUNet

    torch.manual_seed(0)
    network = narrow_network(spec)
    side = 256
    if isinstance(network, KPN):
        frames = torch.rand(1, network.frames, network.planes, side, side, dtype=torch.float64)
        noise = torch.full((1, network.planes, side, side), 0.05, dtype=torch.float64)
        measure = partial(reach, lambda f, n: network(f, n)[0], (frames, noise))
    elif isinstance(network, SIDUNet):
        measure = partial(reach, network, (torch.rand(1, 4, side, side, dtype=torch.float64),), 2)
    else:
        image = torch.rand(1, spec.channels[0], side, side, dtype=torch.float64)
        measure = partial(reach, network, (image,))
        if isinstance(network, InvertibleISP):

            def measure(phase: int) -> int:
                return max(reach(network, (image,), phase=phase), reach(network.inverse, (image,), phase=phase))

    measured = max(measure(phase=phase) for phase in range(getattr(network, "multiple", 1)))
    assert measured <= spec.receptive_radius
