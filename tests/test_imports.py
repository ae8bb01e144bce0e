"""``import restore`` and the training pipelines work without rawpy and bm3d (as on a bare GPU training machine)."""

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
import restore, pipelines.train_dncnn
print(len(restore.models()))
"""


def test_import_without_raw_and_baseline_packages():
    result = subprocess.run([sys.executable, "-c", BLOCKED_IMPORTS], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.strip()) >= 5
