"""The report of a real search (the sweeper's tiny app, tracked): one row per trial, best first."""

import optuna
import pandas as pd
import pytest
from mlflow import MlflowClient

from pipeline.bench.hydra_multirun import multirun
from pipeline.report.build import ARTIFACT_DIR, make_report
from pipeline.report.search import TABLE_CSV, TABLE_MD, SearchTables, summary_text
from pipeline.report.settings import report_settings
from pipeline.report.study_files import HISTORY_PNG, IMPORTANCES_CSV, SLICE_PNG
from tests.sweeper.app.objective import main as tracked_objective
from tests.sweeper.helpers import APP_DIR

pytestmark = pytest.mark.heavy

N_TRIALS = 10


@pytest.fixture(scope="module")
def search_store(tmp_path_factory):
    """10 trials of a continuous `x` and a categorical `y`: some pruned by the median pruner,
    those with x above 2.5 failed by the app; tracked as a parent run and its children."""
    tmp = tmp_path_factory.mktemp("search-report")
    store, storage = f"sqlite:///{tmp}/mlflow.db", f"sqlite:///{tmp}/optuna.db"
    multirun(
        APP_DIR,
        "objective",
        tracked_objective.__wrapped__,
        [  # each job a child run
            f"hydra.sweep.dir={tmp}/sweep",
            "hydra.sweeper.study_name=report",
            "hydra.sweeper.plots=false",
            f"hydra.sweeper.storage={storage}",
            f"hydra.sweeper.n_trials={N_TRIALS}",
            "hydra.sweeper.max_failure_rate=1.0",
            "hydra/sweeper/pruner=median",
            "hydra.sweeper.pruner.n_startup_trials=2",
            "steps=3",
            "fail_above=2.5",
            "tracking.enabled=true",
            f"tracking.uri={store}",
            f"tracking.artifact_root={tmp}/artifacts",
        ],
    )
    overrides = [
        f"tracking.uri={store}",
        "tracking.experiment_name=tiny",
        f"tracking.optuna_storage={storage}",
        f"paths.output_dir={tmp}/outputs",
    ]
    settings = report_settings("tune", overrides)
    return (
        settings,
        make_report(settings),
        optuna.load_study(study_name="report", storage=storage),
        store,
    )


def test_one_row_per_trial_best_first(search_store):
    _, report, study, _ = search_store
    table = report.table
    assert sorted(table["trial"]) == [t.number for t in study.trials]
    finished = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    ranked = sorted(finished, key=lambda t: -t.value)
    assert list(table["trial"][: len(ranked)]) == [t.number for t in ranked]
    assert table["objective"][0] == pytest.approx(study.best_value)
    assert {"x", "y", "epochs", "s/epoch", "host"} <= set(table.columns)


def test_pruned_and_failed_trials_say_so(search_store):
    _, report, study, _ = search_store
    states = dict(zip(report.table["trial"], report.table["state"], strict=False))
    pruned = study.get_trials(states=(optuna.trial.TrialState.PRUNED,))
    failed = study.get_trials(states=(optuna.trial.TrialState.FAIL,))
    assert pruned and failed  # the fixture's search makes both
    for trial in pruned:
        assert states[trial.number] == f"PRUNED at epoch {len(trial.intermediate_values)}"
    for trial in failed:
        assert states[trial.number].startswith("FAIL: Boom: x=")


def test_importances_plots_and_files_are_written_and_logged_to_the_parent(search_store):
    settings, report, study, store = search_store
    out = settings.output_dir
    names = {TABLE_MD, TABLE_CSV, IMPORTANCES_CSV, SLICE_PNG, HISTORY_PNG}
    assert {path.name for path in report.files} == names
    importances = pd.read_csv(out / IMPORTANCES_CSV)
    assert set(importances["parameter"]) == {"x", "y"} and importances[
        "importance"
    ].sum() == pytest.approx(1.0)
    assert (
        len(pd.read_csv(out / TABLE_CSV)) == len(study.trials) > N_TRIALS
    )  # the failed ones count apart
    logged = {
        a.path for a in MlflowClient(store).list_artifacts(report.parent_run_id, ARTIFACT_DIR)
    }
    assert logged == {f"{ARTIFACT_DIR}/{name}" for name in names}
    assert (
        "what mattered (Optuna's importances for objective): x " in report.text
        or ", x " in report.text
    )


def test_a_long_table_shows_only_a_summary_in_the_terminal(search_store):
    _, report, _, _ = search_store
    many = pd.concat([report.table] * 3, ignore_index=True)
    text = summary_text(SearchTables(many, pd.Series({"x": 0.9, "y": 0.1}), "objective"), "heading")
    assert f"best 5 of {len(many)} trials (" in text and len(text.splitlines()) == 1 + 1 + 1 + 5 + 1
    assert (
        text.splitlines()[-1]
        == "what mattered (Optuna's importances for objective): x 0.90, y 0.10"
    )


def test_several_objectives_put_the_pareto_front_first():
    """Maximise accuracy, minimise parameters: the front (trials 1 and 2) before the dominated 0 and 3."""
    from pipeline.report.search import trial_table

    study = optuna.create_study(directions=["maximize", "minimize"])
    study.set_metric_names(["val_accuracy", "params"])
    space = {"x": optuna.distributions.FloatDistribution(0, 1)}
    for x, values in (
        (0.1, [0.90, 500]),
        (0.2, [0.99, 400]),
        (0.3, [0.95, 100]),
        (0.4, [0.80, 900]),
    ):
        study.add_trial(
            optuna.trial.create_trial(params={"x": x}, distributions=space, values=values)
        )
    table = trial_table(study)
    assert list(table["trial"]) == [1, 2, 0, 3]
    assert {"val_accuracy", "params"} <= set(table.columns)
