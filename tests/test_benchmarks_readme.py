from benchmarks.readme import training_status


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
    assert training_status(card) == "500 of 1000 steps (partial), started from weights trained 2000 steps, cpu A, gpu B"


def test_training_status_of_a_run_from_scratch():
    card = {"training": {"steps_done": 10, "steps_planned": 10, "complete": True, "sessions": [{"device": "cpu A"}]}}
    assert training_status(card) == "10 of 10 steps, cpu A"
