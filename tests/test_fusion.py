"""Folding batch norm into convolutions changes no output (beyond float rounding, far below 0.01 dB)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from restore.metrics import psnr, to_uint8
from restore.models.dncnn import DnCNN
from restore.models.fusion import fold_batch_norm


def trained_like_dncnn() -> DnCNN:
    """A DnCNN whose batch norms hold non-trivial statistics and affine parameters, as after training."""
    torch.manual_seed(0)
    network = DnCNN(channels=1, depth=6)
    for module in network.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.uniform_(-0.2, 0.2)
            module.running_var.uniform_(0.5, 2.0)
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-0.1, 0.1)
    return network.eval()


def test_folded_network_gives_the_same_output(smooth_image, add_noise) -> None:
    network = trained_like_dncnn()
    noisy = torch.from_numpy(add_noise(smooth_image(48, 48))).float()[None, None]
    with torch.inference_mode():
        before = network(noisy)
        folded = fold_batch_norm(network)
        after = folded(noisy)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in folded.modules())
    assert torch.allclose(before, after, atol=1e-5)
    reference = to_uint8(smooth_image(48, 48))
    difference = psnr(to_uint8(before[0, 0].numpy()), reference) - psnr(to_uint8(after[0, 0].numpy()), reference)
    assert abs(difference) < 0.01


def test_network_without_batch_norm_is_unchanged() -> None:
    network = DnCNN(channels=3, depth=5, batch_norm=False).eval()
    state = {k: v.clone() for k, v in network.state_dict().items()}
    fold_batch_norm(network)
    assert all(torch.equal(state[k], v) for k, v in network.state_dict().items())


def test_folding_refuses_training_mode() -> None:
    with pytest.raises(ValueError, match="eval mode"):
        fold_batch_norm(DnCNN(depth=4).train())
