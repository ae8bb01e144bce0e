"""``restore.registry``: verified, strict weight loading and registration."""

from __future__ import annotations

import importlib.metadata
import json
import shutil
import warnings
from types import SimpleNamespace

import pytest
import torch
from safetensors.torch import load_file, save_file

import restore
import restore.api
from pipelines.model_card import export_weights
from restore import WeightsError
from restore.models.deblur import MultiScaleDeblur
from restore.models.invisp import InvertibleISP
from restore.models.kpn import KPN
from restore.registry import (
    ModelSpec,
    file_sha256,
    get_spec,
    installed_weights_dir,
    list_specs,
    register,
    weights_dir,
)

NAME = "dncnn-gray"


@pytest.fixture
def weights_copy(untrained_weights_dir, tmp_path, monkeypatch):
    """A private copy of the untrained weights that a test may damage; ``RESTORE_WEIGHTS_DIR`` points at it."""
    folder = tmp_path / "weights"
    shutil.copytree(untrained_weights_dir, folder)
    monkeypatch.setenv("RESTORE_WEIGHTS_DIR", str(folder))
    restore.api._cached_load.cache_clear()
    yield folder
    restore.api._cached_load.cache_clear()


def files(folder):
    stem = get_spec(NAME).weights
    return folder / f"{stem}.safetensors", folder / f"{stem}.json"


def set_card_sha256(card_path, sha256):
    card = json.loads(card_path.read_text())
    card["sha256"] = sha256
    card_path.write_text(json.dumps(card))


def test_weights_dir_follows_the_environment(weights_copy):
    assert weights_dir() == weights_copy


@pytest.mark.parametrize("layout", ["user", "target"])
def test_an_installed_distribution_finds_its_weights_wherever_pip_put_them(layout, tmp_path, monkeypatch):
    # --user: the package in <user base>/lib/site-packages, the weights in <user base>/share, as its file list says;
    # --target: everything moved into the target folder, the file list unchanged
    site = tmp_path / "lib" / "site-packages" if layout == "user" else tmp_path / "target"
    weights = (tmp_path if layout == "user" else site) / "share" / "restore" / "weights"
    weights.mkdir(parents=True)
    listed = [importlib.metadata.PackagePath(p) for p in ("restore/api.py", "../../share/restore/weights/x.json")]
    installed = SimpleNamespace(files=listed, locate_file=lambda path: site / path)
    for path in listed:
        path.dist = installed
    monkeypatch.setattr(importlib.metadata, "distribution", lambda name: installed)
    installed_weights_dir.cache_clear()
    try:
        assert installed_weights_dir() == weights
    finally:
        installed_weights_dir.cache_clear()


def test_intact_copy_loads(weights_copy):
    restorer = restore.load(NAME, device="cpu")
    assert not restorer.network.training


def test_flipped_byte_fails_the_checksum(weights_copy):
    weights, _ = files(weights_copy)
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0x01
    weights.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="sha256") as info:
        restore.load(NAME, device="cpu")
    assert weights.name in str(info.value)
    assert not isinstance(info.value, ValueError)


def test_missing_weights_file(weights_copy):
    weights, _ = files(weights_copy)
    weights.unlink()
    with pytest.raises(WeightsError, match="missing") as info:
        restore.load(NAME, device="cpu")
    assert weights.name in str(info.value)


def test_missing_card(weights_copy):
    _, card = files(weights_copy)
    card.unlink()
    with pytest.raises(WeightsError) as info:
        restore.load(NAME, device="cpu")
    assert card.name in str(info.value)


def test_card_without_sha256(weights_copy):
    _, card_path = files(weights_copy)
    card = json.loads(card_path.read_text())
    del card["sha256"]
    card_path.write_text(json.dumps(card))
    with pytest.raises(WeightsError, match="sha256") as info:
        restore.load(NAME, device="cpu")
    assert card_path.name in str(info.value)


@pytest.mark.parametrize("text", ["{not json", "[]", '"just a string"', '{"sha256": null}', '{"sha256": 12}'])
def test_malformed_card(weights_copy, text):
    _, card_path = files(weights_copy)
    card_path.write_text(text)
    with pytest.raises(WeightsError) as info:
        restore.load(NAME, device="cpu")
    assert card_path.name in str(info.value) or "sha256" in str(info.value)


@pytest.mark.parametrize("text", ["{not json", "[]", '"just a string"'])
def test_a_malformed_card_still_lists_its_model_without_a_card(weights_copy, text, capsys):
    from restore.cli import main

    _, card_path = files(weights_copy)
    card_path.write_text(text)
    listed = {info.name: info for info in restore.models()}
    assert listed[NAME].card is None and listed[NAME].kind == "learned"
    assert main(["models"]) == 0
    (line,) = [line for line in capsys.readouterr().out.splitlines() if line.startswith(NAME + " ")]
    assert "no readable model card" in line


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty"])
def test_invalid_safetensors_with_matching_checksum(weights_copy, damage):
    weights, card_path = files(weights_copy)
    data = weights.read_bytes()
    blob = {"truncated": data[: len(data) // 2], "garbage": b"not a safetensors file" * 8, "empty": b""}[damage]
    weights.write_bytes(blob)
    set_card_sha256(card_path, file_sha256(weights))
    with pytest.raises(WeightsError, match="safetensors") as info:
        restore.load(NAME, device="cpu")
    assert weights.name in str(info.value)


@pytest.mark.parametrize("mismatch", ["wrong architecture", "missing tensor", "extra tensor", "wrong shape"])
def test_state_dict_that_does_not_fit(weights_copy, mismatch):
    spec = get_spec(NAME)
    weights, _ = files(weights_copy)
    if mismatch == "wrong architecture":
        # Color weights under the gray model's name: every first/last layer has the wrong shape.
        export_weights(get_spec("dncnn-color").build(), weights_copy, spec.weights, card={})
    else:
        state = {k: v.float() if v.is_floating_point() else v for k, v in spec.build().state_dict().items()}
        if mismatch == "missing tensor":
            state.pop("tail.weight")
        elif mismatch == "extra tensor":
            state["extra.weight"] = torch.zeros(3)
        else:
            state["head.bias"] = torch.zeros(7)
        save_file(state, str(weights))
        set_card_sha256(files(weights_copy)[1], file_sha256(weights))
    with pytest.raises(WeightsError, match="does not fit") as info:
        restore.load(NAME, device="cpu")
    assert weights.name in str(info.value)


def test_weights_error_is_a_restore_error():
    assert issubclass(WeightsError, restore.RestoreError)


def test_registering_a_duplicate_name_warns():
    original = get_spec("nlmeans")
    try:
        with pytest.warns(UserWarning, match="nlmeans"):
            register(original)
    finally:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            register(original)
    assert get_spec("nlmeans") is original


def test_registering_a_new_name_does_not_warn_and_is_listed():
    from restore import registry

    spec = ModelSpec(
        name="zz-test-identity", task="denoise", summary="identity", channels=(1, 3), classical=lambda image, **_: image
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            register(spec)
        assert spec in list_specs()
        assert list_specs() == sorted(list_specs(), key=lambda s: s.name)
    finally:
        registry._REGISTRY.pop(spec.name, None)


def example_inputs(network: torch.nn.Module) -> tuple[torch.Tensor, ...]:
    """Random inputs (32x32) a network's forward takes."""
    if isinstance(network, KPN):
        planes = network.planes
        return torch.rand(1, network.frames, planes, 32, 32), torch.rand(1, planes, 32, 32)
    if isinstance(network, (InvertibleISP, MultiScaleDeblur)):
        return (torch.rand(1, 3, 32, 32),)
    first_conv = next(m for m in network.modules() if isinstance(m, torch.nn.Conv2d))
    return (torch.rand(1, first_conv.in_channels, 32, 32),)


def test_every_learned_model_loads_its_untrained_weights(untrained_weights):
    for spec in list_specs():
        if spec.build is None:
            continue
        restorer = restore.load(spec.name, device="cpu", tile=None)
        assert restorer.info.card["untrained"] is True
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            reference = spec.build().eval()
            inputs = example_inputs(reference)
        with torch.inference_mode():  # loaded weights == seeded init (batch norm is folded, so compare outputs)
            ours, expected = restorer.network(*inputs), reference(*inputs)
            ours, expected = (ours[0], expected[0]) if isinstance(ours, tuple) else (ours, expected)
            assert torch.allclose(ours, expected, atol=1e-5)


def test_half_precision_weights_load_into_the_float32_network(weights_copy):
    spec, image = get_spec(NAME), torch.rand(1, 1, 24, 24)
    network = spec.build()
    outputs = []
    for dtype in (torch.float32, torch.float16):
        export_weights(network, weights_copy, spec.weights, card={}, dtype=dtype)
        weights, _ = files(weights_copy)
        assert {t.dtype for t in load_file(str(weights)).values() if t.is_floating_point()} == {dtype}
        loaded = restore.load(NAME, device="cpu").network
        assert all(p.dtype == torch.float32 for p in loaded.parameters())
        with torch.no_grad():
            outputs.append(loaded(image))
    difference = (outputs[1] - outputs[0]).abs().max().item()
    assert 0 < difference < 1e-2 * outputs[0].abs().max().item()  # rounded, not lost
