"""Per-pixel kernels on bursts: delta kernels pass frames through, off-centre kernels shift them."""

from __future__ import annotations

import pytest
import torch

from restore.errors import InvalidImageError
from restore.ops.kernels import filter_frames


def delta_kernels(batch: int, frames: int, size: int, height: int, width: int, dy: int = 0, dx: int = 0):
    kernels = torch.zeros(batch, frames, size * size, height, width)
    kernels[:, :, (size // 2 + dy) * size + size // 2 + dx] = 1.0
    return kernels


def test_centre_delta_kernels_pass_frames_through() -> None:
    frames = torch.rand(2, 4, 3, 10, 12)
    kernels = delta_kernels(2, 4, 5, 10, 12)
    assert torch.allclose(filter_frames(frames, kernels), frames)


@pytest.mark.parametrize(("dy", "dx"), [(1, 0), (0, -2), (2, 1)])
def test_off_centre_kernels_shift(dy: int, dx: int) -> None:
    frames = torch.rand(1, 2, 1, 16, 16)
    out = filter_frames(frames, delta_kernels(1, 2, 5, 16, 16, dy, dx))
    # output pixel (y, x) takes the input at (y + dy, x + dx); compare away from the padded border
    assert torch.allclose(out[..., 2:-2, 2:-2], frames[..., 2 + dy : 14 + dy, 2 + dx : 14 + dx])


def test_per_pixel_weights_differ_across_the_image() -> None:
    frames = torch.ones(1, 1, 1, 4, 4)
    kernels = torch.zeros(1, 1, 9, 4, 4)
    kernels[:, :, 4] = torch.arange(16.0).reshape(4, 4)
    assert torch.equal(filter_frames(frames, kernels)[0, 0, 0], torch.arange(16.0).reshape(4, 4))


@pytest.mark.parametrize(
    "kernels",
    [torch.zeros(1, 2, 8, 6, 6), torch.zeros(1, 2, 4, 6, 6), torch.zeros(1, 3, 9, 6, 6), torch.zeros(1, 2, 9, 5, 6)],
)
def test_mismatched_kernels_raise(kernels) -> None:
    with pytest.raises(InvalidImageError):
        filter_frames(torch.zeros(1, 2, 1, 6, 6), kernels)


def test_convex_kernels_keep_a_flat_burst_flat_up_to_the_borders() -> None:
    kernels = torch.rand(1, 3, 25, 7, 9)
    kernels = kernels / kernels.sum(dim=(1, 2), keepdim=True)  # non-negative, summing to 1 over frames and taps
    merged = filter_frames(torch.full((1, 3, 2, 7, 9), 0.3), kernels).sum(dim=1)
    assert torch.allclose(merged, torch.full_like(merged, 0.3))


def test_gradients_reach_frames_and_kernels() -> None:
    frames = torch.rand(1, 2, 1, 8, 8, requires_grad=True)
    kernels = torch.rand(1, 2, 9, 8, 8, requires_grad=True)
    filter_frames(frames, kernels)[..., 2:-2, 2:-2].sum().backward()
    # away from the border, d(sum)/d(kernel tap (dy, dx)) is the frame shifted by (dy - 1, dx - 1)
    expected = torch.stack([frames[..., 1 + dy : 5 + dy, 1 + dx : 5 + dx] for dy in range(3) for dx in range(3)], 2)
    assert torch.allclose(kernels.grad[..., 2:-2, 2:-2], expected.squeeze(3).detach())
    # and each frame pixel well inside gets every tap of the kernels around it
    assert torch.allclose(
        frames.grad[0, 0, 0, 4, 4], sum(kernels[0, 0, t, 4 - t // 3 + 1, 4 - t % 3 + 1] for t in range(9))
    )
