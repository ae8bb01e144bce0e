"""Camera-shake blur: random motion trajectories turned into kernels (in the style of Boracchi and Foi 2012), and
blurring with one kernel per image.

A trajectory is a random walk of the image centre during the exposure: its velocity changes by a Gaussian
"anxiety" term, is pulled back towards the start (inertia of a hand that holds still), and now and then takes an
impulsive jerk. Kernels rasterize the trajectory (bilinear splats) over the first ``exposure`` fraction of it.
"""

from __future__ import annotations

import numpy as np
import torch.nn.functional as F
from torch import Tensor

__all__ = ["blur", "centred_kernel", "motion_kernel", "random_trajectory"]


def random_trajectory(
    rng: np.random.Generator,
    length: float = 20.0,
    steps: int = 1000,
    anxiety: float | None = None,
    jerks: float | None = None,
    centripetal: float | None = None,
    dwell: float = 0.0,
) -> np.ndarray:
    """A random camera-shake trajectory: (steps, 2) positions (y, x) in pixels whose larger extent is ``length``.

    The velocity starts at unit speed in a random direction and then performs a random walk (``anxiety``: its
    standard deviation over the whole exposure), is pulled back towards the start (``centripetal``) and takes on
    average ``jerks`` impulsive changes. Unset parameters are drawn: anxiety U(0.5, 3), jerks U(0, 3),
    centripetal U(0, 5): from nearly straight strokes to curled, jittery ones.

    ``dwell`` > 0 also lets the hand slow down and speed up: the speed is multiplied by exp of a Brownian motion
    with standard deviation ``dwell`` over the exposure, so the kernel gathers its mass where the hand lingers, as
    recorded shake does (Levin et al.'s kernels put 37-53% of their mass in the brightest tenth of their support,
    uniform-speed ones about a third). At 0 (the default) no random numbers are drawn for it.
    """
    anxiety = rng.uniform(0.5, 3.0) if anxiety is None else anxiety
    jerks = rng.uniform(0.0, 3.0) if jerks is None else jerks
    centripetal = rng.uniform(0.0, 5.0) if centripetal is None else centripetal
    dt = 1.0 / steps
    speeds = np.exp(dwell * np.sqrt(dt) * np.cumsum(rng.standard_normal(steps))) if dwell > 0 else np.ones(steps)
    angle = rng.uniform(0, 2 * np.pi)
    velocity = np.array([np.sin(angle), np.cos(angle)])
    position = np.zeros(2)
    positions = np.empty((steps, 2))
    for step in range(steps):
        velocity = velocity + anxiety * np.sqrt(dt) * rng.standard_normal(2) - centripetal * position * dt
        if rng.random() < jerks * dt:
            velocity = velocity + 1.5 * rng.standard_normal(2) * max(np.linalg.norm(velocity), 0.5)
        position = position + speeds[step] * velocity * dt
        positions[step] = position
    extent = np.ptp(positions, axis=0).max()
    return (positions - positions.mean(axis=0)) * (length / max(extent, 1e-9))


def motion_kernel(trajectory: np.ndarray, size: int, exposure: float = 1.0) -> np.ndarray:
    """Rasterize the first ``exposure`` (0, 1] of a trajectory into a (size, size) float64 kernel that sums to 1.

    The kernel is centred on the centre of mass of the used part, so blurring does not shift the image.
    """
    if size % 2 == 0 or size < 3:
        raise ValueError(f"kernel size must be odd and at least 3, got {size}")
    used = trajectory[: max(2, round(len(trajectory) * exposure))]
    points = used - used.mean(axis=0) + size // 2
    kernel = np.zeros((size, size))
    base = np.floor(points).astype(int)
    fraction = points - base
    for dy, dx in ((0, 0), (0, 1), (1, 0), (1, 1)):
        weight = (fraction[:, 0] if dy else 1 - fraction[:, 0]) * (fraction[:, 1] if dx else 1 - fraction[:, 1])
        rows, cols = base[:, 0] + dy, base[:, 1] + dx
        inside = (rows >= 0) & (rows < size) & (cols >= 0) & (cols < size)
        np.add.at(kernel, (rows[inside], cols[inside]), weight[inside])
    return kernel / kernel.sum()


def centred_kernel(kernel: np.ndarray) -> np.ndarray:
    """Move a (k, k) kernel by whole pixels so that its centre of mass lies within half a pixel of its centre (the
    convention of ``motion_kernel``: blurring does not shift the image) -> (k', k') float64, k' = k + 2 * the larger
    shift; the values themselves are unchanged.

    A blind method can recover an image only up to translation; a kernel whose mass sits off-centre shifts the image
    as it blurs it, and a network trained on centred kernels returns the unshifted image.
    """
    if kernel.ndim != 2 or kernel.shape[0] != kernel.shape[1] or kernel.shape[0] % 2 == 0:
        raise ValueError(f"kernel must be (k, k) with k odd, got {kernel.shape}")
    weights = kernel / kernel.sum()
    positions = np.arange(kernel.shape[0]) - kernel.shape[0] // 2
    offset = np.rint([(weights.sum(axis=1) * positions).sum(), (weights.sum(axis=0) * positions).sum()]).astype(int)
    margin = int(np.abs(offset).max())
    padded = np.pad(kernel.astype(np.float64), margin)
    return np.roll(padded, tuple(-offset), axis=(0, 1))


def blur(images: Tensor, kernels: Tensor) -> Tensor:
    """Blur each image (B, C, H, W) with its own kernel (B, k, k) (k odd); reflect padding, same size out."""
    batch, channels, height, width = images.shape
    size = kernels.shape[-1]
    if kernels.shape != (batch, size, size) or size % 2 == 0:
        raise ValueError(f"kernels must be (B, k, k) with k odd for {batch} images, got {tuple(kernels.shape)}")
    padded = F.pad(images.reshape(1, batch * channels, height, width), (size // 2,) * 4, mode="reflect")
    weight = kernels.flip(-1, -2).to(images.dtype).repeat_interleave(channels, dim=0)[:, None]
    return F.conv2d(padded, weight, groups=batch * channels).reshape(batch, channels, height, width)
