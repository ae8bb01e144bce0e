"""Kernel prediction network for burst denoising (Mildenhall et al., CVPR 2018).

A U-Net reads the burst and a per-pixel noise-level map and predicts, for every pixel and frame, a K x K kernel; the
output is the sum over frames of each frame filtered with its kernels (``restore.ops.kernels``). Kernels can shift
weight off-centre, so the network aligns and denoises in one pass.

Unlike the paper's free kernels, ours are a softmax over all frames' taps at each pixel: the output is a convex
combination of burst pixels, so it keeps the image's level exactly and only has to learn where to take the average.
(Free kernels trained for a few thousand steps summed to 1 only within about 15%, which capped static low-noise bursts
near 35 dB where the plain average reaches 45.)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from restore.ops.kernels import filter_frames

__all__ = ["KPN", "widen_to_planes"]

CENTRE_LOGIT = 4.0  # at start each frame's centre tap holds e^4 / (e^4 + 24), about 69%, of that frame's weight


def _block(in_channels: int, out_channels: int, convs: int = 3) -> nn.Sequential:
    layers: list[nn.Module] = []
    for index in range(convs):
        layers += [
            nn.Conv2d(in_channels if index == 0 else out_channels, out_channels, 3, padding=1),
            nn.ReLU(inplace=True),
        ]
    return nn.Sequential(*layers)


class KPN(nn.Module):
    """Burst (B, N, C, H, W) and noise level (B, P, H, W) -> (merged (B, C, H, W), per-frame (B, N, C, H, W)).

    Frames are linear intensities; the noise level map is the per-pixel noise standard deviation of the reference
    frame. H and W must be multiples of ``multiple``. Each frame's channels share its kernels (they are aligned
    alike). With ``planes=1`` (gray bursts, as in the paper) the U-Net sees each frame's channel mean and a
    one-channel noise map, so it also takes color frames; with ``planes=4`` (packed RGGB raw frames) it sees every
    plane of every frame (C = 4) and the noise map of each plane (P = 4).
    """

    multiple = 16

    def __init__(
        self,
        frames: int = 8,
        kernel_size: int = 5,
        widths: tuple[int, ...] = (64, 128, 256, 512),
        planes: int = 1,
    ) -> None:
        super().__init__()
        self.frames, self.kernel_size, self.planes = frames, kernel_size, planes
        self.encoders = nn.ModuleList()
        previous = (frames + 1) * planes
        for width in widths:
            self.encoders.append(_block(previous, width))
            previous = width
        self.decoders = nn.ModuleList(
            _block(wide + narrow, narrow) for wide, narrow in zip(widths[:0:-1], widths[-2::-1])
        )
        self.to_logits = nn.Conv2d(widths[0], frames * kernel_size**2, 3, padding=1)
        with torch.no_grad():  # start near the plain average of the frames: most weight on the centre taps
            self.to_logits.weight.mul_(0.01)
            bias = torch.zeros(frames, kernel_size**2)
            bias[:, kernel_size**2 // 2] = CENTRE_LOGIT
            self.to_logits.bias.copy_(bias.flatten())

    def features(self, frames: Tensor, noise_level: Tensor) -> Tensor:
        """(B, N, C, H, W), (B, P, H, W) -> the U-Net's last features (B, widths[0], H, W)."""
        if frames.shape[1] != self.frames:
            raise ValueError(f"this KPN takes bursts of {self.frames} frames, got {frames.shape[1]}")
        if self.planes > 1 and frames.shape[2] != self.planes:
            raise ValueError(f"this KPN takes frames of {self.planes} planes, got {frames.shape[2]}")
        seen = frames.mean(dim=2) if self.planes == 1 else frames.flatten(1, 2)
        x = torch.cat([seen, noise_level], dim=1)
        skips = []
        for index, encoder in enumerate(self.encoders):
            x = encoder(F.avg_pool2d(x, 2) if index else x)
            skips.append(x)
        skips.pop()
        for decoder in self.decoders:
            skip = skips.pop()
            x = decoder(torch.cat([F.interpolate(x, size=skip.shape[-2:], mode="bilinear"), skip], dim=1))
        return x

    def frame_logits(self, features: Tensor, frame: int) -> Tensor:
        """Frame ``frame``'s kernel logits (B, K*K, H, W), in fp32 even under autocast (they are exponentiated)."""
        taps = slice(frame * self.kernel_size**2, (frame + 1) * self.kernel_size**2)
        return F.conv2d(features, self.to_logits.weight[taps], self.to_logits.bias[taps], padding=1).float()

    def predict_kernels(self, frames: Tensor, noise_level: Tensor) -> Tensor:
        """(B, N, C, H, W), (B, P, H, W) -> kernels (B, N, K*K, H, W), non-negative and summing to 1 over frames and
        taps at every pixel (a softmax of the logits)."""
        features = self.features(frames, noise_level)
        logits = torch.stack([self.frame_logits(features, n) for n in range(self.frames)], dim=1)
        return logits.flatten(1, 2).softmax(dim=1).reshape(logits.shape)

    def forward(self, frames: Tensor, noise_level: Tensor) -> tuple[Tensor, Tensor]:
        """(merged (B, C, H, W), per-frame (B, N, C, H, W)): the burst filtered with ``predict_kernels``, and every
        frame's own estimate (its kernel normalized alone).

        One frame at a time, as a streaming softmax: each frame's taps are exponentiated against that frame's own
        maximum and the frames are rescaled to the common maximum at the end, so only K*K logit channels exist at
        once (a 24 MP burst would otherwise hold N*K*K = 200 channels per pixel of every tile).
        """
        features = self.features(frames, noise_level)
        filtered, totals, maxima = [], [], []
        for n in range(self.frames):
            logits = self.frame_logits(features, n)
            maximum = logits.detach().amax(dim=1, keepdim=True)  # (B, 1, H, W); the softmax does not depend on it
            weights = logits.sub_(maximum).exp_()  # in place: a fresh tensor, and exp's backward needs only its output
            filtered.append(filter_frames(frames[:, n : n + 1], weights[:, None])[:, 0])  # (B, C, H, W)
            totals.append(weights.sum(dim=1, keepdim=True))  # (B, 1, H, W), at least 1
            maxima.append(maximum)
        common = torch.stack(maxima).amax(dim=0)
        scales = [torch.exp(m - common) for m in maxima]  # each frame's share relative to the common maximum
        merged = sum(f * c for f, c in zip(filtered, scales)) / sum(t * c for t, c in zip(totals, scales))
        per_frame = torch.stack([f / t for f, t in zip(filtered, totals)], dim=1)
        return merged, per_frame


def widen_to_planes(state: dict[str, Tensor], frames: int, planes: int) -> dict[str, Tensor]:
    """A gray (``planes=1``) KPN's weights as those of a KPN with ``planes`` that computes the same function of the
    mean of each frame's planes and of the noise map's planes: the starting point for training the raw Bayer model.
    Weights that already take ``planes`` per input come back unchanged."""
    key = "encoders.0.0.weight"
    inputs = state[key].shape[1]
    if inputs == (frames + 1) * planes:
        return state
    if inputs != frames + 1:
        raise ValueError(f"the first layer takes {inputs} channels, neither {frames + 1} nor {(frames + 1) * planes}")
    return {**state, key: state[key].repeat_interleave(planes, dim=1) / planes}
