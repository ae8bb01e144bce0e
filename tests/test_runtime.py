"""``restore.runtime``: what the machine computes fast, and the description tables and cards record of it."""

import platform

import torch

from benchmarks.common import provenance
from pipelines.model_card import hardware_description
from restore.runtime import cpu_description, native_bfloat16


def test_cpu_description_names_the_architecture_and_vector_instructions():
    description = cpu_description()
    assert description.startswith(platform.machine())
    assert f"({torch.backends.cpu.get_cpu_capability()}" in description
    assert ("native bfloat16" in description) == native_bfloat16(torch.device("cpu"))


def test_benchmark_tables_and_model_cards_carry_the_cpu_description():
    assert provenance("python -m benchmarks.x")["machine"].startswith(cpu_description() + ", ")
    assert hardware_description(torch.device("cpu")).startswith(cpu_description() + " CPU, ")


def test_only_a_cpu_or_cuda_device_can_be_native_bfloat16():
    assert native_bfloat16(torch.device("meta")) is False
