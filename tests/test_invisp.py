"""The invertible ISP: every block and the whole network invert exactly; the API runs both directions."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import restore
from restore.errors import InvalidImageError, InvalidOptionError
from restore.io import CFA, write_dng
from restore.models.invisp import AffineCoupling, InvertibleConv1x1, InvertibleISP, TransferCurve


def randomized(module: torch.nn.Module) -> torch.nn.Module:
    """Give zero-initialized last layers random weights, so that blocks are not the identity."""
    torch.manual_seed(0)
    for parameter in module.parameters():
        if not parameter.any():
            torch.nn.init.normal_(parameter, std=0.1)
    return module.eval()


@pytest.mark.parametrize(
    ("block", "channels"),
    [
        (lambda: InvertibleConv1x1(12), 12),
        (lambda: InvertibleConv1x1(3), 3),
        (lambda: AffineCoupling(12, 16), 12),
        (lambda: AffineCoupling(3, 8), 3),
    ],
)
def test_every_block_inverts_exactly(block, channels: int) -> None:
    module = randomized(block())
    x = torch.randn(2, channels, 8, 10)
    with torch.no_grad():
        y = module(x)
        assert not torch.allclose(y, x, atol=1e-3)
        assert torch.allclose(module.inverse(y), x, atol=1e-5)
        assert torch.allclose(module(module.inverse(x)), x, atol=1e-5)


def test_network_round_trip_within_1e4() -> None:
    network = randomized(InvertibleISP(blocks=4, hidden=16))
    raw = torch.rand(2, 3, 32, 48)
    with torch.no_grad():
        srgb = network(raw)
        assert (network.inverse(srgb) - raw).abs().mean() < 1e-4
        assert (network(network.inverse(srgb)) - srgb).abs().mean() < 1e-4


def test_transfer_curve_starts_as_srgb_and_reaches_bt709() -> None:
    from restore.ops.color import srgb_from_linear

    x = torch.linspace(-0.05, 1.0, 500).expand(1, 3, 1, 500)
    with torch.no_grad():
        assert (TransferCurve()(x) - srgb_from_linear(x)).abs().max() < 1e-3
        bt709 = TransferCurve(offset=0.099, gamma=1 / 0.45)(x)[0, 0, 0]
    linear = x[0, 0, 0]
    reference = torch.where(linear < 0.018, 4.5 * linear, 1.099 * linear.clamp(min=0.018) ** 0.45 - 0.099)
    assert (bt709 - reference).abs().max() < 2e-3


def test_round_trip_survives_values_outside_the_unit_range() -> None:
    network = randomized(InvertibleISP(blocks=2, hidden=8))
    srgb = torch.rand(1, 3, 16, 16) * 1.4 - 0.2
    with torch.no_grad():
        assert (network(network.inverse(srgb)) - srgb).abs().max() < 1e-4


@pytest.mark.usefixtures("untrained_weights")
def test_api_runs_both_directions(tmp_path) -> None:
    values = np.random.default_rng(0).integers(2056, 15000, (32, 48)).astype(np.uint16)
    write_dng(tmp_path / "x.dng", values, CFA.RGGB, black_level=2056, white_level=15000, wb_gains=(2.0, 1.0, 1.6))
    srgb = restore.restore(tmp_path / "x.dng", model="invisp")
    assert srgb.shape == (32, 48, 3) and srgb.dtype == np.float32 and 0 <= srgb.min() <= srgb.max() <= 1
    raw = restore.restore(srgb, model="invisp", inverse=True)
    assert raw.shape == (32, 48, 3) and raw.dtype == np.float32
    tensor = restore.restore(torch.from_numpy(srgb).permute(2, 0, 1), model="invisp", inverse=True)
    assert tensor.shape == (3, 32, 48) and tensor.dtype == torch.float32
    assert np.allclose(tensor.permute(1, 2, 0).numpy(), raw, atol=1e-6)
    from_uint8 = restore.restore(np.round(srgb * 255).astype(np.uint8), model="invisp", inverse=True)
    assert from_uint8.dtype == np.float32  # a raw is never rounded to the input's 8 bits


@pytest.mark.usefixtures("untrained_weights")
def test_an_image_file_given_for_rendering_points_to_inverse(tmp_path) -> None:
    from restore.io import write_image

    write_image(tmp_path / "photo.png", np.zeros((32, 32, 3), np.uint8))
    with pytest.raises(InvalidImageError, match="not a camera raw.*give inverse=True"):
        restore.restore(tmp_path / "photo.png", model="invisp")


@pytest.mark.usefixtures("untrained_weights")
@pytest.mark.parametrize(
    ("image", "options", "error"),
    [
        (np.zeros((8, 8), np.float32), {"inverse": True}, InvalidImageError),
        (np.zeros((8, 8, 3), np.float32), {"inverse": "yes"}, InvalidOptionError),
        (np.zeros((8, 8, 3), np.float32), {"sigma": 5}, InvalidOptionError),
    ],
)
def test_bad_input_raises_clear_errors(image, options, error) -> None:
    with pytest.raises(error):
        restore.restore(image, model="invisp", **options)


@pytest.mark.usefixtures("untrained_weights")
def test_cli_renders_raws_and_inverts_images_to_dng(tmp_path, smooth_image) -> None:
    from restore.cli import main as cli_main
    from restore.io import read_raw, write_image

    photos, raws = tmp_path / "photos", tmp_path / "raws"
    photos.mkdir()
    write_image(photos / "a.png", np.round(smooth_image(40, 56, 3) * 255).astype(np.uint8))
    assert cli_main(["run", "invisp", str(photos), "-o", str(raws), "--inverse"]) == 0
    raw = read_raw(raws / "a.dng")
    assert raw.raw_values.shape == (40, 56) and raw.cfa == CFA.RGGB and raw.white_level == 15000
    rendered = tmp_path / "rendered"
    assert cli_main(["run", "invisp", str(raws), "-o", str(rendered)]) == 0
    assert restore.io.read_image(rendered / "a.png").shape == (40, 56, 3)
