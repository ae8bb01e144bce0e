import pytest
import torch
import torch.nn.functional as F

from restore.ops.ensemble import DIHEDRAL, apply_dihedral, self_ensemble, undo_dihedral


def test_the_eight_transforms_are_distinct_and_undone():
    x = torch.randn(2, 3, 5, 7)
    outputs = [apply_dihedral(x, *transform) for transform in DIHEDRAL]
    assert len(DIHEDRAL) == 8
    assert {tuple(y.shape[-2:]) for y in outputs} == {(5, 7), (7, 5)}
    for first in range(8):
        for second in range(first + 1, 8):
            assert outputs[first].shape != outputs[second].shape or not torch.equal(outputs[first], outputs[second])
    for transform, y in zip(DIHEDRAL, outputs):
        assert torch.equal(undo_dihedral(y, *transform), x)


def test_an_equivariant_function_is_left_unchanged():
    """Nearest-neighbour 2x upsampling commutes with flips and turns: the ensemble is the function, at scale 2."""
    x = torch.rand(1, 3, 6, 9)

    def upsample(t):
        return F.interpolate(t, scale_factor=2, mode="nearest")

    out = self_ensemble(upsample, x)
    assert out.shape == (1, 3, 12, 18) and out.dtype == torch.float32
    torch.testing.assert_close(out, upsample(x))


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=str)
def test_a_filter_becomes_its_symmetrized_kernel(dtype):
    """Correlation with a lopsided kernel, self-ensembled, is correlation with the mean of the kernel's 8 transforms."""
    kernel = torch.zeros(1, 1, 3, 3)
    kernel[0, 0, 0, 1], kernel[0, 0, 1, 1], kernel[0, 0, 2, 2] = 0.5, 0.3, 0.2
    x = torch.rand(1, 1, 11, 8)
    out = self_ensemble(lambda t: F.conv2d(t, kernel.to(t.dtype), padding=1), x.to(dtype))
    symmetric = torch.stack([apply_dihedral(kernel, *transform) for transform in DIHEDRAL]).mean(dim=0)
    assert out.dtype == torch.float32
    tolerance = 1e-6 if dtype == torch.float32 else 2e-2
    torch.testing.assert_close(out, F.conv2d(x, symmetric, padding=1), atol=tolerance, rtol=0)
    assert (out - F.conv2d(x, kernel, padding=1)).abs().max() > 0.05
