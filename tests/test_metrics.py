"""``restore.metrics``: PSNR and SSIM on the benchmark protocol."""

from __future__ import annotations

import math

import numpy as np
import pytest
from skimage.metrics import structural_similarity

from restore.metrics import psnr, ssim, to_uint8


def uint8_image(shape, seed=0):
    return np.random.default_rng(seed).integers(0, 256, size=shape, dtype=np.uint8)


@pytest.mark.parametrize("shape", [(32, 32), (32, 32, 3)], ids=str)
def test_psnr_of_identical_images_is_inf(shape):
    image = uint8_image(shape)
    assert psnr(image, image.copy()) == math.inf


def test_psnr_of_one_gray_level_offset():
    reference = np.full((16, 16), 100, dtype=np.uint8)
    assert psnr(reference + 1, reference) == pytest.approx(20 * math.log10(255), abs=1e-9)
    assert psnr(reference + 1, reference) == pytest.approx(48.13, abs=0.005)


def test_psnr_of_known_mse():
    reference = np.zeros((8, 8, 3), dtype=np.uint8)
    estimate = reference.copy()
    estimate[:4] = 10  # half the pixels off by 10: MSE 50
    assert psnr(estimate, reference) == pytest.approx(10 * math.log10(255**2 / 50), abs=1e-9)
    assert psnr(reference, estimate) == psnr(estimate, reference)


def test_psnr_is_computed_in_float_without_uint8_wraparound():
    reference = np.zeros((4, 4), dtype=np.uint8)
    estimate = np.full((4, 4), 255, dtype=np.uint8)
    assert psnr(estimate, reference) == pytest.approx(0.0, abs=1e-12)
    assert psnr(reference, estimate) == pytest.approx(0.0, abs=1e-12)


def test_psnr_crop_border():
    reference = np.full((10, 10), 50, dtype=np.uint8)
    estimate = reference.copy()
    estimate[0, :] = 0
    assert psnr(estimate, reference, crop_border=1) == math.inf
    assert psnr(estimate, reference) < math.inf


@pytest.mark.parametrize("metric", [psnr, ssim])
def test_shape_mismatch_raises(metric):
    with pytest.raises(ValueError, match="shape"):
        metric(uint8_image((16, 16)), uint8_image((16, 17)))
    with pytest.raises(ValueError, match="shape"):
        metric(uint8_image((16, 16, 3)), uint8_image((16, 16)))


@pytest.mark.parametrize("metric", [psnr, ssim])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint16, np.int64])
def test_non_uint8_raises(metric, dtype):
    image = uint8_image((16, 16))
    with pytest.raises(ValueError, match="uint8"):
        metric(image.astype(dtype), image)
    with pytest.raises(ValueError, match="uint8"):
        metric(image, image.astype(dtype))


@pytest.mark.parametrize("shape", [(32, 32), (32, 32, 3)], ids=str)
def test_ssim_of_identical_images_is_one(shape):
    image = uint8_image(shape)
    assert ssim(image, image.copy()) == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("shape", [(32, 32), (32, 32, 3)], ids=str)
def test_ssim_matches_skimage_with_protocol_settings(shape):
    reference = uint8_image(shape, seed=1)
    noise = np.random.default_rng(2).normal(0, 20, shape)
    estimate = np.clip(np.round(reference + noise), 0, 255).astype(np.uint8)
    expected = structural_similarity(
        estimate,
        reference,
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
        data_range=255,
        channel_axis=-1 if len(shape) == 3 else None,
    )
    value = ssim(estimate, reference)
    assert isinstance(value, float)
    assert value == pytest.approx(expected, abs=1e-12)
    assert 0 < value < 1


def test_ssim_color_is_mean_over_channels():
    reference = uint8_image((32, 32, 3), seed=3)
    estimate = uint8_image((32, 32, 3), seed=4)
    per_channel = [ssim(estimate[..., c], reference[..., c]) for c in range(3)]
    assert ssim(estimate, reference) == pytest.approx(np.mean(per_channel), abs=1e-12)


def test_to_uint8_clips_and_rounds():
    image = np.array([-0.5, 0.0, 0.4 / 255, 0.6 / 255, 0.5, 254.4 / 255, 1.0, 1.7], dtype=np.float64)
    out = to_uint8(image)
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, [0, 0, 0, 1, 128, 254, 255, 255])
    np.testing.assert_array_equal(to_uint8(image.astype(np.float32)), out)


def test_to_uint8_round_trips_8bit_values():
    values = np.arange(256, dtype=np.uint8).reshape(16, 16)
    np.testing.assert_array_equal(to_uint8(values / 255.0), values)
    assert to_uint8(values) is values


@pytest.mark.parametrize("dtype", [np.uint16, np.int32, bool])
def test_to_uint8_refuses_other_dtypes(dtype):
    with pytest.raises(ValueError):
        to_uint8(np.zeros((4, 4), dtype=dtype))


def test_to_uint8_refuses_nan_and_infinity():
    for bad in (np.nan, np.inf):
        with pytest.raises(ValueError, match="NaN or infinite"):
            to_uint8(np.array([[0.5, bad]]))


@pytest.mark.parametrize("metric", [psnr, ssim])
@pytest.mark.parametrize("crop_border", [-2, 10, 12])
def test_a_crop_border_that_leaves_nothing_is_refused(metric, crop_border):
    image = np.zeros((20, 20), np.uint8)
    with pytest.raises(ValueError, match="crop_border"):
        metric(image, image, crop_border=crop_border)


def test_ssim_of_images_smaller_than_its_window_is_refused_clearly():
    image = np.zeros((10, 30), np.uint8)
    with pytest.raises(ValueError, match="at least 11x11"):
        ssim(image, image)
