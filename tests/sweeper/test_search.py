"""The sweeper's search, in-process on the tiny app: pruning, failures, storages, results."""

import time

import optuna
import pytest
from omegaconf import OmegaConf

from pipeline.search.sweeper.loop import Search
from tests.sweeper.helpers import states

pytestmark = pytest.mark.heavy

PRUNE_HARD = ["hydra/sweeper/pruner=median", "hydra.sweeper.pruner.n_startup_trials=1", "steps=3"]


def test_pruner_marks_trials_pruned_in_storage(run_app, sqlite_storage):
    run_app(f"hydra.sweeper.storage={sqlite_storage}", "hydra.sweeper.n_trials=6", *PRUNE_HARD)
    counts = states(sqlite_storage, "test")
    assert counts["PRUNED"] >= 1 and counts["COMPLETE"] + counts["PRUNED"] == 6
    pruned = optuna.load_study(study_name="test", storage=sqlite_storage).get_trials(
        states=(optuna.trial.TrialState.PRUNED,)
    )
    assert all(len(t.intermediate_values) < 3 for t in pruned)  # stopped before the last step


def test_failing_trials_are_failed_with_their_reason_and_the_search_completes(
    run_app, sqlite_storage
):
    run_app(
        f"hydra.sweeper.storage={sqlite_storage}",
        "hydra.sweeper.n_trials=6",
        "fail_above=1.0",
        "hydra.sweeper.max_failure_rate=1.0",
    )
    study = optuna.load_study(study_name="test", storage=sqlite_storage)
    failed = study.get_trials(states=(optuna.trial.TrialState.FAIL,))
    assert failed and all("Boom: x=" in t.user_attrs["fail_reason"] for t in failed)
    assert states(sqlite_storage, "test")["COMPLETE"] == 6


def stopped_with_one_line(capsys, match: str) -> None:
    """A search stopped by its failure rule ends in one line on stderr and exit 1."""
    error = capsys.readouterr().err.strip().splitlines()
    assert error[-1].startswith("error: the search stopped: ") and match in error[-1], error
    assert not any("TooManyFailures" in line for line in error)  # no traceback of the sweeper


def test_search_stops_when_a_batch_fails_more_than_max_failure_rate(
    run_app, sqlite_storage, capsys
):
    """One slot (the basic launcher): a batch is one trial, so any failure is 100% of it."""
    with pytest.raises(SystemExit) as stopped:
        run_app(
            f"hydra.sweeper.storage={sqlite_storage}",
            "hydra.sweeper.n_trials=10",
            "fail_above=-5",
            "hydra.sweeper.max_failure_rate=0.2",
        )
    assert stopped.value.code == 1
    stopped_with_one_line(capsys, "1 of the last 1 trials failed, more than max_failure_rate=0.2")
    assert states(sqlite_storage, "test") == {"FAIL": 1}


def test_at_1_failures_never_stop_the_search_but_n_trials_in_a_row_do(
    run_app, sqlite_storage, capsys
):
    with pytest.raises(SystemExit) as stopped:
        run_app(
            f"hydra.sweeper.storage={sqlite_storage}",
            "hydra.sweeper.n_trials=3",
            "fail_above=-5",
            "hydra.sweeper.max_failure_rate=1.0",
        )
    assert stopped.value.code == 1
    stopped_with_one_line(capsys, "3 trials failed in a row")
    assert states(sqlite_storage, "test") == {"FAIL": 3}


def test_rerun_resumes_the_study_up_to_n_trials(run_app, sqlite_storage):
    run_app(f"hydra.sweeper.storage={sqlite_storage}", "hydra.sweeper.n_trials=3")
    run_app(f"hydra.sweeper.storage={sqlite_storage}", "hydra.sweeper.n_trials=5")
    run_app(f"hydra.sweeper.storage={sqlite_storage}", "hydra.sweeper.n_trials=5")
    study = optuna.load_study(study_name="test", storage=sqlite_storage)
    assert len(study.trials) == 5
    assert (
        len({t.params["x"] for t in study.trials}) == 5
    )  # a resumed seeded sampler does not replay


def test_journal_file_storage_prunes_too(run_app, tmp_path):
    journal = tmp_path / "optuna.journal"
    run_app(f"hydra.sweeper.storage={journal}", "hydra.sweeper.n_trials=5", *PRUNE_HARD)
    counts = states(str(journal), "test")
    assert counts["PRUNED"] >= 1 and counts["COMPLETE"] + counts["PRUNED"] == 5


def test_results_file_names_the_best_trial(run_app, tmp_path):
    study = run_app(
        "hydra.sweeper.n_trials=4", "hydra.sweeper.plots=true"
    )  # in memory: the old default
    results = OmegaConf.load(tmp_path / "sweep" / "optimization_results.yaml")
    assert results.best_value == study.best_value and results.best_params == study.best_params
    assert (tmp_path / "sweep" / "optimization_history.png").is_file()


def test_several_directions_give_a_pareto_front(run_app, tmp_path):
    run_app(
        "objectives=2",
        "hydra.sweeper.n_trials=4",
        "hydra/sweeper/sampler=nsgaii",
        "hydra.sweeper.direction=[maximize,maximize]",
    )
    results = OmegaConf.load(tmp_path / "sweep" / "optimization_results.yaml")
    assert results.solutions and all(len(s["values"]) == 2 for s in results.solutions)


def test_grid_sampler_runs_each_point_once(run_app, tmp_path):
    # Command-line sweeps replace the app's `params` of the same name.
    study = run_app(
        "hydra.sweeper.n_trials=50", "hydra/sweeper/sampler=grid", "x=range(0,2)", "y=choice(0,1)"
    )
    assert sorted((t.params["x"], t.params["y"]) for t in study.trials) == [
        (0, 0),
        (0, 1),
        (1, 0),
        (1, 1),
        (2, 0),
        (2, 1),
    ]


def test_slots_run_jobs_side_by_side_and_refill_as_each_ends(
    run_app, sqlite_storage, monkeypatch, tmp_path
):
    # The basic launcher keeps one slot (jobs share this process); the tiny app is
    # thread-safe, so two slots exercise what a process-per-job launcher gets.
    run_in_slots = Search.run
    monkeypatch.setattr(Search, "run", lambda search, slots: run_in_slots(search, 2))
    # The first two trials wait for each other, however busy the host; 4 trials: each slot
    # runs a second one when its first ends.
    run_app(
        f"hydra.sweeper.storage={sqlite_storage}",
        "hydra.sweeper.n_trials=4",
        "steps=2",
        "sleep=0.5",
        f"meet={tmp_path}/meet",
    )
    trials = optuna.load_study(study_name="test", storage=sqlite_storage).trials
    assert states(sqlite_storage, "test")["COMPLETE"] == 4
    overlaps = [
        (a, b)
        for a in trials
        for b in trials
        if a.number < b.number and b.datetime_start < a.datetime_complete
    ]
    assert overlaps  # two jobs ran at once


def test_two_slots_of_one_worker_never_ask_a_surplus_trial(run_app, sqlite_storage, monkeypatch):
    """Both slots end their first trials together and look for the last place at once; asking
    is slowed so that, without the worker's claim lock, both would see room and one trial
    would be failed as surplus."""
    run_in_slots, ask = Search.run, optuna.Study.ask
    monkeypatch.setattr(Search, "run", lambda search, slots: run_in_slots(search, 2))

    def slow_ask(study, *args, **kwargs):
        time.sleep(0.3)
        return ask(study, *args, **kwargs)

    monkeypatch.setattr(optuna.Study, "ask", slow_ask)
    run_app(
        f"hydra.sweeper.storage={sqlite_storage}",
        "hydra.sweeper.n_trials=3",
        "steps=1",
        "sleep=0.5",
    )
    assert states(sqlite_storage, "test") == {"COMPLETE": 3}


def test_a_failure_rate_outside_zero_to_one_is_refused(run_app):
    with pytest.raises(Exception, match=r"max_failure_rate=1.5 must be in \[0, 1\]"):
        run_app("hydra.sweeper.max_failure_rate=1.5")


def test_the_basic_launcher_gets_one_slot_whatever_n_jobs_says(run_app, monkeypatch):
    slots_given = []
    monkeypatch.setattr(Search, "run", lambda search, slots: slots_given.append(slots))
    run_app("hydra.sweeper.n_jobs=3")
    assert slots_given == [1]


def test_custom_search_space_hook_adds_parameters(run_app):
    study = run_app(
        "hydra.sweeper.n_trials=3",
        "hydra.sweeper.custom_search_space=tests.sweeper.app.objective.extra_space",
    )
    assert all(10.0 <= t.params["fail_above"] for t in study.trials)
    assert all(t.state.name == "COMPLETE" for t in study.trials)


def test_enqueued_parameter_sets_run_first_in_order_and_once(run_app, sqlite_storage):
    queue = "hydra.sweeper.enqueue_trials=[{x:1.5,y:0},{x:-1.0,y:2}]"
    run_app(f"hydra.sweeper.storage={sqlite_storage}", "hydra.sweeper.n_trials=3", queue)
    run_app(f"hydra.sweeper.storage={sqlite_storage}", "hydra.sweeper.n_trials=4", queue)  # resumed
    trials = optuna.load_study(study_name="test", storage=sqlite_storage).trials
    assert [t.params for t in trials[:2]] == [{"x": 1.5, "y": 0}, {"x": -1.0, "y": 2}]
    assert len(trials) == 4 and sum(t.params["x"] == 1.5 for t in trials) == 1


def test_more_enqueued_sets_than_trials_is_a_config_error(run_app):
    with pytest.raises(Exception, match="do not fit in n_trials=1"):
        run_app("hydra.sweeper.n_trials=1", "hydra.sweeper.enqueue_trials=[{x:1.0},{x:2.0}]")


def test_a_trial_whose_config_does_not_compose_fails_with_the_reason_and_stops_the_search(
    run_app, sqlite_storage
):
    # The basic launcher composes each job before it starts; the sweeper does not compose it twice.
    with pytest.raises(Exception, match="z"):
        run_app(
            f"hydra.sweeper.storage={sqlite_storage}",
            "hydra.sweeper.n_trials=3",
            "+hydra.sweeper.params.z='choice(1,2)'",
        )
    (failed,) = optuna.load_study(study_name="test", storage=sqlite_storage).trials
    assert failed.state == optuna.trial.TrialState.FAIL
    assert "the job could not be launched" in failed.user_attrs["fail_reason"]
    assert "'z'" in failed.user_attrs["fail_reason"]
