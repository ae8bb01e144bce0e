import json

import pytest

from benchmarks import readme, stale


def write_result(folder, name, meta):
    (folder / name).write_text(json.dumps({"meta": meta, "results": []}))


@pytest.fixture
def results(tmp_path):
    """A results folder: one run with the shipped dncnn-gray, one with other dncnn-color weights, one that
    recorded no weights, and a classical one."""
    shipped = readme.shipped_sha256("dncnn-gray")
    write_result(tmp_path, "fresh.json", {"command": "python -m a", "weights": {"dncnn-gray": shipped}})
    write_result(tmp_path, "stale.json", {"command": "python -m b", "weights": {"dncnn-color": "0" * 64}})
    write_result(tmp_path, "old.json", {"command": "python -m c"})
    write_result(tmp_path, "classical.json", {"command": "python -m d", "weights": {}})
    return stale.result_statuses(tmp_path)


def test_every_committed_result_ran_in_full_with_the_shipped_weights():
    statuses, _ = stale.result_statuses(readme.RESULTS_DIR)
    assert statuses, "no result records its weights"
    assert {s.name: s.problems for s in statuses if s.problems} == {}


def test_without_models_only_the_out_of_date_results_are_listed_with_their_commands(results):
    lines, out_of_date = stale.report(*results, [])
    assert out_of_date
    problem = "its weights of dncnn-color are not the shipped ones (sha256 of weights/*.json)"
    assert lines[:2] == [f"stale.json (dncnn-color): out of date: {problem}", "    python -m b"]
    assert lines[2:] == ["not checked (they record no weights): old.json"]


def test_a_model_lists_every_result_that_ran_it_up_to_date_or_not(results):
    lines, out_of_date = stale.report(*results, ["dncnn-gray"])
    assert not out_of_date and lines[:2] == ["fresh.json (dncnn-gray): up to date", "    python -m a"]
    lines, _ = stale.report(*results, ["kpn-burst"])
    assert lines[0] == "no result ran kpn-burst"


def test_the_exit_status_says_whether_a_listed_result_is_out_of_date(monkeypatch, tmp_path, results, capsys):
    monkeypatch.setattr(readme, "RESULTS_DIR", tmp_path)
    with pytest.raises(SystemExit) as exit_:
        stale.main([])
    assert exit_.value.code == 1 and "stale.json" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_:
        stale.main(["dncnn-gray"])
    assert exit_.value.code == 0
    with pytest.raises(SystemExit) as exit_:
        stale.main(["no-such-model"])
    assert exit_.value.code == 2 and "not a learned model: no-such-model" in capsys.readouterr().err
