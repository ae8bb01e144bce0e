"""``import restore`` and the training pipelines work without rawpy, bm3d and kornia (as on the bare GPU training
machine), and so do the sRGB curves that every training pipeline's data synthesis goes through."""

from __future__ import annotations

import subprocess
import sys

BLOCKED_IMPORTS = """
import sys

class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("rawpy", "bm3d", "kornia"):
            raise ImportError(f"{name} is not installed here")

sys.meta_path.insert(0, Block())
import torch
import restore, pipelines.train_deblur, pipelines.train_dncnn, pipelines.train_kpn, pipelines.train_lowlight
from restore.ops.color import develop, linear_from_srgb
linear = linear_from_srgb(torch.rand(2, 3, 8, 8))
assert develop(linear, torch.eye(3)).shape == linear.shape
print(len(restore.models()))
"""


def test_import_without_raw_and_baseline_packages():
    result = subprocess.run([sys.executable, "-c", BLOCKED_IMPORTS], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.strip()) >= 5
