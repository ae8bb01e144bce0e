"""What the machine computes fast, and process-level performance settings (applied by the command line and scripts,
never on import of the library)."""

from __future__ import annotations

import ctypes
import ctypes.util
import platform
import sys
from pathlib import Path

import torch

M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3


def tune_allocator() -> bool:
    """Keep large tensor buffers in glibc's heap instead of mmap/munmap on every allocation.

    With glibc's defaults, 30-45% of CPU inference time goes to page faults on freshly mapped buffers
    (../shared/DESIGN.md, performance notes). Returns whether the settings were applied (glibc on Linux only).
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    settings = ((M_MMAP_THRESHOLD, 32 << 20), (M_TRIM_THRESHOLD, (1 << 31) - 1), (M_TOP_PAD, 1 << 30))
    return all(mallopt(option, value) == 1 for option, value in settings)


def native_bfloat16(device: torch.device) -> bool:
    """Whether ``device`` computes bfloat16 natively: a CUDA GPU that supports it, or a CPU with AVX512-BF16 (AMX
    CPUs have it too). On any other CPU, bfloat16 arithmetic is emulated and far slower than float32 (measured in
    ``benchmarks/results/speed-avx2.md``)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return device.type == "cpu" and getattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)()


def cpu_description() -> str:
    """The CPU a run used, for benchmark tables and model cards: architecture, model name and the widest vector
    instructions torch's kernels use on it, e.g. ``"x86_64 AMD EPYC (AVX2)"`` or ``"x86_64 Intel(R) Xeon(R) ...
    (AVX512, native bfloat16)"``. Timings from two machines of the same architecture can differ several fold."""
    name = platform.processor()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.startswith("model name"):
                name = line.partition(":")[2].strip()
                break
    features = [torch.backends.cpu.get_cpu_capability()]
    if native_bfloat16(torch.device("cpu")):
        features.append("native bfloat16")
    return " ".join(part for part in (platform.machine(), name) if part) + f" ({', '.join(features)})"
