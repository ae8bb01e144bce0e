"""Round trips through ``restore.convert`` for every accepted input kind, and the errors for the rejected ones."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from restore import InvalidImageError, RestoreError
from restore.convert import from_model_tensor, split_alpha, to_model_tensor

NUMPY_SHAPES = [(7, 5), (7, 5, 1), (7, 5, 3), (7, 5, 4)]
NUMPY_DTYPES = [np.uint8, np.uint16, np.float16, np.float32, np.float64]


def numpy_image(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        image = rng.integers(0, int(info.max) + 1, size=shape, dtype=np.int64).astype(dtype)
        image.flat[0], image.flat[-1] = 0, info.max  # both ends of the range
        return image
    # Noisy float image, deliberately outside [0, 1] in places.
    return rng.uniform(-0.3, 1.3, size=shape).astype(dtype)


def torch_image(shape, dtype, seed=0):
    generator = torch.Generator().manual_seed(seed)
    if dtype == torch.uint8:
        return torch.randint(0, 256, shape, generator=generator, dtype=torch.int64).to(torch.uint8)
    return (torch.rand(shape, generator=generator, dtype=torch.float64) * 1.6 - 0.3).to(dtype)


@pytest.mark.parametrize("dtype", NUMPY_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("shape", NUMPY_SHAPES, ids=str)
def test_numpy_round_trip_is_exact(shape, dtype):
    image = numpy_image(shape, dtype)
    x, layout = to_model_tensor(image)
    channels = shape[2] if len(shape) == 3 else 1
    assert x.dtype == (torch.float64 if dtype == np.float64 else torch.float32)
    assert tuple(x.shape) == (1, channels, shape[0], shape[1])
    out = from_model_tensor(x, layout)
    assert isinstance(out, np.ndarray)
    assert out.dtype == image.dtype
    assert out.shape == image.shape
    np.testing.assert_array_equal(out, image)


@pytest.mark.parametrize(
    "dtype, scale",
    [(np.uint8, 255.0), (np.uint16, 65535.0), (np.float16, 1.0), (np.float32, 1.0), (np.float64, 1.0)],
)
def test_numpy_values_are_read_on_a_unit_scale(dtype, scale):
    image = np.array([[0, 1], [2, 3]], dtype=dtype)
    x, _ = to_model_tensor(image)
    np.testing.assert_allclose(x[0, 0].numpy(), image.astype(np.float64) / scale, rtol=1e-6)


def test_numpy_layout_is_channels_last():
    image = np.zeros((4, 6, 3), dtype=np.uint8)
    image[..., 0], image[..., 1], image[..., 2] = 10, 20, 30
    x, _ = to_model_tensor(image)
    assert x.shape == (1, 3, 4, 6)
    np.testing.assert_allclose(x[0, :, 0, 0].numpy() * 255, [10, 20, 30], rtol=1e-6)


def test_floats_are_not_clipped_either_way():
    image = np.array([[-0.25, 1.5], [0.5, 2.0]], dtype=np.float32)
    x, layout = to_model_tensor(image)
    assert float(x.min()) == -0.25 and float(x.max()) == 2.0
    out = from_model_tensor(x * 2, layout)
    np.testing.assert_array_equal(out, image * 2)


@pytest.mark.parametrize("dtype, top", [(np.uint8, 255), (np.uint16, 65535)])
def test_integer_outputs_are_clipped_and_rounded(dtype, top):
    _, layout = to_model_tensor(np.zeros((1, 4), dtype=dtype))
    values = torch.tensor([[[[-0.5, 0.4 / top, 0.6 / top, 1.7]]]])
    out = from_model_tensor(values, layout)
    assert out.dtype == dtype
    np.testing.assert_array_equal(out, np.array([[0, 0, 1, top]], dtype=dtype))


TORCH_DTYPES = [torch.uint8, torch.float16, torch.bfloat16, torch.float32, torch.float64]


@pytest.mark.parametrize("dtype", TORCH_DTYPES, ids=str)
@pytest.mark.parametrize("shape", [(1, 7, 5), (3, 7, 5), (4, 7, 5), (2, 3, 7, 5), (1, 2, 7, 5)], ids=str)
def test_torch_round_trip_is_exact(shape, dtype):
    image = torch_image(shape, dtype)
    x, layout = to_model_tensor(image)
    assert x.dtype == (torch.float64 if dtype == torch.float64 else torch.float32)
    assert x.ndim == 4 and tuple(x.shape[-3:]) == shape[-3:]
    out = from_model_tensor(x, layout)
    assert isinstance(out, torch.Tensor)
    assert out.dtype == dtype
    assert out.shape == image.shape
    assert out.device == image.device
    assert torch.equal(out, image)


def test_torch_uint16_round_trip_is_exact():
    image = torch.tensor([[[0, 1, 32768, 65535]]], dtype=torch.uint16)
    x, layout = to_model_tensor(image)
    assert torch.equal(from_model_tensor(x, layout), image)


def test_tensor_input_is_not_modified_and_gradient_is_detached():
    image = torch.rand(1, 3, 4, 4, requires_grad=True)
    x, _ = to_model_tensor(image)
    assert not x.requires_grad


def test_read_only_and_strided_arrays_are_accepted_without_warnings():
    base = numpy_image((6, 5, 3), np.float32)
    read_only = base.copy()
    read_only.flags.writeable = False
    views = [read_only, base[::-1, ::2], np.broadcast_to(base[:, :1], (6, 5, 3)), base[..., 1]]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for image in views:
            x, layout = to_model_tensor(image)
            np.testing.assert_array_equal(from_model_tensor(x, layout), image)


def test_split_alpha():
    x = torch.rand(2, 4, 3, 3)
    color, alpha = split_alpha(x)
    assert torch.equal(color, x[:, :3]) and torch.equal(alpha, x[:, 3:])
    color, alpha = split_alpha(x[:, :2])
    assert color.shape[1] == 1 and alpha.shape[1] == 1
    for channels in (1, 3):
        color, alpha = split_alpha(x[:, :channels])
        assert alpha is None and color.shape[1] == channels


# --- errors ---------------------------------------------------------------------------------------------------------

BAD_INPUTS = {
    "empty 2D": np.zeros((0, 5), dtype=np.uint8),
    "empty 3D": np.zeros((4, 0, 3), dtype=np.float32),
    "empty tensor": torch.zeros(3, 0, 4),
    "numpy ndim 1": np.zeros(5, dtype=np.uint8),
    "numpy ndim 4": np.zeros((1, 4, 4, 3), dtype=np.uint8),
    "numpy ndim 5": np.zeros((1, 1, 4, 4, 3), dtype=np.uint8),
    "tensor ndim 2": torch.zeros(4, 4),
    "tensor ndim 5": torch.zeros(1, 1, 3, 4, 4),
    "numpy 5 channels": np.zeros((4, 4, 5), dtype=np.uint8),
    "tensor 5 channels": torch.zeros(5, 4, 4),
    "tensor channels-last": torch.zeros(16, 16, 3),
    "int32": np.zeros((4, 4), dtype=np.int32),
    "int64": np.zeros((4, 4), dtype=np.int64),
    "bool": np.zeros((4, 4), dtype=bool),
    "complex64": np.zeros((4, 4), dtype=np.complex64),
    "int32 tensor": torch.zeros(1, 4, 4, dtype=torch.int32),
    "bool tensor": torch.zeros(1, 4, 4, dtype=torch.bool),
    "list": [[0.0, 1.0], [1.0, 0.0]],
    "None": None,
}


@pytest.mark.parametrize("image", BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_invalid_images_raise(image):
    with pytest.raises(InvalidImageError) as info:
        to_model_tensor(image)
    assert isinstance(info.value, ValueError) and isinstance(info.value, RestoreError)
    assert str(info.value)


def test_channels_first_numpy_message_mentions_channels_last():
    with pytest.raises(InvalidImageError, match="channels-last"):
        to_model_tensor(np.zeros((3, 16, 16), dtype=np.uint8))


def test_channels_last_tensor_message_mentions_channels_first():
    with pytest.raises(InvalidImageError, match="channels-first"):
        to_model_tensor(torch.zeros(16, 16, 3))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf], ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize("kind", ["numpy32", "numpy64", "torch", "torch-bf16"])
def test_non_finite_values_raise(bad, kind):
    base = np.full((4, 4, 3), 0.5)
    base[1, 2, 0] = bad
    image = {
        "numpy32": base.astype(np.float32),
        "numpy64": base,
        "torch": torch.from_numpy(base).permute(2, 0, 1).float(),
        "torch-bf16": torch.from_numpy(base).permute(2, 0, 1).to(torch.bfloat16),
    }[kind]
    with pytest.raises(InvalidImageError, match="NaN or infinite"):
        to_model_tensor(image)


def test_error_messages_name_the_problem():
    with pytest.raises(InvalidImageError, match="int32"):
        to_model_tensor(np.zeros((4, 4), dtype=np.int32))
    with pytest.raises(InvalidImageError, match="5 channels"):
        to_model_tensor(np.zeros((4, 4, 5), dtype=np.uint8))
    with pytest.raises(InvalidImageError, match="empty"):
        to_model_tensor(np.zeros((0, 4), dtype=np.uint8))
    with pytest.raises(InvalidImageError, match="list"):
        to_model_tensor([[0.0]])
