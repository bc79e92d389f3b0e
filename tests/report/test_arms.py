"""Arms and outcomes on hand-made run tables: what is averaged, what is only counted."""

import numpy as np
import pandas as pd
import pytest

from pipeline.report.aggregate import arm_table, epochs_to_reach, run_figures
from pipeline.report.arms import differing_params, outcome, parse_overrides, swept_values


def runs_table(rows):
    return pd.DataFrame(rows).reset_index(drop=True)


def test_outcomes_pruned_failed_killed_running():
    runs = runs_table(
        [
            {"status": "FINISHED", "tags.pruned": None},
            {"status": "FINISHED", "tags.pruned": "true"},
            {"status": "FAILED", "tags.pruned": None},
            {"status": "KILLED", "tags.pruned": None},
            {"status": "RUNNING", "tags.pruned": None},
        ]
    )
    assert list(outcome(runs)) == ["finished", "pruned", "failed", "failed", "running"]


def test_overrides_parse_group_choices_and_keys():
    assert parse_overrides("optimizer=adam model.dropout=0.25 +trainer.x=1") == {
        "optimizer": "adam",
        "model.dropout": "0.25",
        "trainer.x": "1",
    }


def test_swept_keys_give_the_arms_without_seeds_or_storage():
    parent = pd.Series(
        {
            "params.sweep.optimizer": "sgd,adam",
            "params.sweep.trainer.seed": "1,2",
            "params.sweep.paths.output_dir": "/tmp/x",
            "params.sweep.trainer": "smoke",
        }
    )
    runs = runs_table(
        [
            {
                "tags.overrides": f"trainer=smoke optimizer={o} trainer.seed={s} paths.output_dir=/tmp/x"
            }
            for o in ("sgd", "adam")
            for s in (1, 2)
        ]
    )
    assert list(swept_values(runs, parent).columns) == ["optimizer"]


def test_differing_params_keep_only_keys_that_split_the_runs_further():
    runs = runs_table(
        [
            {
                "params.optimizer._target_": f"keras.optimizers.{o}",
                "params.optimizer.name": o,
                "params.optimizer.learning_rate": lr,
                "params.model.dropout": d,
                "params.trainer.seed": s,
                "params.paths.output_dir": f"/o/{s}",
            }
            for o, lr in (("sgd", "0.01"), ("adam", "0.001"), ("rmsprop", "0.001"))
            for d in ("0.25", "0.5")
            for s in (1, 2)
        ]
    )
    assert list(differing_params(runs).columns) == ["optimizer.name", "model.dropout"]


def test_epochs_to_reach_counts_from_one():
    assert epochs_to_reach(pd.Series([0.5, 0.98, 0.991, 0.995]), 0.99) == 3
    assert np.isnan(epochs_to_reach(pd.Series([0.5, 0.6]), 0.99))


def test_only_finished_runs_are_averaged_the_others_are_counted():
    statuses = [
        ("FINISHED", None, 0.9),
        ("FINISHED", None, 0.8),
        ("FINISHED", "true", 0.1),
        ("FAILED", None, np.nan),
        ("RUNNING", None, np.nan),
    ]
    runs = runs_table(
        [
            {
                "run_id": str(i),
                "status": st,
                "tags.pruned": pruned,
                "metrics.test/accuracy": acc,
                "metrics.speed/epoch_time": 2.0,
            }
            for i, (st, pruned, acc) in enumerate(statuses)
        ]
    )
    outcomes = outcome(runs)
    histories = {"0": pd.Series([0.5, 0.95]), "1": pd.Series([0.6, 0.85])}
    arms = pd.DataFrame({"optimizer": ["adam"] * len(runs)})
    table = arm_table(arms, run_figures(runs, outcomes, histories, 0.9), 0.9)
    row = table.iloc[0]
    assert (row["runs"], row["pruned"], row["failed"], row["running"]) == (2, 1, 1, 1)
    assert row["test_accuracy_mean"] == pytest.approx(0.85)
    assert row["test_accuracy_std"] == pytest.approx(np.std([0.9, 0.8], ddof=1))
    assert row["best_val_accuracy_mean"] == pytest.approx(0.9)
    assert (row["epochs_to_0.9"], row["reached_0.9"]) == (2, 1)


def test_an_arm_whose_runs_all_failed_still_shows_with_its_count():
    runs = runs_table(
        [
            {"run_id": "0", "status": "FINISHED", "metrics.test/accuracy": 0.9},
            {"run_id": "1", "status": "FAILED", "metrics.test/accuracy": np.nan},
        ]
    )
    arms = pd.DataFrame({"optimizer": ["adam", "sgd"]})
    table = arm_table(
        arms, run_figures(runs, outcome(runs), {"0": pd.Series([0.9])}, 0.99), 0.99
    ).set_index("optimizer")
    assert table.loc["sgd", "runs"] == 0 and table.loc["sgd", "failed"] == 1
    assert np.isnan(table.loc["sgd", "test_accuracy_mean"])


def test_arms_hold_only_the_combinations_that_occurred():
    """Continuous values (a search's) must not multiply: 3 runs, 3 distinct pairs -> 3 rows, not 9."""
    runs = runs_table(
        [{"run_id": str(i), "status": "FINISHED", "metrics.test/accuracy": 0.9} for i in range(3)]
    )
    arms = pd.DataFrame(
        {
            "optimizer.learning_rate": ["1e-3", "2e-3", "3e-3"],
            "model.dropout": ["0.1", "0.2", "0.3"],
        }
    )
    histories = {str(i): pd.Series([0.9]) for i in range(3)}
    table = arm_table(arms, run_figures(runs, outcome(runs), histories, 0.99), 0.99)
    assert len(table) == 3 and list(table["runs"]) == [1, 1, 1]
