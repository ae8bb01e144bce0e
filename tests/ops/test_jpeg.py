"""Differentiable JPEG: agrees with OpenCV's real codec, orders by quality, passes gradients, keeps shapes."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from restore.errors import InvalidImageError, InvalidOptionError
from restore.ops.jpeg import CHROMINANCE_TABLE, LUMINANCE_TABLE, quantization_tables, simulate_jpeg

SIZES = [(64, 96), (50, 70)]


def make_image(height: int, width: int, seed: int = 0) -> np.ndarray:
    """An 8-bit RGB image (H, W, 3): colored gradients, a disc and a square with sharp edges, mild seeded noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width] / max(height, width)
    image = np.stack([0.2 + 0.6 * xx, 0.3 + 0.5 * yy, 0.8 - 0.5 * xx * yy], axis=-1)
    disc = ((yy - 0.3) ** 2 + (xx - 0.6) ** 2) < 0.03
    square = (np.abs(yy - 0.6) < 0.12) & (np.abs(xx - 0.25) < 0.12)
    image = image + 0.25 * disc[..., None] * np.array([1.0, -0.5, 0.3]) - 0.2 * square[..., None]
    image = image + rng.normal(0.0, 0.02, image.shape)
    return np.clip(np.round(image * 255), 0, 255).astype(np.uint8)


def to_tensor(image: np.ndarray) -> torch.Tensor:
    """(H, W, 3) uint8 -> (1, 3, H, W) float32 on [0, 1]."""
    return torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255.0


def simulated(image: np.ndarray, quality: int) -> np.ndarray:
    """The simulator's exact (non-differentiable) output as an (H, W, 3) uint8 image."""
    out = simulate_jpeg(to_tensor(image), quality, differentiable=False)
    return np.round(out[0].permute(1, 2, 0).numpy() * 255.0).astype(np.uint8)


def real_jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    """Encode and decode (H, W, 3) RGB uint8 with OpenCV's libjpeg at ``quality``."""
    ok, buffer = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return cv2.cvtColor(cv2.imdecode(buffer, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10.0 * np.log10(255.0**2 / mse))


def test_quality_50_gives_the_annex_k_tables() -> None:
    luma, chroma = quantization_tables(50)
    assert luma.shape == chroma.shape == (8, 8)
    assert torch.equal(luma, torch.tensor(LUMINANCE_TABLE, dtype=luma.dtype))
    assert torch.equal(chroma, torch.tensor(CHROMINANCE_TABLE, dtype=chroma.dtype))


def test_quality_100_gives_all_ones() -> None:
    luma, chroma = quantization_tables(100)
    assert torch.all(luma == 1) and torch.all(chroma == 1)


def file_tables(data: bytes) -> list[np.ndarray]:
    """The 8-bit quantization tables (8, 8) in the DQT segments of a JPEG file, in file order."""
    zigzag = sorted(((i, j) for i in range(8) for j in range(8)), key=lambda ij: (sum(ij), ij[1 - sum(ij) % 2]))
    tables, start = [], 0
    while (start := data.find(b"\xff\xdb", start) + 2) > 1:
        length = int.from_bytes(data[start : start + 2], "big")
        segment, start = data[start + 2 : start + length], start + length
        for offset in range(0, len(segment), 65):
            assert segment[offset] >> 4 == 0  # 8-bit entries
            table = np.zeros((8, 8), dtype=np.int64)
            for index, (i, j) in enumerate(zigzag):
                table[i, j] = segment[offset + 1 + index]
            tables.append(table)
    return tables


@pytest.mark.parametrize("quality", [1, 10, 25, 49, 50, 75, 90, 97])
def test_tables_are_the_ones_libjpeg_writes(quality: int) -> None:
    ok, buffer = cv2.imencode(".jpg", np.zeros((8, 8, 3), np.uint8), [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    luma, chroma = quantization_tables(quality)
    assert [table.tolist() for table in file_tables(buffer.tobytes())] == [luma.tolist(), chroma.tolist()]


@pytest.mark.parametrize("quality", [90, 50])
@pytest.mark.parametrize(("height", "width"), SIZES)
def test_agrees_with_opencv(quality: int, height: int, width: int) -> None:
    image = make_image(height, width)
    sim, real = simulated(image, quality), real_jpeg(image, quality)
    assert psnr(sim, real) > 41.0  # measured 44.5 to 46.7 dB (libjpeg-turbo 3.1)
    assert abs(psnr(sim, image) - psnr(real, image)) < 1.0  # measured within 0.1 dB


def test_lower_quality_gives_a_larger_error() -> None:
    image = make_image(64, 96)
    scores = [psnr(simulated(image, quality), image) for quality in (95, 75, 50, 25, 10)]
    assert scores == sorted(scores, reverse=True) and scores[0] > scores[-1] + 3.0


def test_gradients_reach_the_input() -> None:
    x = to_tensor(make_image(64, 96)).requires_grad_(True)
    out = simulate_jpeg(x, 50)
    weights = torch.linspace(-1.0, 1.0, out.numel()).view_as(out)
    (out * weights).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    assert (x.grad != 0).float().mean() > 0.9
    exact = simulate_jpeg(x.detach(), 50, differentiable=False)
    assert torch.allclose(out.detach(), exact, atol=1e-5, rtol=0)


@pytest.mark.parametrize("shape", [(1, 3, 50, 70), (2, 3, 17, 9), (1, 3, 8, 8), (1, 3, 1, 33)])
def test_shape_is_kept_and_values_are_on_unit_range(shape: tuple[int, ...]) -> None:
    x = torch.rand(shape, generator=torch.Generator().manual_seed(0)) * 1.4 - 0.2  # also out of range
    out = simulate_jpeg(x, 75)
    assert out.shape == x.shape and out.dtype == x.dtype
    assert out.min() >= 0.0 and out.max() <= 1.0


def test_float64_matches_float32() -> None:
    x = to_tensor(make_image(50, 70))
    out64 = simulate_jpeg(x.double(), 90, differentiable=False)
    assert out64.dtype == torch.float64
    # float32 and float64 may round a coefficient sitting on .5 differently; almost all pixels agree
    close = (out64.float() - simulate_jpeg(x, 90, differentiable=False)).abs() < 1e-4
    assert close.float().mean() > 0.99


@pytest.mark.parametrize("shape", [(1, 4, 16, 16), (1, 1, 16, 16), (3, 16, 16)])
def test_rejects_images_that_are_not_rgb_batches(shape: tuple[int, ...]) -> None:
    with pytest.raises(InvalidImageError):
        simulate_jpeg(torch.rand(shape))


@pytest.mark.parametrize("quality", [0, 101, -5, 50.0])
def test_rejects_quality_outside_1_to_100(quality) -> None:
    with pytest.raises(InvalidOptionError):
        simulate_jpeg(torch.rand(1, 3, 16, 16), quality)
    with pytest.raises(InvalidOptionError):
        quantization_tables(quality)
