"""Classical burst baselines: each one beats the noisy reference frame; alignment beats plain averaging on a
shifted burst."""

from __future__ import annotations

import numpy as np
import pytest

from restore.baselines_burst import align_and_average, average, hdrplus_merge, reference_bm3d

READ, SHOT = 0.01, 0.05


def scene(height: int = 64, width: int = 80) -> np.ndarray:
    yy, xx = np.mgrid[0:height, 0:width]
    return 0.3 + 0.2 * np.sin(xx / 5.0) * np.cos(yy / 7.0) + 0.2 * ((xx // 16 + yy // 16) % 2)


def burst_of(clean: np.ndarray, shifts: list[tuple[int, int]], seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    frames = np.stack([np.roll(clean, shift, axis=(0, 1)) for shift in shifts])
    return frames + rng.normal(size=frames.shape) * np.sqrt(READ**2 + SHOT**2 * frames)


def error(estimate: np.ndarray, clean: np.ndarray) -> float:
    return float(np.sqrt(np.mean((estimate[8:-8, 8:-8] - clean[8:-8, 8:-8]) ** 2)))


STATIC = [(0, 0)] * 8
SHIFTED = [(0, 0), (1, 2), (-2, 1), (2, -1), (0, -2), (-1, -1), (2, 2), (1, 0)]


@pytest.mark.parametrize(
    "method",
    [
        average,
        align_and_average,
        lambda burst: hdrplus_merge(burst, READ, SHOT),
        lambda burst: reference_bm3d(burst, READ, SHOT),
    ],
)
def test_every_baseline_beats_the_reference_frame(method) -> None:
    clean = scene()
    burst = burst_of(clean, STATIC)
    assert error(method(burst), clean) < 0.6 * error(burst[0], clean)


def test_alignment_beats_plain_averaging_on_a_shifted_burst() -> None:
    clean = scene()
    burst = burst_of(clean, SHIFTED)
    plain = error(average(burst), clean)
    assert error(align_and_average(burst), clean) < 0.5 * plain
    assert error(hdrplus_merge(burst, READ, SHOT), clean) < 0.5 * plain
