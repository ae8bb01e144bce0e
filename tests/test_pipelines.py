"""Training plumbing on tiny data: packed photos, the checkpoint round trip, schedules and cached banks (the runs of
every pipeline are in test_training_runs)."""

from __future__ import annotations

import subprocess
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from pipelines.array_cache import cached_array, cached_arrays
from pipelines.checkpoint import load_training_state, save_training_state
from pipelines.model_card import git_commit
from pipelines.pack_photos import pack_photos
from pipelines.photos import read_photo, split_photos, validation_tiles
from pipelines.train_dncnn import TrainConfig, learning_rate
from pipelines.training import ResumableRun
from restore.models.dncnn import DnCNN


@pytest.fixture(scope="module")
def photo_folder(photo_folder_factory):
    """Small smooth random photos (72x96), enough that the hash split holds at least one out for validation."""
    return photo_folder_factory(72, 96, 3, 0, 3)


def test_packed_photos_keep_the_split(photo_folder, tmp_path):
    packed = tmp_path / "packed"
    pack = pack_photos(photo_folder, packed, long_side=48)
    assert pack.nbytes == sum(path.stat().st_size for path in packed.rglob("*.webp")) and pack.psnr == {}
    train_photos, validation_photos = split_photos(packed)
    original_train, original_validation = split_photos(photo_folder)
    assert len(train_photos) == len(original_train) and len(validation_photos) == len(original_validation)
    assert all(p.stem.endswith(o.stem) for p, o in zip(validation_photos, original_validation))
    assert max(cv2.imread(str(train_photos[0])).shape[:2]) == 48


def test_validation_tiles_are_every_whole_tile_of_each_held_out_photo(photo_folder):
    photos = split_photos(photo_folder)[1][:1]
    photo = read_photo(photos[0], 1, 96)  # (72, 96, 1)
    tiles = validation_tiles(photos, 1, size=32, long_side=96)
    assert len(tiles) == 2 * 3 and all(tile.shape == (32, 32, 1) and tile.dtype == np.uint8 for tile in tiles)
    np.testing.assert_array_equal(tiles[0], photo[4:36, :32])  # the grid centred: 72 rows hold 2 tiles, 4 rows aside
    np.testing.assert_array_equal(tiles[-1], photo[36:68, 64:96])
    assert validation_tiles(photos, 1, size=80, long_side=96) == []  # no whole tile of a 72 px side


def test_lossy_packing_is_smaller_and_reports_its_distance_to_the_lossless_photos(photo_folder, tmp_path):
    from restore.metrics import psnr

    lossless = pack_photos(photo_folder, tmp_path / "lossless", long_side=96)
    lossy = pack_photos(photo_folder, tmp_path / "lossy", long_side=96, quality=90)
    assert lossy.nbytes < lossless.nbytes
    exact_files, lossy_files = (sorted((tmp_path / name).rglob("*.webp")) for name in ("lossless", "lossy"))
    assert sorted(lossy.psnr) == sorted(lossy.gray_psnr) == sorted(path.name for path in lossy_files)
    for exact, stored in zip(exact_files, lossy_files, strict=True):
        measured = psnr(read_photo(stored, 3, 96), read_photo(exact, 3, 96))
        assert measured > 35 and lossy.psnr[stored.name] == pytest.approx(measured)
        assert lossy.gray_psnr[stored.name] == pytest.approx(psnr(read_photo(stored, 1, 96), read_photo(exact, 1, 96)))
    with pytest.raises(ValueError, match="quality"):
        pack_photos(photo_folder, tmp_path / "bad", long_side=96, quality=0)


def test_the_pack_command_reports_its_pack_and_never_packs_into_a_used_folder(photo_folder, tmp_path, capsys):
    from pipelines.pack_photos import main

    main(["--data", str(photo_folder), "--out", str(tmp_path / "pack"), "--long-side", "32"])
    assert "into " + str(tmp_path / "pack") in capsys.readouterr().out
    packed = {path: path.read_bytes() for path in (tmp_path / "pack").rglob("*.webp")}
    with pytest.raises(SystemExit) as exit_info:
        main(["--data", str(photo_folder), "--out", str(tmp_path / "pack"), "--long-side", "48"])
    assert exit_info.value.code == 2 and "is not an empty folder" in capsys.readouterr().err
    assert {path: path.read_bytes() for path in (tmp_path / "pack").rglob("*.webp")} == packed


def test_the_pack_report_warns_when_the_checkout_and_the_pack_exceed_the_gpu_carry(tmp_path):
    from pipelines.pack_photos import CARRY_LIMIT, Pack, checkout_bytes, describe

    pack = Pack(nbytes=10 * 2**20, psnr={"a.webp": 40.0, "b.webp": 30.0}, gray_psnr={"a.webp": 44.0, "b.webp": 46.0})
    report = "\n".join(describe(pack, tmp_path, checkout=50 * 2**20))
    assert "color: 35.0 dB from the downscaled photos on average, 30.0 at worst (b.webp)" in report
    assert "gray: 45.0 dB from the downscaled photos on average, 44.0 at worst (a.webp)" in report
    assert "60.0 of the GPU machine's 64 MiB, fits" in report
    assert "does not fit" in "\n".join(describe(pack, tmp_path, checkout=CARRY_LIMIT - 2**20))
    assert len(describe(Pack(nbytes=1), tmp_path, checkout=None)) == 1  # outside git: no size check
    assert checkout_bytes(tmp_path) is None  # not a git checkout
    found = checkout_bytes()
    assert found is None or found > (Path(__file__).stat().st_size)


def test_the_recorded_commit_is_git_s_unless_restore_commit_names_it(monkeypatch, tmp_path):
    monkeypatch.delenv("RESTORE_COMMIT", raising=False)
    found = git_commit()
    assert found == "unknown" or len(found.removesuffix("-dirty")) >= 7
    monkeypatch.chdir(tmp_path)  # a command run from outside the checkout records the checkout's commit
    assert git_commit() == found
    monkeypatch.setenv("RESTORE_COMMIT", "5be2f74")
    assert git_commit() == "5be2f74"


def test_the_recorded_commit_is_dirty_for_changed_code_but_not_for_changed_results_or_states(monkeypatch, tmp_path):
    import pipelines.model_card

    def git(*args: str) -> None:
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=tmp_path, check=True)

    (tmp_path / "benchmarks" / "results").mkdir(parents=True)
    (tmp_path / "benchmarks" / "results" / "denoise.md").write_text("old")
    (tmp_path / "weights" / "checkpoints").mkdir(parents=True)
    (tmp_path / "weights" / "checkpoints" / "dncnn-gray.train.safetensors").write_text("old")
    (tmp_path / "code.py").write_text("old")
    git("init", "-q")
    git("add", ".")
    git("commit", "-q", "-m", "first")
    monkeypatch.delenv("RESTORE_COMMIT", raising=False)
    monkeypatch.setattr(pipelines.model_card, "REPO", tmp_path)
    clean = git_commit()
    (tmp_path / "benchmarks" / "results" / "denoise.md").write_text("rerun")
    (tmp_path / "weights" / "checkpoints" / "dncnn-gray.train.safetensors").write_text("resumed")
    (tmp_path / "untracked.py").write_text("new")
    assert git_commit() == clean and not clean.endswith("-dirty")
    (tmp_path / "code.py").write_text("changed")
    assert git_commit() == f"{clean}-dirty"


def test_checkpoint_round_trip_restores_model_and_optimizer(tmp_path):
    torch.manual_seed(0)
    model = DnCNN(1, depth=4, features=8)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    model(torch.rand(2, 1, 8, 8)).mean().backward()
    optimizer.step()
    generator = torch.Generator().manual_seed(3)
    torch.rand(5, generator=generator)
    save_training_state(tmp_path / "state.safetensors", model, optimizer, 7, {"seconds": 1.5}, generator.get_state())

    restored = DnCNN(1, depth=4, features=8)
    restored_optimizer = torch.optim.Adam(restored.parameters(), lr=1e-3)
    step, info, generator_state = load_training_state(tmp_path / "state.safetensors", restored, restored_optimizer)
    assert step == 7 and info == {"seconds": 1.5}
    assert torch.equal(
        torch.rand(3, generator=torch.Generator().set_state(generator_state)), torch.rand(3, generator=generator)
    )
    for a, b in zip(model.state_dict().values(), restored.state_dict().values()):
        assert torch.equal(a, b)
    saved, loaded = optimizer.state_dict()["state"], restored_optimizer.state_dict()["state"]
    assert saved.keys() == loaded.keys()
    for index in saved:
        for name in ("exp_avg", "exp_avg_sq", "step"):
            assert torch.equal(torch.as_tensor(saved[index][name]), torch.as_tensor(loaded[index][name]))


def resumable_run(
    state: Path,
    model: torch.nn.Module,
    optimizer,
    steps: int,
    minutes: float,
    config: dict | None = None,
    checkpoint_minutes: float = 1e9,
) -> ResumableRun:
    """A CPU run of ``model`` with its state in ``state`` and training options ``config`` that saves only when told
    to, or also every ``checkpoint_minutes``."""
    return ResumableRun(
        state,
        model,
        optimizer,
        command="test",
        device=torch.device("cpu"),
        config=config or {},
        steps=steps,
        minutes=minutes,
        checkpoint_minutes=checkpoint_minutes,
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


def test_the_warm_up_spans_a_run_s_first_steps_even_across_a_resume(tmp_path):
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
    fresh.step = 9
    fresh.finish()
    assert new_run().warmup_factor() == pytest.approx(10 / training.WARMUP_STEPS)  # resumed within its warm-up
    run = new_run()
    run.step = training.WARMUP_STEPS - 1
    assert run.warmup_factor() == 1.0


def test_a_leg_cut_short_resumes_with_its_minutes_left_and_a_finished_one_starts_anew(tmp_path, monkeypatch):
    from pipelines import training

    clock = [0.0]
    monkeypatch.setattr(training.time, "monotonic", lambda: clock[0])
    model = DnCNN(1, 3)

    def new_run(minutes: float) -> training.ResumableRun:
        optimizer = torch.optim.Adam(model.parameters())
        return resumable_run(tmp_path / "state.safetensors", model, optimizer, steps=10**6, minutes=minutes)

    first = new_run(10.0)
    first.step = 400
    clock[0] += 240.0  # stopped (a signal) after 4 of its 10 minutes
    first.finish()
    second = new_run(10.0)
    assert second.progress() == pytest.approx(0.4) and second.running()
    clock[0] += 360.0  # its 6 minutes left
    assert second.progress() == 1.0 and not second.running()
    second.step = 700
    second.finish()
    third = new_run(10.0)  # the leg ran its minutes: a new one, annealing again
    assert third.progress() == pytest.approx(700 / 10**6) and third.running()
    third.step = 800
    clock[0] += 120.0
    third.finish()  # cut short after 2 of its 10 minutes
    assert new_run(10.0).progress() == pytest.approx(0.2)  # the same minutes: its leg goes on
    fourth = new_run(30.0)  # other minutes: a new leg rather than 2 minutes counted against 30
    assert fourth.progress() == pytest.approx(800 / 10**6) and fourth.running()


def test_a_checkpoint_falls_due_by_the_clock_and_a_killed_run_resumes_from_it(tmp_path, monkeypatch):
    from pipelines import training

    clock = [0.0]
    monkeypatch.setattr(training.time, "monotonic", lambda: clock[0])
    model = DnCNN(1, 3)
    noisy, clean = torch.rand(2, 1, 16, 16), torch.rand(2, 1, 16, 16)
    state = tmp_path / "state.safetensors"
    run = resumable_run(state, model, torch.optim.Adam(model.parameters()), 100, float("inf"), checkpoint_minutes=5.0)
    run.optimize(1e-3, lambda: torch.nn.functional.mse_loss(model(noisy), clean))
    assert not state.exists()  # not due yet
    clock[0] += 301.0
    run.optimize(1e-3, lambda: torch.nn.functional.mse_loss(model(noisy), clean))
    assert state.is_file()
    weights = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    run.optimize(1e-3, lambda: torch.nn.functional.mse_loss(model(noisy), clean))  # lost: the process dies here
    monkeypatch.setattr(training.ResumableRun, "active", None)
    resumed_model = DnCNN(1, 3)
    resumed = resumable_run(state, resumed_model, torch.optim.Adam(resumed_model.parameters()), 100, float("inf"))
    assert resumed.step == 2
    assert all(torch.equal(resumed_model.state_dict()[name], tensor) for name, tensor in weights.items())
    resumed.finish()


def test_a_resumed_run_names_the_training_options_changed_since_its_state(tmp_path, capsys):
    model = DnCNN(1, 3)

    def new_run(config: dict) -> ResumableRun:
        optimizer = torch.optim.Adam(model.parameters())
        run = resumable_run(tmp_path / "state.safetensors", model, optimizer, 10, float("inf"), config)
        run.step += 1
        run.finish()
        return run

    new_run({"patch": 40, "sharp": 0.1, "minutes": 5, "steps": 10})
    optimizer = torch.optim.Adam(model.parameters())
    export_only = resumable_run(tmp_path / "state.safetensors", model, optimizer, 10, 0.0, {"patch": 40, "sharp": 0.5})
    assert export_only.record()["config"]["sharp"] == "0.1"  # it trained nothing: the card keeps the last options
    capsys.readouterr()
    assert new_run({"patch": 40, "sharp": 0.0, "minutes": 9, "steps": 10}).record()["config"]["sharp"] == "0.0"
    assert "options changed since the state's last session: sharp 0.1 -> 0.0\n" in capsys.readouterr().out
