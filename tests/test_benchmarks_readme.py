import json
import re

import pytest

from benchmarks import readme
from benchmarks.common import REPO, provenance, provenance_lines
from benchmarks.readme import training_status
from restore.registry import file_sha256


def test_training_status_counts_the_weights_a_run_started_from():
    card = {
        "training": {
            "steps_done": 500,
            "steps_planned": 1000,
            "complete": False,
            "steps_including_lineage": 2500,
            "sessions": [{"device": "cpu A"}],
            "lineage": [{"steps_done": 2000, "sessions": [{"device": "gpu B"}]}],
        }
    }
    assert training_status(card) == "500 of 1000 steps (partial), started from weights trained 2000 steps, cpu A; gpu B"


def test_hardware_of_sessions_that_differ_only_in_threads_is_merged():
    devices = [
        "x86_64 EPYC CPU, 2 threads, torch 2.13.0+cpu",
        "NVIDIA H200, torch 2.11.0",
        "x86_64 EPYC CPU, 1 threads, torch 2.13.0+cpu",
        "x86_64 EPYC CPU, 2 threads, torch 2.13.0+cpu",
        "x86_64 CPU, 1 threads, torch 2.13.0+cpu",
    ]
    assert readme.hardware_summary(devices) == (
        "NVIDIA H200, torch 2.11.0; x86_64 CPU, 1 threads, torch 2.13.0+cpu; "
        "x86_64 EPYC CPU, 1/2 threads, torch 2.13.0+cpu"
    )


def test_a_run_that_used_up_its_minutes_is_described_by_its_time_not_as_partial():
    training = {"steps_done": 23302, "steps_planned": 10**9, "complete": False, "config": {"minutes": "7.5"}}
    one_session = {**training, "train_seconds": 450.0, "sessions": [{"seconds": 450.0}]}
    assert readme.run_extent(one_session) == "23302 steps in 7.5 min"
    stopped_early = {**one_session, "train_seconds": 200.0, "sessions": [{"seconds": 200.0}]}
    assert readme.run_extent(stopped_early) == "23302 of 1000000000 steps (partial)"
    # no leg recorded (older cards): the last session decides, and the time is that of all the sessions
    resumed = {**training, "train_seconds": 2250.0, "sessions": [{"seconds": 1800.0}, {"seconds": 450.0}]}
    assert readme.run_extent(resumed) == "23302 steps in 38 min"
    last_cut_short = {**resumed, "sessions": [{"seconds": 450.0}, {"seconds": 1800.0}]}
    assert readme.run_extent({**last_cut_short, "config": {"minutes": "60"}}) == "23302 of 1000000000 steps (partial)"
    unknown = {**resumed, "sessions": [{}, {}]}  # sessions of old cards without their seconds
    assert readme.run_extent(unknown) == "23302 of 1000000000 steps (partial)"
    assert readme.run_extent({**one_session, "sessions": [{}]}) == "23302 steps in 7.5 min"  # one: the run's time
    sessions = [{"seconds": 200.0}, {"seconds": 250.0}]
    leg_resumed = {**training, "train_seconds": 450.0, "sessions": sessions, "leg": {"minutes": 7.5, "seconds": 450.0}}
    assert readme.run_extent(leg_resumed) == "23302 steps in 7.5 min"  # one leg, stopped and resumed
    two_legs = {**leg_resumed, "train_seconds": 900.0, "sessions": [{"seconds": 450.0}, *sessions]}
    assert readme.run_extent(two_legs) == "23302 steps in 15 min"
    leg_cut_short = {**leg_resumed, "leg": {"minutes": 7.5, "seconds": 300.0}}
    assert readme.run_extent(leg_cut_short) == "23302 of 1000000000 steps (partial)"


def test_training_status_of_weights_re_exported_without_a_step_counts_their_lineage():
    card = {
        "training": {
            "steps_done": 0,
            "steps_planned": 0,
            "complete": True,
            "config": {"weights_dtype": "float16"},
            "steps_including_lineage": 2500,
            "sessions": [],
            "lineage": [{"steps_done": 2500, "sessions": [{"device": "cpu A"}]}],
        }
    }
    assert training_status(card) == "2500 steps, re-exported in float16, cpu A"


def test_training_status_of_a_run_from_scratch():
    card = {"training": {"steps_done": 10, "steps_planned": 10, "complete": True, "sessions": [{"device": "cpu A"}]}}
    assert training_status(card) == "10 of 10 steps, cpu A"


def speed_run(machine: str, bf16_rate: float) -> dict:
    def row(model, precision, rate, agreement=None):
        return {
            "model": model,
            "size": "512x512",
            "precision": precision,
            "megapixels_per_second": rate,
            "flops_per_pixel": 1e6 if model != "cbm3d" else None,
            "psnr_vs_float32": agreement,
        }

    peak = {"device": "cpu", "conv3x3_gflops": 100.0}
    return {
        "meta": {"command": "python -m benchmarks.speed", "commit": "abc", "machine": machine, "date": "today"},
        "machine_peaks": {"float32": peak, "bfloat16": peak},
        "results": [
            row("dncnn-gray", "float32", 0.2),
            row("dncnn-gray", "bfloat16", bf16_rate, 55.0),
            row("cbm3d", "float32", 0.02),
        ],
    }


def test_speed_summary_has_a_table_per_machine(tmp_path, monkeypatch):
    monkeypatch.setattr(readme, "RESULTS_DIR", tmp_path)
    assert readme.speed_summary().startswith("No speed results yet")
    (tmp_path / "speed.json").write_text(json.dumps(speed_run("cpu A", 0.4)))
    assert "cpu B" not in readme.speed_summary()
    (tmp_path / "speed-avx2.json").write_text(json.dumps(speed_run("cpu B", 0.01)))
    summary = readme.speed_summary()
    first, second = summary.split(readme.SPEED_RESULTS["speed-avx2"])
    assert "| `dncnn-gray` | 0.200 | 10.0 | 200% | 0.400 | 2.00x | 55.0 |" in first and "cpu A" in first
    assert "| `dncnn-gray` | 0.200 | 10.0 | 200% | 0.010 | 0.05x | 55.0 |" in second and "cpu B" in second


def test_gpu_speed_table_compares_a_12_mp_photo_with_the_cpu(tmp_path, monkeypatch):
    monkeypatch.setattr(readme, "RESULTS_DIR", tmp_path)

    def row(size, device, precision, seconds, rate, agreement=None):
        return {
            "model": "dncnn-gray",
            "size": size,
            "device": device,
            "precision": precision,
            "seconds": seconds,
            "megapixels_per_second": rate,
            "peak_memory_gb": 4.5,
            "psnr_vs_float32": agreement,
        }

    def run(machine, rows):
        peak = {"device": machine, "conv3x3_gflops": 100.0}
        meta = {"command": "python -m benchmarks.speed", "commit": "abc", "machine": machine, "date": "today"}
        return {"meta": meta, "machine_peaks": {rows[0]["precision"]: peak}, "results": rows}

    cpu = [row("4000x3000", "cpu", "float32", 90.0, 0.13), row("4000x3000", "cpu", "bfloat16", 45.0, 0.27, 55.0)]
    (tmp_path / "speed.json").write_text(json.dumps(run("cpu A", cpu)))
    assert "On a GPU" not in readme.speed_summary()
    gpu = [row("1024x1024", "cuda", "bfloat16", 0.01, 97.4, 55.7), row("4000x3000", "cuda", "bfloat16", 0.18, 66.7)]
    (tmp_path / f"{readme.GPU_SPEED_RESULTS}.json").write_text(json.dumps(run("cuda (GPU B)", gpu)))
    _, gpu_part = readme.speed_summary().split("On a GPU")
    assert "| `dncnn-gray` | bfloat16 | 97.4 | 0.18 | 90.0 | 500x | 4.50 | 55.7 |" in gpu_part
    assert "cuda (GPU B) bfloat16 100" in gpu_part


def test_the_readme_is_reproduced_byte_for_byte_from_the_committed_results():
    text = (REPO / "README.md").read_text()
    assert readme.updated(text) == text


def result(meta: dict) -> dict:
    base = {"command": "python -m benchmarks.denoise", "commit": "abc", "machine": "m", "date": "today"}
    row = {"set": "Set12", "sigma": 25, "method": "dncnn-gray", "psnr": 30.0}
    return {"meta": {**base, **meta}, "results": [row]}


@pytest.mark.parametrize(
    "meta, problem",
    [
        ({"limit": 1}, "it ran on the first 1 images of each set only (--limit)"),
        ({"weights_dir": "/tmp/staging"}, "its weights came from RESTORE_WEIGHTS_DIR=/tmp/staging"),
        ({"weights": {"dncnn-gray": "0" * 64}}, "its weights of dncnn-gray are not the shipped ones"),
    ],
)
def test_a_partial_result_or_one_of_other_weights_is_refused(tmp_path, monkeypatch, meta, problem):
    monkeypatch.setattr(readme, "RESULTS_DIR", tmp_path)
    (tmp_path / "denoise.json").write_text(json.dumps(result(meta)))
    with pytest.raises(SystemExit, match="cannot go into the README") as refusal:
        readme.models_table()
    assert problem in str(refusal.value) and str(tmp_path / "denoise.json") in str(refusal.value)


def test_a_full_result_with_the_shipped_weights_or_without_the_new_fields_is_taken(tmp_path, monkeypatch):
    monkeypatch.setattr(readme, "RESULTS_DIR", tmp_path)
    shipped = {"limit": None, "weights_dir": None, "weights": {"dncnn-gray": readme.shipped_sha256("dncnn-gray")}}
    for meta in (shipped, {}):
        (tmp_path / "denoise.json").write_text(json.dumps(result(meta)))
        assert "| `dncnn-gray` | denoise | learned |" in readme.models_table()


def test_provenance_records_the_limit_and_the_weights(untrained_weights_dir, monkeypatch):
    monkeypatch.setenv("RESTORE_WEIGHTS_DIR", str(untrained_weights_dir))
    meta = provenance("python -m benchmarks.denoise --limit 2", limit=2, models=["dncnn-gray", "bm3d"])
    assert meta["limit"] == 2 and meta["weights_dir"] == str(untrained_weights_dir)
    assert meta["weights"] == {"dncnn-gray": file_sha256(untrained_weights_dir / "dncnn-gray.safetensors")}
    assert "- partial run: the first 2 images of each set" in provenance_lines(meta)
    monkeypatch.delenv("RESTORE_WEIGHTS_DIR")
    assert provenance("c", models=["dncnn-gray"])["weights"] == {"dncnn-gray": readme.shipped_sha256("dncnn-gray")}


def test_provenance_names_the_device_and_precision_of_the_learned_models(untrained_weights):
    import restore

    meta = provenance("c", restorers=[restore.load("dncnn-gray", device="cpu"), restore.load("bm3d")])
    assert meta["devices"] == ["cpu float32"] and set(meta["weights"]) == {"dncnn-gray"}
    assert "- learned models ran on: cpu float32" in provenance_lines(meta)


def test_the_documented_a_b_commands_write_outside_the_committed_results():
    text = " ".join(" ".join((REPO / name).read_text() for name in ("README.md", "weights/TRAINING.md")).split())
    commands = [
        match
        for match in re.finditer(r"`((python -m )?benchmarks\.\w+ [^`]*)`", text)
        if "RESTORE_WEIGHTS_DIR" in text[match.start() - 150 : match.end() + 150]
    ]
    assert len(commands) >= 4, "the A/B commands beside RESTORE_WEIGHTS_DIR"
    for match in commands:
        assert "--output /tmp/" in match[1], match[1]


def test_a_command_run_without_arguments_is_recorded_and_shown_without_a_trailing_space():
    meta = provenance("python -m benchmarks.burst ")  # as the benchmarks join their (no) arguments
    assert meta["command"] == "python -m benchmarks.burst"
    older = {**meta, "command": "python -m benchmarks.burst "}  # as results before 2026-12-06 recorded it
    assert provenance_lines(older)[0] == "- command: `python -m benchmarks.burst`"
