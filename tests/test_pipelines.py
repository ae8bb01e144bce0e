"""The DnCNN training pipeline on tiny synthetic photos: export, card, resume, and the checkpoint round trip."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from safetensors.torch import load_file

import restore
import restore.api
from pipelines.array_cache import cached_array, cached_arrays
from pipelines.checkpoint import load_training_state, save_training_state
from pipelines.pack_photos import pack_photos
from pipelines.photos import split_photos
from pipelines.train_dncnn import TrainConfig, learning_rate, train
from pipelines.training import ResumableRun
from restore.models.dncnn import DnCNN


@pytest.fixture(scope="module")
def photo_folder(photo_folder_factory):
    """Small smooth random photos (72x96), enough that the hash split holds at least one out for validation."""
    return photo_folder_factory(72, 96, 3, 0, 3)


def tiny_config(photo_folder, tmp_path, steps: int) -> TrainConfig:
    return TrainConfig(
        name="dncnn-gray",
        data=photo_folder,
        steps=steps,
        batch=2,
        patch=16,
        threads=1,
        weights_dir=tmp_path / "weights",
        cache_dir=tmp_path / "cache",
    )


def test_training_exports_loadable_weights_and_resumes(photo_folder, tmp_path, monkeypatch):
    card_path = train(tiny_config(photo_folder, tmp_path, steps=3), command="first")
    card = json.loads(card_path.read_text())
    assert card["training"]["steps_done"] == 3 and card["training"]["complete"]
    assert set(card["validation"]["psnr"]) == {"sigma15", "sigma25", "sigma50"}

    card_path = train(tiny_config(photo_folder, tmp_path, steps=5), command="second")
    card = json.loads(card_path.read_text())
    sessions = card["training"]["sessions"]
    assert card["training"]["steps_done"] == 5
    assert [(s["command"], s["start_step"], s["end_step"]) for s in sessions] == [("first", 0, 3), ("second", 3, 5)]

    monkeypatch.setenv("RESTORE_WEIGHTS_DIR", str(tmp_path / "weights"))
    restore.api._cached_load.cache_clear()
    out = restore.load("dncnn-gray", device="cpu")(np.full((20, 24), 0.5, np.float32))
    assert out.shape == (20, 24) and np.isfinite(out).all()
    restore.api._cached_load.cache_clear()


def test_a_new_run_can_start_from_exported_weights(photo_folder, tmp_path):
    init = train(tiny_config(photo_folder, tmp_path / "first", steps=2), command="first").with_suffix(".safetensors")
    cfg = replace(tiny_config(photo_folder, tmp_path / "second", steps=2), init=init, minutes=0)
    card = json.loads(train(cfg, command="second").read_text())
    assert card["training"]["initialized_from"].startswith("dncnn-gray.safetensors (sha256 ")
    exported, started_from = load_file(tmp_path / "second" / "weights" / "dncnn-gray.safetensors"), load_file(init)
    assert exported.keys() == started_from.keys()
    assert all(torch.equal(exported[k], started_from[k]) for k in exported)


def test_packed_photos_keep_the_split(photo_folder, tmp_path):
    packed = tmp_path / "packed"
    assert pack_photos(photo_folder, packed, long_side=48) > 0
    train_photos, validation_photos = split_photos(packed)
    original_train, original_validation = split_photos(photo_folder)
    assert len(train_photos) == len(original_train) and len(validation_photos) == len(original_validation)
    assert all(p.stem.endswith(o.stem) for p, o in zip(validation_photos, original_validation))
    assert max(cv2.imread(str(train_photos[0])).shape[:2]) == 48


def test_export_only_writes_no_new_session(photo_folder, tmp_path):
    train(tiny_config(photo_folder, tmp_path, steps=2), command="train")
    card_path = train(replace(tiny_config(photo_folder, tmp_path, steps=2), minutes=0), command="export")
    assert [s["command"] for s in json.loads(card_path.read_text())["training"]["sessions"]] == ["train"]


def test_checkpoint_round_trip_restores_model_and_optimizer(tmp_path):
    torch.manual_seed(0)
    model = DnCNN(1, depth=4, features=8)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    model(torch.rand(2, 1, 8, 8)).mean().backward()
    optimizer.step()
    save_training_state(tmp_path / "state.safetensors", model, optimizer, 7, {"seconds": 1.5})

    restored = DnCNN(1, depth=4, features=8)
    restored_optimizer = torch.optim.Adam(restored.parameters(), lr=1e-3)
    step, info = load_training_state(tmp_path / "state.safetensors", restored, restored_optimizer)
    assert step == 7 and info == {"seconds": 1.5}
    for a, b in zip(model.state_dict().values(), restored.state_dict().values()):
        assert torch.equal(a, b)
    saved, loaded = optimizer.state_dict()["state"], restored_optimizer.state_dict()["state"]
    assert saved.keys() == loaded.keys()
    for index in saved:
        for name in ("exp_avg", "exp_avg_sq", "step"):
            assert torch.equal(torch.as_tensor(saved[index][name]), torch.as_tensor(loaded[index][name]))


def resumable_run(state: Path, model: torch.nn.Module, optimizer, steps: int, minutes: float) -> ResumableRun:
    """A CPU run of ``model`` with its state in ``state`` that saves only when told to."""
    return ResumableRun(
        state,
        model,
        optimizer,
        command="test",
        device=torch.device("cpu"),
        config={},
        steps=steps,
        minutes=minutes,
        checkpoint_minutes=1e9,
    )


def test_learning_rate_decays_from_the_recipe_peak():
    cfg = TrainConfig(name="dncnn-color", steps=100)
    assert learning_rate(cfg, 0.0) == pytest.approx(3e-4)
    assert learning_rate(cfg, 0.5) == pytest.approx(0.5 * (3e-4 + 3e-6))
    assert learning_rate(cfg, 1.0) == learning_rate(cfg, 2.0) == pytest.approx(3e-6)
    assert learning_rate(replace(cfg, lr=1e-3), 0.0) == pytest.approx(1e-3)


def test_schedule_progress_follows_steps_or_time_whichever_is_further(tmp_path, monkeypatch):
    from pipelines import training

    clock = [1000.0]
    monkeypatch.setattr(training.time, "monotonic", lambda: clock[0])
    model = DnCNN(1, 3)
    optimizer = torch.optim.Adam(model.parameters())

    def new_run(minutes: float) -> training.ResumableRun:
        return resumable_run(tmp_path / f"state-{minutes}.safetensors", model, optimizer, steps=100, minutes=minutes)

    by_steps = new_run(float("inf"))
    by_steps.step = 25
    clock[0] += 3600.0
    assert by_steps.progress() == pytest.approx(0.25)
    timed = new_run(10.0)
    timed.step = 25
    clock[0] += 300.0  # half of its 10 minutes
    assert timed.progress() == pytest.approx(0.5) and timed.running()
    clock[0] += 300.0
    assert timed.progress() == 1.0 and not timed.running()
    timed.step = 100
    assert timed.progress() == 1.0


def test_a_cached_bank_is_built_once_and_read_back_equal(tmp_path):
    calls = []

    def build_patches():
        calls.append("patches")
        return np.arange(24, dtype=np.uint8).reshape(2, 3, 4)

    def build_pairs():
        calls.append("pairs")
        return {"raw": np.ones((2, 4), np.uint16), "srgb": np.zeros((2, 4, 3), np.uint8)}

    first = cached_array(tmp_path / "banks" / "patches.npy", build_patches)
    again = cached_array(tmp_path / "banks" / "patches.npy", build_patches)
    pairs = cached_arrays(tmp_path / "pairs.npz", build_pairs)
    pairs_again = cached_arrays(tmp_path / "pairs.npz", build_pairs)
    assert calls == ["patches", "pairs"]
    np.testing.assert_array_equal(again, first)
    assert again.dtype == np.uint8
    assert pairs_again.keys() == pairs.keys()
    for name in pairs:
        np.testing.assert_array_equal(pairs_again[name], pairs[name])
        assert pairs_again[name].dtype == pairs[name].dtype
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["banks", "pairs.npz", "patches.npy"]  # no temporaries


def test_a_fresh_optimizer_warms_up_and_a_resumed_one_does_not(tmp_path):
    from pipelines import training

    model = DnCNN(1, 3)

    def new_run() -> training.ResumableRun:
        optimizer = torch.optim.Adam(model.parameters())
        return resumable_run(tmp_path / "state.safetensors", model, optimizer, steps=1000, minutes=float("inf"))

    fresh = new_run()
    assert fresh.warmup_factor() == pytest.approx(1 / training.WARMUP_STEPS)
    noisy, clean = torch.rand(2, 1, 16, 16), torch.rand(2, 1, 16, 16)
    fresh.optimize(1e-3, lambda: torch.nn.functional.mse_loss(model(noisy), clean))
    assert fresh.optimizer.param_groups[0]["lr"] == pytest.approx(1e-3 / training.WARMUP_STEPS)
    fresh.step = training.WARMUP_STEPS - 1
    assert fresh.warmup_factor() == 1.0
    fresh.finish()
    assert new_run().warmup_factor() == 1.0  # resumed from the saved state, with its Adam moments
