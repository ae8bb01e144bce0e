"""The sRGB transfer curves are written in plain torch (no kornia on the GPU machine): they must equal kornia's."""

import pytest
import torch

from restore.ops.color import linear_from_srgb, srgb_from_linear

kornia_color = pytest.importorskip("kornia.color")


def test_transfer_curves_equal_kornias_including_out_of_range_values():
    values = torch.linspace(-0.2, 1.2, 3 * 40 * 50).reshape(1, 3, 40, 50)
    torch.testing.assert_close(srgb_from_linear(values), kornia_color.linear_rgb_to_rgb(values))
    torch.testing.assert_close(linear_from_srgb(values), kornia_color.rgb_to_linear_rgb(values))


def test_transfer_curves_are_inverse_and_work_on_any_number_of_channels():
    burst = torch.rand(2, 8, 16, 16)
    assert srgb_from_linear(burst).shape == burst.shape
    torch.testing.assert_close(linear_from_srgb(srgb_from_linear(burst)), burst, atol=1e-5, rtol=0)
    gray = torch.rand(16, 16)
    torch.testing.assert_close(srgb_from_linear(gray), srgb_from_linear(gray.expand(3, 16, 16))[0])
