"""Inference-time simplifications that change no result: batch normalization folded into the convolution before it."""

from __future__ import annotations

from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

__all__ = ["fold_batch_norm"]


def fold_batch_norm(network: nn.Module) -> nn.Module:
    """Fold every ``bn`` (BatchNorm2d) into the ``conv`` (Conv2d) of the same block, in place; returns ``network``.

    A block is any submodule with a ``conv`` followed by a ``bn`` attribute (e.g. DnCNN's ``ConvBNReLU``). The
    network must be in eval mode: the running statistics become the convolution's scale and bias, and the batch
    norm is replaced by ``nn.Identity``.
    """
    if network.training:
        raise ValueError("fold_batch_norm needs a network in eval mode (running statistics are folded)")
    for block in network.modules():
        conv, norm = getattr(block, "conv", None), getattr(block, "bn", None)
        if isinstance(conv, nn.Conv2d) and isinstance(norm, nn.BatchNorm2d):
            block.conv = fuse_conv_bn_eval(conv, norm)
            block.bn = nn.Identity()
    return network
