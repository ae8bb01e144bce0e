"""What the training commands refuse or survive: runs that would lose work or export an untrained network, states
of another model, bad arguments, unreadable and changed photos, missing or odd-sized validation photos, Ctrl-C."""

from __future__ import annotations

import json
import shutil
import signal
from dataclasses import replace

import cv2
import numpy as np
import pytest
import torch

from pipelines import train_deblur, train_dncnn, train_invisp, train_kpn, train_lowlight
from pipelines.pack_photos import pack_photos
from pipelines.photos import BadPhotoWarning, BankSpec, cached_patch_bank, list_photos, split_photos
from pipelines.training import ResumableRun, TrainingSetupError

DNCNN = {"name": "dncnn-gray-25", "batch": 2, "patch": 16, "threads": 1}


def config(module, photos, tmp_path, **changes):
    """A tiny one-thread CPU config of ``module`` on ``photos`` writing under ``tmp_path``."""
    defaults = {"data": photos, "weights_dir": tmp_path / "weights", "cache_dir": tmp_path / "cache", "threads": 1}
    return module.TrainConfig(**{**defaults, **changes})


def copy_photos(training_photos, folder):
    shutil.copytree(training_photos, folder)
    return folder


def test_nothing_to_train_and_no_state_is_refused_before_reading_photos(tmp_path):
    for limit in ({"minutes": 0}, {"steps": 0}):
        cfg = config(train_dncnn, tmp_path / "no-photos", tmp_path, **DNCNN, **limit)
        with pytest.raises(TrainingSetupError, match="nothing to validate or export"):
            train_dncnn.train(cfg, "export")
    assert not (tmp_path / "weights").exists()


def test_init_beside_an_existing_state_is_refused(training_photos, tmp_path):
    cfg = config(train_dncnn, training_photos, tmp_path, **DNCNN, steps=1)
    card = train_dncnn.train(cfg, "first")
    weights = card.with_suffix(".safetensors")
    with pytest.raises(TrainingSetupError, match="would be resumed, ignoring --init"):
        train_dncnn.train(replace(cfg, steps=2, init=weights), "second")
    with pytest.raises(TrainingSetupError, match="no such weights file"):
        train_dncnn.train(replace(cfg, state=tmp_path / "new.train.safetensors", init=tmp_path / "none"), "third")


def test_a_state_of_another_model_or_architecture_is_refused(training_photos, tmp_path):
    cfg = config(train_dncnn, training_photos, tmp_path, **DNCNN, steps=1)
    train_dncnn.train(cfg, "gray-25")
    state = tmp_path / "weights" / "checkpoints" / "dncnn-gray-25.train.safetensors"
    with pytest.raises(TrainingSetupError, match="is dncnn-gray-25's, not dncnn-gray-15's"):
        train_dncnn.train(replace(cfg, name="dncnn-gray-15", state=state, steps=2), "gray-15")

    kpn = config(train_kpn, training_photos, tmp_path, batch=1, size=16, widths=(4, 8), steps=1)
    train_kpn.train(kpn, "narrow")
    shutil.rmtree(tmp_path / "cache")
    with pytest.raises(TrainingSetupError, match="holds another architecture"):
        train_kpn.train(replace(kpn, widths=(4, 8, 16), steps=2), "wider")
    assert not (tmp_path / "cache").exists(), "refused before a photo was read"


def test_a_file_that_is_not_a_training_state_or_not_such_weights_is_refused(training_photos, tmp_path):
    cfg = config(train_dncnn, training_photos, tmp_path, **DNCNN, steps=1)
    weights = train_dncnn.train(cfg, "first").with_suffix(".safetensors")
    truncated = tmp_path / "truncated.train.safetensors"
    truncated.write_bytes(weights.read_bytes()[:100])
    for state in (weights, truncated):  # --state given the weights, as if for --init; a file cut short
        with pytest.raises(TrainingSetupError, match="is not a training state"):
            train_dncnn.train(replace(cfg, state=state, steps=2), "resume")
    color = train_dncnn.train(replace(cfg, name="dncnn-color", state=tmp_path / "color.train.safetensors"), "color")
    with pytest.raises(TrainingSetupError, match="is not weights of this network"):
        train_dncnn.train(
            replace(cfg, state=tmp_path / "new.train.safetensors", init=color.with_suffix(".safetensors")), "x"
        )


def test_an_unregistered_architecture_is_not_exported_where_restore_loads_from(training_photos, tmp_path, monkeypatch):
    monkeypatch.setenv("RESTORE_WEIGHTS_DIR", str(tmp_path / "weights"))
    cfg = config(train_kpn, training_photos, tmp_path, batch=1, size=16, widths=(4, 8), steps=1)
    with pytest.raises(TrainingSetupError, match="not the registered architecture"):
        train_kpn.train(cfg, "narrow")
    assert not (tmp_path / "weights" / "kpn-burst.safetensors").exists()
    assert not (tmp_path / "cache").exists(), "refused before a photo was read"


def test_an_experiment_that_restore_does_not_load_may_be_exported_beside_the_registered_weights(
    training_photos, tmp_path, monkeypatch
):
    monkeypatch.setenv("RESTORE_WEIGHTS_DIR", str(tmp_path / "weights"))
    cfg = config(train_deblur, training_photos, tmp_path, shared=True, batch=1, patch=32, kernels=8, steps=1)
    assert train_deblur.train(cfg, "srn").name == "deblur-srn.json"


def test_time_limits_may_be_endless(capsys):
    cfg = train_dncnn.parse_args(["dncnn-gray-25", "--minutes", "inf", "--checkpoint-minutes", "inf"])
    assert cfg.minutes == cfg.checkpoint_minutes == float("inf")


@pytest.mark.parametrize(
    "module, argv, complaint",
    [
        (train_dncnn, ["dncnn-gray-25", "--batch", "0"], "--batch: 0 is not 1 or more"),
        (train_dncnn, ["dncnn-gray-25", "--steps", "-1"], "--steps: -1 is not 0 or more"),
        (train_dncnn, ["dncnn-gray-25", "--minutes", "-1"], "--minutes: -1 is not 0 or more"),
        (train_dncnn, ["dncnn-gray-25", "--lr", "0"], "--lr: 0 is not above 0"),
        (train_dncnn, ["dncnn-gray-25", "--lr", "inf"], "--lr: inf is not a finite number"),
        (train_dncnn, ["dncnn-gray-25", "--lr", "nan"], "--lr: nan is not above 0"),
        (train_dncnn, ["dncnn-gray-25", "--threads", "-1"], "--threads"),
        (train_dncnn, ["dncnn-gray-25", "--device", "gpu"], "not a torch device"),
        (train_dncnn, ["dncnn-gray-25", "--checkpoint-minutes", "0"], "--checkpoint-minutes"),
        (train_dncnn, ["dncnn-gray-25", "--patch", "0"], "--patch"),
        (train_kpn, ["--anneal", "2"], "--anneal: 2 is not 0 or more and at most 1"),
        (train_kpn, ["--max-shift", "-1"], "--max-shift: -1 is not 0 or more"),
        (train_kpn, ["--max-shift", "100"], "max_shift (100) cannot exceed outlier_shift"),
        (train_kpn, ["--widths", "0", "8"], "--widths: 0 is not 1 or more"),
        (train_kpn, ["--size", "0"], "--size: 0 is not 16 or more"),
        (train_kpn, ["--size", "24"], "--size: 24 is not a multiple of 16"),
        (train_deblur, ["--kernels", "0"], "--kernels: 0 is not 1 or more"),
        (train_deblur, ["--patch", "18"], "--patch: 18 is not a multiple of 4 (the pyramid halves it twice)"),
        (train_deblur, ["--patch", "12"], "--patch: 12 is not in 16..128"),
        (train_lowlight, ["--patch", "48"], "--patch: 48 is not a multiple of 32"),
        (train_lowlight, ["--patch", "160"], "--patch: 160 is not in 32..128"),
        (train_invisp, ["--patch", "24"], "--patch: 24 is not a multiple of 16 (the JPEG simulator works on 16x16"),
        (train_invisp, ["--patch", "144"], "--patch: 144 is not in 16..128"),
    ],
)
def test_bad_arguments_are_usage_errors(module, argv, complaint, capsys):
    with pytest.raises(SystemExit) as exit_info:
        module.parse_args(argv)
    assert exit_info.value.code == 2 and complaint in capsys.readouterr().err


def test_the_command_prints_a_setup_error_as_one_line(tmp_path, capsys):
    argv = ["dncnn-gray-25", "--minutes", "0", "--data", str(tmp_path), "--weights-dir", str(tmp_path / "w")]
    with pytest.raises(SystemExit) as exit_info:
        train_dncnn.main(argv)
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.startswith("train_dncnn: error: no training state at ")


def test_the_command_puts_the_signal_handlers_back(tmp_path):
    before = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    argv = ["dncnn-gray-25", "--minutes", "0", "--data", str(tmp_path), "--weights-dir", str(tmp_path / "w")]
    with pytest.raises(SystemExit):
        train_dncnn.main(argv)
    assert {number: signal.getsignal(number) for number in before} == before


def test_unreadable_photos_are_skipped_with_a_warning(training_photos, tmp_path):
    photos = copy_photos(training_photos, tmp_path / "photos")
    (photos / "zz_broken.jpg").write_bytes(b"not a jpeg")
    cfg = config(train_dncnn, photos, tmp_path, **DNCNN, steps=1)
    with pytest.warns(BadPhotoWarning, match="zz_broken.jpg"):
        card = json.loads(train_dncnn.train(cfg, "one step").read_text())
    assert card["training"]["steps_done"] == 1


def test_the_patch_bank_follows_the_photos_content_not_their_names(training_photos, tmp_path):
    spec = BankSpec(channels=1, patch=32, stride=32, scales=(1.0,))
    photos = copy_photos(training_photos, tmp_path / "a")
    first = cached_patch_bank(list_photos(photos), spec, tmp_path / "cache")
    moved = copy_photos(training_photos, tmp_path / "b")  # same photos elsewhere: the same bank, from the cache
    assert np.array_equal(cached_patch_bank(list_photos(moved), spec, tmp_path / "cache"), first)
    edited = list_photos(photos)[0]
    cv2.imwrite(str(edited), cv2.imread(str(edited))[:64, :64])  # same name, other content
    assert len(cached_patch_bank(list_photos(photos), spec, tmp_path / "cache")) < len(first)
    assert len(list((tmp_path / "cache").iterdir())) == 2


def held_out_only(training_photos, folder, keep):
    """A copy of the training photos whose held-out ones are cut by ``keep`` (a function of the image) or removed
    (``keep`` None)."""
    photos = copy_photos(training_photos, folder)
    for path in split_photos(photos)[1]:
        if keep is None:
            path.unlink()
        else:
            cv2.imwrite(str(path), keep(cv2.imread(str(path))))
    return photos


@pytest.mark.parametrize(
    "module, changes",
    [
        (train_dncnn, DNCNN),
        (train_deblur, {"batch": 2, "patch": 32, "features": 4, "blocks": 1, "kernels": 8}),
        (train_lowlight, {"batch": 2, "patch": 64, "features": 4}),
    ],
)
def test_runs_without_held_out_photos_or_with_odd_sized_ones_still_export(module, changes, training_photos, tmp_path):
    none = held_out_only(training_photos, tmp_path / "none", None)
    card = json.loads(module.train(config(module, none, tmp_path / "a", **changes, steps=1), "none").read_text())
    assert card["validation"]["psnr"] == {}  # not NaN, which is not JSON
    odd = held_out_only(training_photos, tmp_path / "odd", lambda image: image[:151, :203])
    card = json.loads(module.train(config(module, odd, tmp_path / "b", **changes, steps=1), "odd").read_text())
    assert card["validation"]["psnr"] and all(np.isfinite(value) for value in card["validation"]["psnr"].values())


def test_the_invertible_isp_runs_without_held_out_photos_and_refuses_photos_too_small_for_a_patch(
    training_photos, tmp_path
):
    pytest.importorskip("rawpy")
    from pipelines import train_invisp

    changes = {"batch": 1, "patch": 16, "blocks": 1, "hidden": 4, "steps": 1}
    none = held_out_only(training_photos, tmp_path / "none", None)
    text = train_invisp.train(config(train_invisp, none, tmp_path / "a", **changes), "none").read_text()
    card = json.loads(text, parse_constant=lambda name: pytest.fail(f"{name} in the card"))
    assert set(card["validation"]) == {"what"}
    tiny = copy_photos(training_photos, tmp_path / "tiny")
    for path in list_photos(tiny):
        cv2.imwrite(str(path), cv2.imread(str(path))[:40, :40])
    with pytest.raises(TrainingSetupError, match="holds a 128 px patch"):
        train_invisp.train(config(train_invisp, tiny, tmp_path / "b", **changes), "tiny")


def test_a_stop_signal_ends_the_run_after_its_step_and_aborts_before_one(tmp_path):
    model = torch.nn.Linear(2, 2)
    optimizer = torch.optim.Adam(model.parameters())
    run = ResumableRun(
        tmp_path / "state",
        model,
        optimizer,
        command="test",
        device=torch.device("cpu"),
        config={},
        steps=10,
        minutes=1.0,
        checkpoint_minutes=1e9,
    )
    with pytest.raises(KeyboardInterrupt):  # nothing to save yet: a plain interrupt
        ResumableRun.stop_active(signal.SIGINT, None)
    run.optimize(1e-3, lambda: model(torch.ones(1, 2)).square().mean())
    ResumableRun.stop_active(signal.SIGTERM, None)
    assert not run.running()
    with pytest.raises(KeyboardInterrupt):  # asked twice: abort
        ResumableRun.stop_active(signal.SIGINT, None)
    run.finish()
    assert (tmp_path / "state").is_file() and ResumableRun.active is None


def test_sessions_record_their_start_and_duration(training_photos, tmp_path):
    card = json.loads(
        train_dncnn.train(config(train_dncnn, training_photos, tmp_path, **DNCNN, steps=1), "x").read_text()
    )
    (session,) = card["training"]["sessions"]
    assert session["started"].startswith("20") and session["seconds"] >= 0


def test_packing_refuses_a_folder_that_is_not_empty(training_photos, tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "old.webp").write_bytes(b"")
    with pytest.raises(FileExistsError, match="not an empty folder"):
        pack_photos(training_photos, tmp_path / "out", long_side=96)
