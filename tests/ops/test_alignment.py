import numpy as np
import pytest

from restore.ops.alignment import align_whole_pixels, phase_translation, shift_whole_pixels


def textured(height: int = 96, width: int = 128, seed: int = 0) -> np.ndarray:
    """A smooth random texture (H, W) on about [0, 1] that phase correlation can lock on to."""
    import cv2

    noise = np.random.default_rng(seed).random((height, width))
    return cv2.GaussianBlur(noise, (0, 0), 1.0) * 4


@pytest.mark.parametrize("dx, dy", [(0, 0), (3, -2), (-5, 4)])
def test_a_whole_pixel_shift_moves_the_content_and_replicates_the_edges(dx, dy):
    frame = textured()
    moved = shift_whole_pixels(frame, dx, dy)
    assert moved.shape == frame.shape
    assert np.array_equal(moved[10:-10, 10:-10], np.roll(frame, (dy, dx), axis=(0, 1))[10:-10, 10:-10])
    if dx > 0:
        assert np.array_equal(moved[:, 0], moved[:, dx])  # the left edge column repeated into the gap


def test_phase_translation_finds_the_shift_that_moves_a_frame_onto_the_reference():
    scene = textured(120, 150)
    reference, frame = scene[10:110, 10:140], scene[8:108, 13:143]  # frame(x, y) = reference(x + 3, y - 2)
    dx, dy = phase_translation(reference, frame)
    assert dx == pytest.approx(3, abs=0.25) and dy == pytest.approx(-2, abs=0.25)


@pytest.mark.parametrize("device", [None, "cpu"], ids=["opencv", "torch"])
def test_a_noisy_burst_is_aligned_by_whole_pixels_without_touching_the_pixels(device):
    rng = np.random.default_rng(1)
    scene = textured(140, 170)
    offsets = [(0, 0), (4, -3), (-6, 2), (1, 5)]
    burst = np.stack(
        [scene[20 + dy : 120 + dy, 20 + dx : 150 + dx] + rng.normal(0, 0.05, (100, 130)) for dx, dy in offsets]
    )[..., None].astype(np.float32)
    aligned = burst.copy()
    shifts = align_whole_pixels(aligned, device)  # in place
    assert shifts == offsets  # frame n shows the scene moved by its offset; moving it back by the same aligns it
    assert aligned.dtype == burst.dtype and np.array_equal(aligned[0], burst[0])
    inner = np.s_[8:-8, 8:-8, 0]
    for frame in aligned[1:]:  # the same scene as the reference, up to the noise (std 0.05 each)
        assert np.std(frame[inner] - aligned[0][inner]) < 0.1
    assert np.isin(aligned[1][inner], burst[1]).all()  # moved, not interpolated


@pytest.mark.parametrize("side", [3, 5, 6])
def test_frames_too_small_for_the_batched_blur_align_as_opencv_aligns_them(side):
    burst = np.random.default_rng(side).random((8, side, side + 1, 4)).astype(np.float32)
    by_opencv, by_torch = burst.copy(), burst.copy()
    assert align_whole_pixels(by_torch, "cpu") == align_whole_pixels(by_opencv)
    assert np.array_equal(by_torch, by_opencv)


def test_odd_sizes_are_not_biased_by_half_a_pixel():
    scene = textured(140, 171)
    reference, frame = scene[20:119, 20:151], scene[22:121, 24:155]  # 99 x 131: OpenCV would pad to odd sizes
    dx, dy = phase_translation(reference, frame)
    assert dx == pytest.approx(4, abs=0.15) and dy == pytest.approx(2, abs=0.15)


@pytest.mark.parametrize("device", [None, "cpu"], ids=["opencv", "torch"])
def test_a_featureless_noisy_burst_is_left_where_it_is(device):
    """Phase correlation of noise-dominated frames peaks anywhere; a move that does not match better is not made."""
    rng = np.random.default_rng(2)
    y, x = np.mgrid[0:100, 0:130] / 130
    scene = 0.2 + 0.5 * x + 0.2 * y  # a smooth ramp: nothing for the correlation to lock on to but the noise
    burst = (scene + rng.normal(0, 0.05, (8, 100, 130)))[..., None].astype(np.float32)
    aligned = burst.copy()
    assert align_whole_pixels(aligned, device) == [(0, 0)] * 8
    assert np.array_equal(aligned, burst)


def test_the_batched_torch_alignment_moves_every_frame_as_opencv_does():
    """``align_whole_pixels`` given a device (the GPU path) against OpenCV frame by frame: textured and featureless
    scenes, odd and even sizes, light to heavy noise; the whole-pixel shifts must be the same."""
    rng = np.random.default_rng(4)
    for trial in range(12):
        height, width = (int(n) for n in rng.integers(24, 160, 2))
        if trial % 3 == 2:
            y, x = np.mgrid[0 : height + 40, 0 : width + 40] / (width + 40)
            scene = 0.2 + 0.5 * x + 0.2 * y
        else:
            scene = textured(height + 40, width + 40, seed=trial)
        offsets = [(0, 0)] + [tuple(int(v) for v in rng.integers(-8, 9, 2)) for _ in range(int(rng.integers(1, 8)))]
        noise = float(rng.choice([0.01, 0.05, 0.2]))
        burst = np.stack(
            [scene[20 + dy : 20 + dy + height, 20 + dx : 20 + dx + width] for dx, dy in offsets]
        ) + rng.normal(0, noise, (len(offsets), height, width))
        burst = burst[..., None].astype(np.float32)
        assert align_whole_pixels(burst.copy(), "cpu") == align_whole_pixels(burst.copy()), (trial, offsets)


def test_kpn_burst_on_a_featureless_burst_is_not_hurt_by_its_alignment():
    import restore

    rng = np.random.default_rng(3)
    y, x = np.mgrid[0:96, 0:128] / 128
    clean = (0.2 + 0.5 * x + 0.2 * y).astype(np.float32)
    burst = (clean + rng.normal(0, 0.05, (8, 96, 128))).astype(np.float32)
    model = restore.load("kpn-burst", device="cpu")
    errors = {
        align: np.mean((model(burst, noise=(0.05, 0.0), align=align) - clean)[8:-8, 8:-8] ** 2)
        for align in (True, False)
    }
    assert errors[True] <= 1.25 * errors[False]  # 1.9x when every random peak moved a frame
