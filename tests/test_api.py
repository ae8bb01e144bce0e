"""The public API (``restore.load``, ``restore.restore``, ``restore.models``) with untrained weights."""

from __future__ import annotations

import re
import warnings

import cv2
import numpy as np
import pytest
import torch

import restore
from restore import InvalidImageError, InvalidOptionError, UnknownModelError
from restore.api import resolve_tile


@pytest.fixture
def color(untrained_weights):
    return restore.load("dncnn-color", device="cpu", tile=None)


@pytest.fixture
def gray(untrained_weights):
    return restore.load("dncnn-gray", device="cpu", tile=None)


def numpy_input(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    if np.issubdtype(dtype, np.integer):
        return rng.integers(0, np.iinfo(dtype).max, size=shape, endpoint=True).astype(dtype)
    return rng.uniform(0.0, 1.0, size=shape).astype(dtype)


def mean_abs_diff(a, b) -> float:
    return float(np.mean(np.abs(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64))))


@pytest.mark.parametrize(
    "dtype", [np.uint8, np.uint16, np.float16, np.float32, np.float64], ids=lambda d: np.dtype(d).name
)
@pytest.mark.parametrize("shape", [(24, 20), (24, 20, 1), (24, 20, 3), (24, 20, 4)], ids=str)
def test_numpy_output_matches_input_form(color, shape, dtype):
    image = numpy_input(shape, dtype)
    out = color(image, sigma=25)
    assert isinstance(out, np.ndarray)
    assert out.shape == image.shape
    assert out.dtype == image.dtype
    # The untrained network is close to the identity: the plumbing keeps values on the input's scale.
    scale = np.iinfo(dtype).max if np.issubdtype(dtype, np.integer) else 1.0
    assert mean_abs_diff(out, image) / scale < 0.1


@pytest.mark.parametrize("dtype", [">u2", ">f4"])
def test_big_endian_arrays_are_taken_and_given_back_in_their_byte_order(color, dtype):
    image = numpy_input((24, 20, 3), np.dtype(dtype).newbyteorder("="))
    out = color(image.astype(dtype), sigma=25)
    assert out.dtype == np.dtype(dtype)
    assert np.array_equal(out, color(image, sigma=25))


def test_a_big_endian_burst_is_taken_and_given_back_in_its_byte_order():
    burst = numpy_input((4, 16, 16), np.uint16)
    out = restore.restore(burst.astype(">u2"), model="burst-average", noise=(0.01, 0.0))
    assert out.dtype == np.dtype(">u2")
    assert np.array_equal(out, restore.restore(burst, model="burst-average", noise=(0.01, 0.0)))


def test_a_half_float_burst_comes_back_in_half_float():
    burst = numpy_input((4, 16, 16), np.float32)
    out = restore.restore(burst.astype(np.float16), model="burst-average", noise=(0.01, 0.0))
    assert out.dtype == np.float16
    np.testing.assert_allclose(out, burst.mean(axis=0), atol=2e-3)


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float16, torch.bfloat16, torch.float32, torch.float64], ids=str)
@pytest.mark.parametrize("shape", [(3, 24, 20), (2, 3, 24, 20), (4, 24, 20), (1, 24, 20)], ids=str)
def test_tensor_output_matches_input_form(color, shape, dtype):
    generator = torch.Generator().manual_seed(0)
    image = torch.rand(shape, generator=generator)
    image = (image * 255).round().to(dtype) if dtype == torch.uint8 else image.to(dtype)
    out = color(image)
    assert isinstance(out, torch.Tensor)
    assert out.shape == image.shape
    assert out.dtype == image.dtype
    assert out.device == image.device
    scale = 255.0 if dtype == torch.uint8 else 1.0
    assert float((out.double() - image.double()).abs().mean()) / scale < 0.1


def test_batch_items_are_restored_independently(color):
    batch = torch.rand(2, 3, 24, 20, generator=torch.Generator().manual_seed(1))
    together = color(batch)
    alone = torch.stack([color(item) for item in batch])
    torch.testing.assert_close(together, alone, atol=1e-5, rtol=0)


@pytest.mark.parametrize(
    "dtype", [np.uint8, np.uint16, np.float16, np.float32, np.float64], ids=lambda d: np.dtype(d).name
)
def test_rgba_alpha_passes_through_bit_exactly(color, dtype):
    image = numpy_input((24, 20, 4), dtype, seed=3)
    out = color(image)
    np.testing.assert_array_equal(out[..., 3], image[..., 3])
    assert not np.array_equal(out[..., :3], image[..., :3])  # the color channels did go through the model


def test_gray_alpha_passes_through_bit_exactly(gray):
    image = numpy_input((24, 20, 2), np.uint16, seed=4)
    out = gray(image)
    assert out.shape == image.shape and out.dtype == np.uint16
    np.testing.assert_array_equal(out[..., 1], image[..., 1])


def test_tensor_rgba_alpha_passes_through(color):
    image = torch.rand(2, 4, 24, 20, generator=torch.Generator().manual_seed(5))
    out = color(image)
    assert torch.equal(out[:, 3], image[:, 3])


def test_gray_image_through_color_model(color):
    image = numpy_input((24, 20), np.float32)
    out = color(image)
    assert out.shape == (24, 20) and out.dtype == np.float32
    # Same as replicating to RGB and averaging the three outputs.
    rgb = color.run_network(torch.from_numpy(image)[None, None].expand(1, 3, -1, -1))
    np.testing.assert_allclose(out, rgb.mean(dim=1)[0].numpy(), atol=1e-5)


def test_a_gray_image_stored_as_rgb_or_gray_alpha_comes_back_gray(color, tmp_path):
    from PIL import Image

    gray_image = numpy_input((24, 20), np.uint8)
    as_rgb = color(np.repeat(gray_image[:, :, None], 3, axis=2))
    assert all(np.array_equal(as_rgb[..., 0], as_rgb[..., c]) for c in (1, 2))
    np.testing.assert_array_equal(as_rgb[..., 0], color(gray_image))
    Image.fromarray(np.stack([gray_image, np.full_like(gray_image, 200)], axis=2), "LA").save(tmp_path / "la.png")
    from_file = color(tmp_path / "la.png")  # read as RGBA with R = G = B
    assert from_file.shape == (24, 20, 4) and np.array_equal(from_file[..., :3], as_rgb)


def test_rgb_image_through_gray_model_restores_each_channel(gray):
    image = numpy_input((24, 20, 3), np.float32)
    out = gray(image)
    assert out.shape == (24, 20, 3) and out.dtype == np.float32
    for channel in range(3):
        np.testing.assert_allclose(out[..., channel], gray(image[..., channel]), atol=1e-5)


def test_path_input_returns_numpy(untrained_weights, tmp_path):
    image = numpy_input((24, 20, 3), np.uint8)
    path = tmp_path / "noisy.png"
    assert cv2.imwrite(str(path), image)
    out = restore.restore(path, model="dncnn-color", device="cpu")
    assert isinstance(out, np.ndarray)
    assert out.shape == (24, 20, 3) and out.dtype == np.uint8
    out_str = restore.restore(str(path), model="dncnn-color", device="cpu")
    np.testing.assert_array_equal(out, out_str)


def test_missing_path_raises(untrained_weights, tmp_path):
    with pytest.raises(restore.UnreadableFileError):
        restore.restore(tmp_path / "missing.png", model="dncnn-color", device="cpu")


def test_inputs_are_not_modified(color):
    array = numpy_input((24, 20, 4), np.float32)
    tensor = torch.rand(2, 3, 24, 20, generator=torch.Generator().manual_seed(6))
    array_before, tensor_before = array.copy(), tensor.clone()
    color(array)
    color(tensor)
    np.testing.assert_array_equal(array, array_before)
    assert torch.equal(tensor, tensor_before)


def test_restore_function_matches_restorer(color, untrained_weights):
    image = numpy_input((24, 20, 3), np.float32)
    np.testing.assert_array_equal(restore.restore(image, model="dncnn-color", device="cpu", tile=None), color(image))


# --- options --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("sigma", [25, 25.0, 0, 55, "auto", None])
def test_valid_sigma_is_accepted(color, sigma):
    image = numpy_input((16, 16, 3), np.uint8)
    assert color(image, sigma=sigma).shape == image.shape


@pytest.mark.parametrize("sigma", [np.int64(25), np.float32(25.0), np.float64(15.0)], ids=repr)
def test_numpy_scalar_sigma_is_accepted(color, sigma):
    image = numpy_input((16, 16, 3), np.uint8)
    assert color(image, sigma=sigma).shape == image.shape


@pytest.mark.parametrize("sigma", [-1, 56, 256, "x", float("nan"), float("inf"), True, [25]], ids=repr)
def test_invalid_sigma_raises(color, sigma):
    with pytest.raises(InvalidOptionError, match="sigma"):
        color(numpy_input((16, 16, 3), np.uint8), sigma=sigma)


def test_a_per_level_model_takes_any_sigma_on_the_8_bit_scale(untrained_weights):
    image = numpy_input((16, 16), np.uint8)
    assert restore.restore(image, model="dncnn-gray-50", device="cpu", sigma=75).shape == image.shape


@pytest.mark.parametrize(
    ("kernel", "message"),
    [
        ("k.npy", "not a path .* load the file first"),
        ({"a": 1}, "real weights"),
        (np.ones((3, 3), complex), "real weights"),
        ([[1, 2], [3]], "different lengths"),
        (np.ones((5, 5, 2)), "2-D"),
        (np.ones((31, 3)), "larger than the image"),
    ],
    ids=["text", "dict", "complex", "ragged", "3-D", "too large"],
)
@pytest.mark.parametrize("model", ["deblur-wiener", "deblur-rl"])
def test_bad_blur_kernels_are_refused_clearly(model, kernel, message):
    with pytest.raises(InvalidOptionError, match=message):
        restore.restore(numpy_input((24, 20), np.uint8), model=model, kernel=kernel)


@pytest.mark.parametrize("model", ["deblur-unsharp", "deblur-wiener", "deblur-rl"])
def test_the_deblurring_baselines_clip_float_results_to_the_unit_range(model):
    image = np.linspace(-0.2, 1.2, 24 * 20, dtype=np.float32).reshape(24, 20)
    kernel = {} if model == "deblur-unsharp" else {"kernel": np.ones((3, 3))}
    out = restore.restore(image, model=model, **kernel)
    assert out.min() == 0.0 and out.max() == 1.0


@pytest.mark.parametrize("model", ["deblur-wiener", "deblur-rl"])
def test_an_even_kernel_is_padded_at_its_end_keeping_the_centre_where_scipy_puts_it(model):
    image = numpy_input((24, 20), np.uint8)
    box = np.ones((4, 4))
    padded = np.pad(box, ((0, 1), (0, 1)))  # centre at index 2 = 4 // 2, as scipy.ndimage.convolve puts it
    expected = restore.restore(image, model=model, kernel=padded)
    np.testing.assert_array_equal(restore.restore(image, model=model, kernel=box), expected)


def test_richardson_lucy_with_an_even_kernel_sharpens_in_place():
    import cv2
    from scipy import ndimage

    clean = cv2.GaussianBlur(np.random.default_rng(0).random((64, 64)), (0, 0), 1.5)
    clean = (clean - clean.min()) / np.ptp(clean)
    box = np.ones((4, 4)) / 16
    blurred = ndimage.convolve(clean, box, mode="reflect")
    out = restore.restore(blurred.astype(np.float32), model="deblur-rl", kernel=box, iterations=30)

    def error(image: np.ndarray) -> float:
        return float(np.abs(image - clean)[8:-8, 8:-8].mean())

    rolled = {(dy, dx): error(np.roll(out, (dy, dx), (0, 1))) for dy in (-1, 0, 1) for dx in (-1, 0, 1)}
    assert min(rolled, key=rolled.get) == (0, 0)  # it drifted by (1, 1) before, and ended worse than its input
    assert error(out) < 0.5 * error(blurred)


def test_a_kernel_may_be_a_tensor_taking_part_in_autograd():
    image = numpy_input((24, 20), np.uint8)
    kernel = torch.ones(3, 3, requires_grad=True)
    expected = restore.restore(image, model="deblur-wiener", kernel=np.ones((3, 3)))
    np.testing.assert_array_equal(restore.restore(image, model="deblur-wiener", kernel=kernel), expected)


def test_noise_may_be_an_array_and_is_never_a_string():
    burst = numpy_input((3, 16, 16), np.uint8)
    expected = restore.restore(burst, model="burst-hdrplus", noise=(0.01, 0.02))
    np.testing.assert_array_equal(restore.restore(burst, model="burst-hdrplus", noise=np.array([0.01, 0.02])), expected)
    with pytest.raises(InvalidOptionError, match="noise must be"):
        restore.restore(burst, model="burst-hdrplus", noise="12")


@pytest.mark.parametrize("model", ["dncnn-gray-25", "lowlight-raw"])
def test_a_number_beyond_the_float_range_is_refused_by_name(model):
    option = "ratio" if model == "lowlight-raw" else "sigma"
    with pytest.raises(InvalidOptionError, match=f"{option} must be a number"):
        restore.api.get_spec(model).parse_options({option: 10**400})


def test_a_plain_average_estimates_no_noise_it_does_not_use():
    tiny = numpy_input((4, 10, 10), np.uint8)  # too few pixels to estimate noise from
    np.testing.assert_array_equal(
        restore.restore(tiny, model="burst-average"), restore.restore(tiny, model="burst-average", noise=(1, 1))
    )
    with pytest.raises(InvalidImageError, match="too few pixels"):
        restore.restore(tiny, model="burst-hdrplus")  # which does use it


@pytest.mark.parametrize("option", ["align", "inverse"])
def test_a_flag_that_is_not_a_bool_is_refused_by_name(untrained_weights, option):
    model = {"align": "kpn-burst", "inverse": "invisp"}[option]
    with pytest.raises(InvalidOptionError, match=f"{option} must be True or False, got 'no'"):
        restore.load(model, device="cpu").spec.parse_options({option: "no"})


def test_unknown_option_raises(color, untrained_weights):
    image = numpy_input((16, 16, 3), np.uint8)
    with pytest.raises(InvalidOptionError, match="ratio"):
        color(image, ratio=3)
    with pytest.raises(InvalidOptionError, match="ratio"):
        restore.restore(image, model="dncnn-color", device="cpu", ratio=3)


@pytest.mark.parametrize("argument", [{"model": ["dncnn-color"]}, {"tile": [512]}], ids=["model", "tile"])
def test_an_unhashable_argument_gets_its_own_clear_error(untrained_weights, argument):
    with pytest.raises((UnknownModelError, InvalidOptionError), match=re.escape(str(next(iter(argument.values()))))):
        restore.restore(numpy_input((16, 16), np.uint8), **{"model": "dncnn-gray", "device": "cpu", **argument})


def test_unknown_model_lists_known_names():
    with pytest.raises(UnknownModelError) as info:
        restore.load("no-such-model", device="cpu")
    assert isinstance(info.value, ValueError)
    message = str(info.value)
    assert "no-such-model" in message
    for name in ("dncnn-color", "dncnn-gray", "bm3d", "cbm3d", "nlmeans"):
        assert name in message


def test_fp16_on_cpu_is_refused(untrained_weights):
    with pytest.raises(InvalidOptionError, match="fp16"):
        restore.load("dncnn-color", device="cpu", precision="fp16")


@pytest.mark.parametrize("precision", ["fp64", "half", 16])
def test_unknown_precision_is_refused(untrained_weights, precision):
    with pytest.raises(InvalidOptionError, match="precision"):
        restore.load("dncnn-color", device="cpu", precision=precision)


def test_bf16_on_cpu_runs_close_to_fp32(untrained_weights):
    image = numpy_input((32, 32, 3), np.float32)
    fp32 = restore.load("dncnn-color", device="cpu", precision="fp32", tile=None)(image)
    bf16_restorer = restore.load("dncnn-color", device="cpu", precision="bf16", tile=None)
    assert bf16_restorer.dtype == torch.bfloat16
    bf16 = bf16_restorer(image)
    assert bf16.dtype == np.float32 and bf16.shape == image.shape
    assert np.abs(bf16 - fp32).max() < 0.05
    assert mean_abs_diff(bf16, fp32) < 0.01


@pytest.mark.parametrize("native", [False, True])
def test_bf16_on_a_cpu_without_native_bfloat16_warns(untrained_weights, monkeypatch, recwarn, native):
    monkeypatch.setattr(restore.api, "native_bfloat16", lambda device: native)
    assert restore.load("dncnn-gray", device="cpu", precision="bf16").dtype == torch.bfloat16
    restore.load("dncnn-gray", device="cpu", precision="fp32")
    slow = [w for w in recwarn if issubclass(w.category, restore.PerformanceWarning)]
    assert len(slow) == (0 if native else 1)
    if slow:
        assert "emulated" in str(slow[0].message) and "fp32" in str(slow[0].message)
        assert slow[0].filename == __file__  # points at the caller's line


def test_auto_precision_on_cpu_is_fp32(untrained_weights):
    assert restore.load("dncnn-gray", device="cpu").dtype == torch.float32


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is present")
def test_cuda_is_refused_without_cuda(untrained_weights):
    with pytest.raises(InvalidOptionError, match="not available"):
        restore.load("dncnn-color", device="cuda")


def test_unknown_device_is_refused(untrained_weights):
    with pytest.raises(InvalidOptionError):
        restore.load("dncnn-color", device="toaster")


@pytest.mark.parametrize("tile", [-1, 8, 2.5, True, False, "big"], ids=repr)
def test_invalid_tile_is_refused(untrained_weights, tile):
    with pytest.raises(InvalidOptionError, match="tile"):
        restore.load("dncnn-color", device="cpu", tile=tile)


@pytest.mark.parametrize("tile", [None, 0, "off"], ids=repr)
def test_tiling_can_be_switched_off(untrained_weights, tile):
    assert restore.load("dncnn-gray", device="cpu", tile=tile).tile is None


def test_a_tile_size_may_be_any_kind_of_integer(untrained_weights):
    assert restore.load("dncnn-gray", device="cpu", tile=np.int64(512)).tile == 512


def test_auto_tile_follows_the_device_within_the_models_cap():
    assert resolve_tile("auto", torch.device("cpu"), overlap=20) == 1024
    assert resolve_tile("auto", torch.device("cuda"), overlap=20) == 2048
    assert resolve_tile("auto", torch.device("cuda"), overlap=20, max_auto=1024) == 1024
    assert resolve_tile(1536, torch.device("cuda"), overlap=20, max_auto=1024) == 1536  # a size given is not capped


def test_a_tensor_result_is_an_ordinary_tensor(color):
    """Not one of inference mode's tensors, which refuse in-place changes and autograd outside it."""
    out = color(torch.rand(1, 3, 24, 20))
    assert not out.is_inference()
    out.clamp_(0, 1)
    torch.nn.functional.conv2d(out, torch.ones(1, 3, 3, 3, requires_grad=True)).sum().backward()


def test_invalid_image_through_the_api(color):
    with pytest.raises(InvalidImageError):
        color(np.zeros((16, 16, 5), dtype=np.uint8))
    with pytest.raises(InvalidImageError):
        color(np.full((16, 16, 3), np.nan, dtype=np.float32))


def test_a_camera_raw_path_given_to_an_image_model_names_the_file(color, tmp_path):
    raw = tmp_path / "IMG_0001.CR2"
    raw.write_bytes(b"not read: the suffix says it is a raw")
    with pytest.raises(InvalidImageError, match="IMG_0001.CR2 is a camera raw file.*restores RGB/gray images"):
        color(raw)
    assert raw.read_bytes() == b"not read: the suffix says it is a raw"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_finite_values_too_large_for_the_network_are_an_error_not_nan(color, dtype):
    with pytest.raises(InvalidImageError, match="overflowed.*1e\\+38"):
        color(np.full((16, 16, 3), 1e38, dtype=dtype))


def test_restorer_repr_and_info(color):
    assert "dncnn-color" in repr(color)
    assert color.info.name == "dncnn-color"
    assert color.info.card is not None and color.info.card["untrained"] is True


# --- catalog --------------------------------------------------------------------------------------------------------


def test_models_lists_learned_and_classical(untrained_weights):
    infos = {info.name: info for info in restore.models()}
    expected = {
        "dncnn-color": ("learned", (3,)),
        "dncnn-gray": ("learned", (1,)),
        "bm3d": ("classical", (1,)),
        "cbm3d": ("classical", (3,)),
        "nlmeans": ("classical", (1, 3)),
    }
    assert set(expected) <= set(infos)
    for name, (kind, channels) in expected.items():
        info = infos[name]
        assert isinstance(info, restore.ModelInfo)
        assert info.task == "denoise"
        assert info.kind == kind
        assert info.input_kind == "image"
        assert info.channels == channels
        assert "sigma" in info.options
        assert info.summary
        if kind == "learned":
            assert info.card is not None and "sha256" in info.card
        else:
            assert info.card is None


def test_public_api_snapshot():
    assert sorted(restore.__all__) == restore.__all__
    for name in (
        "load",
        "restore",
        "models",
        "Restorer",
        "ModelInfo",
        "RestoreError",
        "InvalidImageError",
        "InvalidOptionError",
        "UnknownModelError",
        "WeightsError",
        "UnreadableFileError",
        "PerformanceWarning",
    ):
        assert name in restore.__all__ and hasattr(restore, name)


# --- geometric self-ensemble ----------------------------------------------------------------------------------------


def test_ensemble_makes_the_restorer_commute_with_flips_and_turns(untrained_weights, smooth_image, add_noise):
    noisy = add_noise(smooth_image(36, 28), sigma=25, seed=12).astype(np.float32)
    plain = restore.load("dncnn-gray", device="cpu", tile=None)
    ensemble = restore.load("dncnn-gray", device="cpu", tile=None, ensemble=True)
    assert "ensemble=True" in repr(ensemble) and "ensemble" not in repr(plain)

    def turned_back(restorer, image):
        return np.rot90(np.fliplr(restorer(np.ascontiguousarray(np.fliplr(np.rot90(image))))), -1)

    assert np.abs(turned_back(plain, noisy) - plain(noisy)).max() > 1e-4  # the bare network is not equivariant
    np.testing.assert_allclose(turned_back(ensemble, noisy), ensemble(noisy), atol=1e-5)
    assert 0 < np.abs(ensemble(noisy) - plain(noisy)).max() < 0.05  # an average of eight close estimates


def test_ensemble_tiled_matches_untiled(untrained_weights, smooth_image, add_noise):
    noisy = add_noise(smooth_image(150, 110, 3), sigma=25, seed=13).astype(np.float32)
    tiled = restore.load("dncnn-color", device="cpu", tile=96, ensemble=True)(noisy)
    whole = restore.load("dncnn-color", device="cpu", tile=None, ensemble=True)(noisy)
    assert tiled.shape == noisy.shape
    assert np.abs(tiled - whole).max() < 1e-4


def test_ensemble_reaches_the_per_level_sibling_and_the_restore_function(untrained_weights, smooth_image, add_noise):
    noisy = add_noise(smooth_image(32, 32), sigma=50, seed=14).astype(np.float32)
    sibling = restore.load("dncnn-gray-50", device="cpu", ensemble=True)(noisy)
    np.testing.assert_array_equal(restore.load("dncnn-gray-25", device="cpu", ensemble=True)(noisy, sigma=50), sibling)
    np.testing.assert_array_equal(
        restore.restore(noisy, model="dncnn-gray-50", device="cpu", ensemble=True, sigma=50), sibling
    )
    assert not np.array_equal(restore.load("dncnn-gray-50", device="cpu")(noisy), sibling)


def test_ensemble_runs_the_burst_network(untrained_weights, smooth_image, add_noise):
    frames = np.stack([add_noise(smooth_image(40, 24, 3), sigma=10, seed=seed) for seed in range(8)]).astype(np.float32)
    plain = restore.load("kpn-burst", device="cpu")(frames, noise=(0.01, 0.001))
    out = restore.load("kpn-burst", device="cpu", ensemble=True)(frames, noise=(0.01, 0.001))
    assert out.shape == plain.shape == frames.shape[1:] and out.dtype == np.float32
    assert 0 < np.abs(out - plain).max() < 0.1


@pytest.mark.parametrize("name", ["lowlight-raw", "invisp", "cbm3d", "deblur-wiener"])
def test_ensemble_is_refused_where_turns_do_not_commute_with_the_model(untrained_weights, name):
    assert not next(info for info in restore.models() if info.name == name).self_ensemble
    with pytest.raises(InvalidOptionError, match="ensemble"):
        restore.load(name, device="cpu", ensemble=True)


def test_ensemble_must_be_a_bool(untrained_weights):
    assert next(info for info in restore.models() if info.name == "dncnn-color").self_ensemble
    with pytest.raises(InvalidOptionError, match="ensemble"):
        restore.load("dncnn-color", device="cpu", ensemble="yes")
    image = numpy_input((16, 16, 3), np.float32)
    restore.restore(image, device="cpu", ensemble=True)  # cached: 1 == True must not reach that cached restorer
    with pytest.raises(InvalidOptionError, match="ensemble must be True or False, got 1"):
        restore.restore(image, device="cpu", ensemble=1)


# --- classical baselines through the API ----------------------------------------------------------------------------


@pytest.mark.parametrize("model, channels", [("bm3d", None), ("cbm3d", 3), ("nlmeans", None), ("nlmeans", 3)])
def test_classical_baselines_reduce_the_error(model, channels, smooth_image, add_noise):
    clean = smooth_image(32, 32, channels).astype(np.float32)
    noisy = add_noise(clean, sigma=25, seed=7)
    out = restore.restore(noisy, model=model, device="cpu", sigma=25)
    assert out.shape == noisy.shape and out.dtype == np.float32
    mse_noisy = float(np.mean((noisy - clean) ** 2))
    mse_out = float(np.mean((out - clean) ** 2))
    assert mse_out < 0.5 * mse_noisy, (mse_out, mse_noisy)


def test_cbm3d_is_the_bm3d_packages_on_a_color_image(smooth_image, add_noise):
    import bm3d

    from restore.baselines import bm3d_profile, cbm3d_denoise

    noisy = add_noise(smooth_image(32, 32, 3), sigma=25, seed=3)
    expected = bm3d.bm3d_rgb(noisy, 25 / 255, bm3d_profile())
    assert np.abs(cbm3d_denoise(noisy, 25) - expected).max() < 1e-9


def test_cbm3d_denoises_a_gray_image_like_bm3d(smooth_image, add_noise):
    # bm3d.bm3d_rgb gives NaN on a gray image in RGB (its chroma channels are constant); that came back black
    clean = smooth_image(32, 32)
    noisy = np.clip(np.round(add_noise(clean, sigma=25, seed=4) * 255), 0, 255).astype(np.uint8)
    out = restore.restore(noisy, model="cbm3d", device="cpu", sigma=25)
    gray = restore.restore(noisy, model="bm3d", device="cpu", sigma=25)
    assert out.shape == noisy.shape and out.dtype == np.uint8
    assert np.mean((out / 255 - clean) ** 2) < 0.5 * np.mean((noisy / 255 - clean) ** 2)
    assert np.abs(out.astype(int) - gray).max() <= 1


@pytest.mark.parametrize("model, shape", [("bm3d", (24, 24)), ("cbm3d", (24, 24, 3)), ("nlmeans", (24, 24, 3))])
@pytest.mark.parametrize("sigma", [None, 25])
def test_a_flat_image_comes_back_flat(model, shape, sigma):
    flat = np.full(shape, 100, np.uint8)
    assert np.array_equal(restore.restore(flat, model=model, device="cpu", sigma=sigma), flat)


def test_the_noise_estimate_of_a_flat_image_is_zero():
    from restore.baselines import estimate_noise_sigma

    for level in (0.4, 100 / 255):  # scikit-image's estimate: about 1e-13 for the first, NaN for the second
        for shape in ((16, 16), (16, 16, 3)):
            with warnings.catch_warnings():  # and no RuntimeWarning from numpy reaches the caller
                warnings.simplefilter("error", RuntimeWarning)
                assert 0.0 <= estimate_noise_sigma(np.full(shape, level, np.float32)) < 1e-6


@pytest.mark.parametrize("width", [1, 2, 3, 4])
def test_a_gray_image_a_few_pixels_wide_is_not_taken_for_color(width):
    from restore.baselines import estimate_noise_sigma

    with warnings.catch_warnings():  # scikit-image warns that a short last axis may be color: the layout is known
        warnings.simplefilter("error")
        assert estimate_noise_sigma(numpy_input((2, width), np.float32)) >= 0.0


def test_classical_sigma_auto_is_estimated(smooth_image, add_noise):
    clean = smooth_image(32, 32)
    noisy = add_noise(clean, sigma=25, seed=8)
    out = restore.restore(noisy, model="nlmeans", device="cpu")
    assert out.dtype == np.float64
    assert np.mean((out - clean) ** 2) < 0.5 * np.mean((noisy - clean) ** 2)


def test_classical_on_uint8_tensor(smooth_image, add_noise):
    clean = smooth_image(32, 32)
    noisy = np.clip(add_noise(clean, sigma=25, seed=9), 0, 1)
    tensor = torch.from_numpy(np.round(noisy * 255).astype(np.uint8))[None]
    out = restore.restore(tensor, model="nlmeans", device="cpu", sigma=25)
    assert out.dtype == torch.uint8 and out.shape == (1, 32, 32)


def test_compiled_network_gives_the_same_output(untrained_weights, smooth_image, add_noise):
    """torch.compile is an optional speed switch: it must not change the result (far below 0.01 dB)."""
    noisy = add_noise(smooth_image(40, 48)).astype(np.float32)
    plain = restore.load("dncnn-gray", device="cpu", tile=None)(noisy)
    compiled = restore.load("dncnn-gray", device="cpu", tile=None, compile=True)(noisy)
    assert np.abs(compiled - plain).max() < 1e-4
