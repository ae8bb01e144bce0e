"""Every training pipeline on tiny synthetic photos: a short run exports weights and a card, and a second run resumes
where the first stopped (steps and sessions continue)."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

import restore
import restore.api
from pipelines import train_deblur, train_dncnn, train_invisp, train_kpn, train_lowlight
from pipelines.training import ResumableRun, TrainingSetupError

CONFIGS = {
    "dncnn": (train_dncnn, {"name": "dncnn-gray", "batch": 2, "patch": 16}),
    "lowlight": (train_lowlight, {"batch": 2, "patch": 64, "features": 4}),
    "invisp": (train_invisp, {"batch": 2, "patch": 32, "blocks": 2, "hidden": 4}),
    "kpn": (train_kpn, {"batch": 1, "size": 16, "widths": (4, 8)}),
    "kpn-prealign": (train_kpn, {"batch": 1, "size": 16, "widths": (4, 8), "prealign": True}),
    "deblur": (train_deblur, {"batch": 2, "patch": 32, "features": 4, "blocks": 1, "kernels": 8, "nonuniform": 0.5}),
}


def read_card(path) -> dict:
    """The card at ``path``, parsed as strict JSON (NaN or Infinity, which ``json`` writes unasked, fail)."""

    def reject(constant: str):
        raise ValueError(f"{path.name} holds {constant}, which is not JSON")

    return json.loads(path.read_text(), parse_constant=reject)


def tiny_config(module, overrides: dict, photos, tmp_path, **changes):
    """``module``'s TrainConfig with the tiny ``overrides`` (a ``CONFIGS`` entry) on ``photos``, one CPU thread,
    weights and caches under ``tmp_path``, then ``changes``."""
    defaults = {"data": photos, "threads": 1, "weights_dir": tmp_path / "weights", "cache_dir": tmp_path / "cache"}
    return module.TrainConfig(**{**defaults, **overrides, **changes})


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_training_exports_and_resumes(name, training_photos, tmp_path):
    module, overrides = CONFIGS[name]
    base = tiny_config(module, overrides, training_photos, tmp_path)
    first = read_card(module.train(replace(base, steps=2), command="first"))
    assert first["training"]["steps_done"] == 2 and first["training"]["complete"]
    assert first["validation"] and len(first["sha256"]) == 64
    card = read_card(module.train(replace(base, steps=3), command="second"))
    sessions = [(s["command"], s["start_step"], s["end_step"]) for s in card["training"]["sessions"]]
    assert card["training"]["steps_done"] == 3 and sessions == [("first", 0, 2), ("second", 2, 3)]
    assert (tmp_path / "weights" / card["weights"]).is_file()


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_a_run_stopped_and_resumed_trains_exactly_as_one_run(name, training_photos, tmp_path, monkeypatch):
    from safetensors.torch import load_file

    module, overrides = CONFIGS[name]
    base = tiny_config(module, overrides, training_photos, tmp_path, steps=4)
    straight = module.train(replace(base, weights_dir=tmp_path / "straight"), command="straight")
    advance = ResumableRun.advance

    def advance_then_stop(run: ResumableRun) -> None:  # as a stop signal (ResumableRun.stop_active) after step 2
        advance(run)
        run.stop_requested = run.step == 2

    with monkeypatch.context() as patch:
        patch.setattr(ResumableRun, "advance", advance_then_stop)
        module.train(replace(base, weights_dir=tmp_path / "resumed"), command="stopped")
    resumed = module.train(replace(base, weights_dir=tmp_path / "resumed"), command="resumed")
    assert json.loads(resumed.read_text())["training"]["sessions"][0]["end_step"] == 2
    expected, got = load_file(straight.with_suffix(".safetensors")), load_file(resumed.with_suffix(".safetensors"))
    assert all(torch.equal(expected[key], got[key]) for key in expected)  # same batches, rates and warm-up


REGISTERED_SIZES = {"lowlight": {"features": train_lowlight.TrainConfig.features}}  # as the registry builds them


@pytest.mark.parametrize("name, model", [("lowlight", "lowlight-raw"), ("dncnn", "dncnn-gray")])
def test_exported_weights_load_through_the_registry(name, model, training_photos, tmp_path, monkeypatch):
    module, overrides = CONFIGS[name]
    cfg = tiny_config(module, overrides, training_photos, tmp_path, steps=1, **REGISTERED_SIZES.get(name, {}))
    module.train(cfg, command="one step")
    monkeypatch.setenv("RESTORE_WEIGHTS_DIR", str(tmp_path / "weights"))
    restore.api._cached_load.cache_clear()
    loaded = restore.load(model, device="cpu")
    assert loaded.info.card["training"]["steps_done"] == 1
    restore.api._cached_load.cache_clear()


@pytest.mark.parametrize("name", ["deblur", "dncnn"])
def test_a_new_run_starts_from_exported_weights_and_says_so(name, training_photos, tmp_path):
    from safetensors.torch import load_file

    module, overrides = CONFIGS[name]
    base = tiny_config(module, overrides, training_photos, tmp_path)
    first = module.train(replace(base, steps=2, weights_dir=tmp_path / "a"), command="first")
    weights = first.with_suffix(".safetensors")
    card = json.loads(
        module.train(replace(base, steps=0, init=weights, weights_dir=tmp_path / "b"), "second").read_text()
    )
    assert card["training"]["initialized_from"].startswith(f"{weights.name} (sha256 ")
    (parent,) = card["training"]["lineage"]  # the first run's history, read from its card
    assert (parent["weights"], parent["steps_done"]) == (weights.name, 2)
    assert [s["command"] for s in parent["sessions"]] == ["first"]
    assert card["training"]["steps_including_lineage"] == 2
    exported = load_file(tmp_path / "b" / card["weights"])
    assert all(np.array_equal(exported[k], v) for k, v in load_file(weights).items())
    assert card["validation"] == json.loads(first.read_text())["validation"]  # steps 0 validates the --init weights


def test_kpn_per_frame_terms_anneal_on_from_the_init_weights_steps(training_photos, tmp_path, monkeypatch):
    """A run from --init goes on annealing the per-frame loss terms where its weights left them: restarted at full
    weight, they pulled the shipped kpn-burst 1.1-2.0 dB down in its first 80 steps."""
    module, overrides = CONFIGS["kpn"]
    base = tiny_config(module, overrides, training_photos, tmp_path)
    weights = module.train(replace(base, steps=2, weights_dir=tmp_path / "a"), command="first").with_suffix(
        ".safetensors"
    )
    annealed_steps, loss_function = [], module.loss_function

    def recording_loss(model, burst, step, anneal):
        annealed_steps.append(step)
        return loss_function(model, burst, step, anneal)

    monkeypatch.setattr(module, "loss_function", recording_loss)
    module.train(replace(base, steps=3, init=weights, weights_dir=tmp_path / "b"), command="second")
    assert annealed_steps == [2, 3, 4]


def test_export_only_writes_no_new_session(training_photos, tmp_path):
    module, overrides = CONFIGS["dncnn"]
    base = tiny_config(module, overrides, training_photos, tmp_path, steps=2)
    module.train(base, command="train")
    card = json.loads(module.train(replace(base, minutes=0), command="export").read_text())
    assert [s["command"] for s in card["training"]["sessions"]] == ["train"]
    assert set(card["validation"]["psnr"]) == {"sigma15", "sigma25", "sigma50"}


def test_dncnn_trains_on_patches_larger_than_the_default_bank(training_photos, tmp_path):
    module, overrides = CONFIGS["dncnn"]
    card = read_card(module.train(tiny_config(module, overrides, training_photos, tmp_path, steps=1, patch=72), "big"))
    assert card["training"]["steps_done"] == 1
    (bank,) = (tmp_path / "cache").glob("patches_*.npy")
    assert np.load(bank, mmap_mode="r").shape[-2:] == (82, 82)  # 10 px of crop freedom around each patch


def test_dncnn_patches_larger_than_every_photo_are_refused_clearly(training_photos, tmp_path):
    module, overrides = CONFIGS["dncnn"]
    with pytest.raises(TrainingSetupError, match="--patch"):
        module.train(tiny_config(module, overrides, training_photos, tmp_path, steps=1, patch=500), "too big")


@pytest.mark.parametrize("frozen", [False, True])
def test_frozen_batch_norm_keeps_its_statistics_while_the_weights_learn(frozen, training_photos, tmp_path):
    from safetensors.torch import load_file

    module, overrides = CONFIGS["dncnn"]
    first = read_card(module.train(tiny_config(module, overrides, training_photos, tmp_path, steps=1), "first"))
    before = load_file(tmp_path / "weights" / first["weights"])
    cfg = tiny_config(module, overrides, training_photos, tmp_path, steps=3, frozen_batch_norm=frozen)
    after = load_file(tmp_path / "weights" / read_card(module.train(cfg, "second"))["weights"])
    changed = {name for name in before if not torch.equal(before[name], after[name])}
    statistics = {name for name in before if name.endswith(("running_mean", "running_var"))}
    assert statistics and changed - statistics  # the convolutions and batch-norm scales learn either way
    assert statistics.isdisjoint(changed) == frozen


def test_frozen_batch_norm_without_batch_norm_is_refused(training_photos, tmp_path):
    module, overrides = CONFIGS["dncnn"]
    cfg = tiny_config(module, overrides, training_photos, tmp_path, name="dncnn-color", frozen_batch_norm=True)
    with pytest.raises(TrainingSetupError, match="no batch norm"):
        module.train(cfg, "color")


def test_bfloat16_training_steps_learn_and_export_float32_weights(training_photos, tmp_path):
    from safetensors.torch import load_file

    module, overrides = CONFIGS["deblur"]
    cfg = tiny_config(module, overrides, training_photos, tmp_path, steps=3, precision="bfloat16")
    card = json.loads(module.train(cfg, command="bf16").read_text())
    assert card["training"]["config"]["precision"] == "bfloat16" and card["training"]["steps_done"] == 3
    tensors = load_file(tmp_path / "weights" / card["weights"])
    assert all(t.dtype == torch.float32 and torch.isfinite(t).all() for t in tensors.values())


@pytest.mark.parametrize("name", ["dncnn", "kpn", "lowlight"])
def test_float16_export_stores_half_the_bytes_and_validates_what_it_stores(name, training_photos, tmp_path):
    from safetensors.torch import load_file

    module, overrides = CONFIGS[name]
    cfg = tiny_config(module, overrides, training_photos, tmp_path, steps=2, weights_dtype="float16")
    card = read_card(module.train(cfg, command="half"))
    tensors = load_file(tmp_path / "weights" / card["weights"])
    assert {t.dtype for t in tensors.values() if t.is_floating_point()} == {torch.float16}
    state = load_file(tmp_path / "weights" / "checkpoints" / f"{card['name']}.train.safetensors")
    assert any(t.dtype == torch.float32 for t in state.values())  # training goes on in float32
    again = read_card(  # --steps 0 from the exported weights: the same validation, so it measured those
        module.train(
            replace(cfg, steps=0, init=tmp_path / "weights" / card["weights"], weights_dir=tmp_path / "b"), "0"
        )
    )
    assert again["validation"] == card["validation"]
    exported = read_card(module.train(replace(cfg, minutes=0, weights_dtype="float32"), "export"))  # from the state
    assert exported["training"]["config"]["weights_dtype"] == "float32" and exported["training"]["steps_done"] == 2


@pytest.mark.parametrize("precision, dtype", [("bfloat16", torch.bfloat16), ("float32", torch.float32)])
def test_mixed_precision_sets_the_dtype_of_convolutions(precision, dtype):
    from pipelines.training import mixed_precision

    conv = torch.nn.Conv2d(1, 2, 3)
    with mixed_precision(torch.device("cpu"), precision):
        assert conv(torch.rand(1, 1, 8, 8)).dtype == dtype


@pytest.mark.parametrize("native", [False, True])
def test_bfloat16_training_on_a_cpu_without_it_warns(tmp_path, monkeypatch, recwarn, native):
    import pipelines.training
    from pipelines.training import RunConfig, start_run

    monkeypatch.setattr(pipelines.training, "native_bfloat16", lambda device: native)
    assert start_run(RunConfig(precision="bfloat16", weights_dir=tmp_path), "dncnn-gray").type == "cpu"
    start_run(RunConfig(precision="auto", weights_dir=tmp_path), "dncnn-gray")
    slow = [w for w in recwarn if issubclass(w.category, restore.PerformanceWarning)]
    assert len(slow) == (0 if native else 1)
    assert all("no native bfloat16" in str(w.message) for w in slow)


def test_an_unknown_precision_is_refused():
    from pipelines.training import mixed_precision

    with pytest.raises(ValueError, match="precision"):
        mixed_precision(torch.device("cpu"), "fp8")


def test_kpn_training_on_photos_too_small_for_a_crop_says_so(photo_folder_factory, tmp_path):
    module, overrides = CONFIGS["kpn"]
    cfg = tiny_config(module, overrides, photo_folder_factory(40, 48, 4, 3, 2), tmp_path, steps=1)
    with pytest.raises(TrainingSetupError, match=r"holds a \d+ px crop \(--size 16\)"):
        module.train(cfg, command="too small")


@pytest.fixture(scope="module")
def awkward_photos(training_photos, tmp_path_factory):
    """The training photos plus what a real folder may hold: a 12x12 photo held out for validation (its name hashes
    there), a 1x200 sliver, a folder and a broken link named like photos."""
    import shutil

    import cv2

    folder = tmp_path_factory.mktemp("awkward")
    for photo in sorted(training_photos.iterdir()):
        shutil.copy(photo, folder / photo.name)
    cv2.imwrite(str(folder / "tiny38.png"), np.full((12, 12, 3), 128, np.uint8))
    cv2.imwrite(str(folder / "sliver.png"), np.full((1, 200, 3), 90, np.uint8))
    (folder / "album.jpg").mkdir()
    (folder / "gone.jpg").symlink_to(folder / "missing.jpg")
    return folder


@pytest.mark.parametrize("name", ["deblur", "invisp", "dncnn", "kpn"])
def test_training_runs_past_tiny_photos_folders_and_broken_links(name, awkward_photos, tmp_path):
    from pipelines.photos import split_photos

    train_photos, held_out = split_photos(awkward_photos)
    assert "tiny38.png" in {p.name for p in held_out} and "sliver.png" in {p.name for p in train_photos}
    assert not {"album.jpg", "gone.jpg"} & {p.name for p in train_photos + held_out}
    module, overrides = CONFIGS[name]
    card = read_card(module.train(tiny_config(module, overrides, awkward_photos, tmp_path, steps=1), command="x"))
    assert card["training"]["steps_done"] == 1


def test_an_empty_validation_folder_of_a_pack_holds_none_out(training_photos, tmp_path):
    import shutil

    from pipelines.photos import split_photos

    shutil.copytree(training_photos, tmp_path / "train")
    (tmp_path / "validation").mkdir()
    train_photos, held_out = split_photos(tmp_path)
    assert len(train_photos) == len(list(training_photos.iterdir())) and held_out == []


def test_deblur_training_kernels_do_not_follow_the_batch_seed(training_photos, tmp_path):
    module, overrides = CONFIGS["deblur"]
    module.train(tiny_config(module, overrides, training_photos, tmp_path, steps=1, seed=10_000), command="x")
    names = sorted(p.name for p in (tmp_path / "cache").glob("motion_kernels_*"))
    assert names == [f"motion_kernels_{overrides['kernels']}_{module.TRAINING_KERNEL_SEED}.npy"]
