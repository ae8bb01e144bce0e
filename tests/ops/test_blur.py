"""Camera-shake kernels and blurring, and the classical deblurring baselines given the true kernel."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import torch

import restore
from pipelines.blur_data import blur_batch
from restore import baselines_deblur
from restore.baselines_deblur import richardson_lucy_deblur, unsharp, wiener_deblur
from restore.errors import InvalidOptionError
from restore.ops.blur import blur, centred_kernel, motion_kernel, random_trajectory


def centre_of_mass(kernel: np.ndarray) -> np.ndarray:
    """(dy, dx) of a (k, k) kernel's centre of mass from its centre."""
    rows, cols = np.mgrid[0 : kernel.shape[0], 0 : kernel.shape[1]]
    return np.array([(kernel * rows).sum(), (kernel * cols).sum()]) / kernel.sum() - kernel.shape[0] // 2


@pytest.mark.parametrize("seed", range(5))
def test_kernels_sum_to_one_and_are_centred(seed: int) -> None:
    rng = np.random.default_rng(seed)
    trajectory = random_trajectory(rng, length=rng.uniform(3, 25))
    for exposure in (1.0, 0.5):
        kernel = motion_kernel(trajectory, 31, exposure)
        assert kernel.shape == (31, 31) and kernel.min() >= 0 and kernel.sum() == pytest.approx(1.0)
        assert np.abs(centre_of_mass(kernel)).max() < 0.5


def test_trajectory_has_the_requested_length() -> None:
    trajectory = random_trajectory(np.random.default_rng(0), length=17.0, steps=500)
    assert trajectory.shape == (500, 2)
    assert np.ptp(trajectory, axis=0).max() == pytest.approx(17.0)


def brightest_tenth_mass(kernel: np.ndarray) -> float:
    support = np.sort(kernel[kernel > 1e-3 * kernel.max()])[::-1]
    return float(support[: int(np.ceil(0.1 * support.size))].sum() / kernel.sum())


def test_dwell_gathers_kernel_mass_where_the_hand_lingers() -> None:
    def kernels(dwell: float) -> list[np.ndarray]:
        rng = np.random.default_rng(7)
        return [motion_kernel(random_trajectory(rng, length=15, dwell=dwell), 31) for _ in range(30)]

    steady, lingering = kernels(0.0), kernels(4.0)
    steady_mass = np.mean([brightest_tenth_mass(k) for k in steady])
    assert np.mean([brightest_tenth_mass(k) for k in lingering]) > steady_mass + 0.05  # measured: 0.34 -> 0.59
    for kernel in lingering:
        assert kernel.sum() == pytest.approx(1.0) and kernel.min() >= 0
    trajectory = random_trajectory(np.random.default_rng(1), length=9.0, dwell=4.0)
    assert np.ptp(trajectory, axis=0).max() == pytest.approx(9.0)  # still normalized to its length


@pytest.mark.parametrize("size", [2, 1, 10])
def test_even_or_tiny_kernel_sizes_are_refused(size: int) -> None:
    with pytest.raises(ValueError, match="odd"):
        motion_kernel(random_trajectory(np.random.default_rng(0)), size)


def test_centred_kernel_moves_an_off_centre_kernel_by_whole_pixels() -> None:
    kernel = np.zeros((9, 9))
    kernel[1, 6:9] = [0.2, 0.5, 0.3]  # centre of mass at (-3, +3.1) from the centre
    centred = centred_kernel(kernel)
    assert centred.shape == (15, 15) and np.abs(centre_of_mass(centred)).max() <= 0.5
    assert np.array_equal(np.sort(centred[centred > 0]), np.sort(kernel[kernel > 0]))
    # the original blurs and moves the image 3 px up and 3 px right; the centred kernel only blurs it
    image = torch.rand(1, 1, 40, 40, dtype=torch.float64)
    moved = blur(image, torch.from_numpy(centred)[None])
    original = blur(image, torch.from_numpy(kernel)[None])
    assert torch.allclose(original[..., 10:-10, 10:-10], moved[..., 13:-7, 7:-13])


def test_centred_kernel_leaves_a_centred_kernel_alone() -> None:
    kernel = motion_kernel(random_trajectory(np.random.default_rng(5), length=12), 17)
    assert np.array_equal(centred_kernel(kernel), kernel)


@pytest.mark.parametrize("shape", [(4, 4), (5, 7), (5,)])
def test_centred_kernel_refuses_even_or_non_square_kernels(shape) -> None:
    with pytest.raises(ValueError, match="odd"):
        centred_kernel(np.ones(shape))


def test_blur_keeps_constants_and_delta_kernels_are_identity() -> None:
    images = torch.rand(2, 3, 20, 24)
    delta = torch.zeros(2, 5, 5)
    delta[:, 2, 2] = 1
    assert torch.allclose(blur(images, delta), images, atol=1e-6)
    flat = torch.full((2, 1, 16, 16), 0.4)
    kernels = torch.from_numpy(
        np.stack([motion_kernel(random_trajectory(np.random.default_rng(s)), 9) for s in (1, 2)])
    )
    assert torch.allclose(blur(flat, kernels.float()), flat, atol=1e-6)


def test_blur_applies_the_kernel_the_right_way_round() -> None:
    image = torch.zeros(1, 1, 9, 9)
    image[0, 0, 4, 4] = 1.0
    kernel = torch.zeros(1, 3, 3)
    kernel[0, 0, 2] = 1.0  # weight at offset (-1, +1)
    out = blur(image, kernel)
    # a point spreads into the kernel's own shape: the impulse response is the kernel
    assert out[0, 0, 3, 5] == 1.0 and out.sum() == 1.0


def test_non_blind_baselines_undo_a_known_blur() -> None:
    yy, xx = np.mgrid[0:64, 0:64]
    clean = 0.2 + 0.6 * (((xx // 8) + (yy // 8)) % 2)
    kernel = motion_kernel(random_trajectory(np.random.default_rng(3), length=9), 15)
    rgb = torch.from_numpy(clean).float()[None, None].expand(1, 3, -1, -1)  # blurred in linear light, 8-bit
    generator = torch.Generator().manual_seed(4)
    blurred = blur_batch(rgb, torch.from_numpy(kernel)[None], torch.tensor([0.005]), generator)[0, 0].double().numpy()

    def error(estimate: np.ndarray) -> float:
        return float(np.sqrt(np.mean((estimate[8:-8, 8:-8] - clean[8:-8, 8:-8]) ** 2)))

    assert error(wiener_deblur(blurred, kernel, balance=0.005)) < 0.7 * error(blurred)
    assert error(richardson_lucy_deblur(blurred, kernel, iterations=30)) < 0.7 * error(blurred)
    sharpened = unsharp(np.stack([blurred] * 3, axis=-1))
    assert sharpened.shape == (64, 64, 3) and np.allclose(sharpened[..., 1], unsharp(blurred))


@pytest.mark.parametrize("shape", [(5, 5), (15, 15), (1, 7), (7, 3)])
def test_non_blind_baselines_keep_a_flat_image_flat(shape) -> None:
    # Richardson-Lucy's zero-padded convolutions darken the borders a little more each iteration; the padding must
    # keep that out of the image, for any kernel shape
    flat = np.full((40, 48), 0.4)
    kernel = np.full(shape, 1.0 / np.prod(shape))
    most = partial(richardson_lucy_deblur, iterations=baselines_deblur.RICHARDSON_LUCY_MAX_ITERATIONS)
    for deblur in (wiener_deblur, most):
        assert np.abs(deblur(flat, kernel) - 0.4).max() < 1e-4


def test_the_baselines_defaults_are_the_committed_tuning() -> None:
    """``python -m benchmarks.deblur_tuning`` chose them; a changed grid or protocol must be rerun and committed."""
    result = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / "deblur-tuning.json"
    chosen = json.loads(result.read_text())["chosen"]
    assert chosen["deblur-wiener"] == baselines_deblur.WIENER_BALANCE
    assert chosen["deblur-rl"] == baselines_deblur.RICHARDSON_LUCY_ITERATIONS


@pytest.mark.parametrize(
    ("model", "option", "values"), [("deblur-wiener", "balance", (0.01, 1.0)), ("deblur-rl", "iterations", (2, 20))]
)
def test_the_non_blind_baselines_take_their_setting(model: str, option: str, values: tuple) -> None:
    image = np.random.default_rng(0).uniform(0.2, 0.8, (24, 20)).astype(np.float32)
    kernel = np.ones((3, 5)) / 15
    weak, strong = (restore.restore(image, model=model, kernel=kernel, **{option: v}) for v in values)
    assert not np.allclose(weak, strong), f"{option} must reach the deconvolution"
    for bad in (0, -1, "much", True, *((1.5, 31) if option == "iterations" else (float("nan"), float("inf")))):
        with pytest.raises(InvalidOptionError, match=option):
            restore.restore(image, model=model, kernel=kernel, **{option: bad})
