"""DnCNN: residual learning of a deep CNN for image denoising.

Reference:
    K. Zhang, W. Zuo, Y. Chen, D. Meng, L. Zhang, "Beyond a Gaussian Denoiser: Residual Learning of Deep CNN for
    Image Denoising", IEEE TIP 2017. https://arxiv.org/abs/1608.03981

DnCNN-S (17 layers, one network per noise level), DnCNN-B (20 layers, blind) and CDnCNN-B (20 layers, color, blind)
share this one architecture; they differ in depth, channels and training data only.
"""

from __future__ import annotations

from torch import Tensor, nn

__all__ = ["DnCNN"]


class ConvBNReLU(nn.Module):
    """3x3 convolution, batch normalization (optional) and ReLU: one middle layer of DnCNN."""

    def __init__(self, features: int, batch_norm: bool = True) -> None:
        super().__init__()
        self.conv = nn.Conv2d(features, features, 3, padding=1, bias=not batch_norm)
        self.bn = nn.BatchNorm2d(features, eps=1e-4, momentum=0.05) if batch_norm else nn.Identity()
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        return self.relu(self.bn(self.conv(x)))


class DnCNN(nn.Module):
    """Residual denoiser: predicts the noise and subtracts it from the input.

    Args:
        channels: image channels, 1 for gray and 3 for RGB.
        depth: number of convolution layers in total (17 for DnCNN-S, 20 for DnCNN-B / CDnCNN-B).
        features: width of the hidden layers.
        batch_norm: batch normalization in the middle layers, as in the paper. Without it the middle convolutions
            have biases; on our short CPU runs the color network only left the identity plateau without it.

    Shape:
        - Input: :math:`(B, C, H, W)`, values on a [0, 1] scale (noise may push them outside).
        - Output: :math:`(B, C, H, W)`, the denoised estimate on the same scale (not clipped).
    """

    def __init__(self, channels: int = 1, depth: int = 17, features: int = 64, batch_norm: bool = True) -> None:
        super().__init__()
        if depth < 3:
            raise ValueError(f"DnCNN needs at least 3 layers, got depth={depth}")
        self.channels = channels
        self.head = nn.Conv2d(channels, features, 3, padding=1)
        self.head_relu = nn.ReLU(inplace=True)
        self.body = nn.Sequential(*(ConvBNReLU(features, batch_norm) for _ in range(depth - 2)))
        self.tail = nn.Conv2d(features, channels, 3, padding=1, bias=False)
        self._init_weights()

    def _init_weights(self) -> None:
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
        nn.init.orthogonal_(self.tail.weight, gain=0.1)

    def predict_noise(self, x: Tensor) -> Tensor:
        """The network's estimate of the noise in ``x``, same shape as ``x``."""
        return self.tail(self.body(self.head_relu(self.head(x))))

    def forward(self, x: Tensor, sigma: float | Tensor | None = None) -> Tensor:
        """Denoise ``x``; ``sigma`` is accepted for a uniform denoiser interface and ignored (DnCNN is blind)."""
        return x - self.predict_noise(x)
