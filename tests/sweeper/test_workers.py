"""Worker processes on one storage: a killed search resumes, two workers share the budget."""

import signal

import optuna
import pytest

from tests.servers import free_port
from tests.sweeper.helpers import load_study, start_worker, states, wait_until_held

pytestmark = [pytest.mark.heavy, pytest.mark.system]


def search_args(tmp_path, storage: str, n_trials: int, sleep: float, sweep: str) -> list[str]:
    return [
        f"hydra.sweeper.storage={storage}",
        "hydra.sweeper.study_name=workers",
        f"hydra.sweeper.n_trials={n_trials}",
        f"sleep={sleep}",
        "hydra.sweeper.plots=false",
        f"hydra.sweep.dir={tmp_path}/{sweep}",
    ]


def test_killed_search_resumed_by_the_same_command_ends_with_n_trials(tmp_path, sqlite_storage):
    held = tmp_path / "held"
    worker = start_worker(
        *search_args(tmp_path, sqlite_storage, 5, 0.5, "first"),
        "hold_from=2",  # its third trial waits (never released): killed there, however busy the host
        f"hold_dir={held}",
    )
    wait_until_held(held)
    worker.send_signal(signal.SIGKILL)  # mid-trial: its trial stays RUNNING
    worker.wait()
    assert states(sqlite_storage, "workers")["RUNNING"] == 1

    resumed = start_worker(*search_args(tmp_path, sqlite_storage, 5, 0.5, "resumed"))
    output, _ = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, output
    counts = states(sqlite_storage, "workers")
    assert counts["COMPLETE"] + counts["PRUNED"] == 5 and counts["RUNNING"] == 0
    study = load_study(sqlite_storage, "workers")
    (dead,) = study.get_trials(states=(optuna.trial.TrialState.FAIL,))
    assert "died" in dead.user_attrs["fail_reason"]
    retried = [t for t in study.trials if t.system_attrs.get("failed_trial") == dead.number]
    assert retried and retried[0].params == dead.params  # the dead trial ran again


def test_two_workers_on_one_sqlite_storage_finish_exactly_n_trials(tmp_path, sqlite_storage):
    # Each worker's first trial waits for the other's: both share the work, however many
    # seconds apart a busy host starts them.
    workers = [
        start_worker(
            *search_args(tmp_path, sqlite_storage, 8, 1.0, f"worker{i}"),
            f"hydra.sweeper.sampler.seed={i}",
            f"meet={tmp_path}/meet",
        )
        for i in range(2)
    ]
    outputs = [worker.communicate(timeout=120)[0] for worker in workers]
    for worker, output in zip(workers, outputs, strict=False):
        assert worker.returncode == 0, output
        assert "locked" not in output
    counts = states(sqlite_storage, "workers")
    assert counts["COMPLETE"] == 8 and counts["RUNNING"] == 0
    study = load_study(sqlite_storage, "workers")
    owners = {
        t.user_attrs["worker"]["pid"]
        for t in study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    }
    assert owners == {worker.pid for worker in workers}  # both did share the work


def test_a_storage_unreachable_past_the_grace_period_is_one_line_and_exit_1(tmp_path):
    nobody = f"postgresql://mnist@127.0.0.1:{free_port()}/optuna"  # nothing listens there
    worker = start_worker(
        *search_args(tmp_path, f"'{nobody}'", 2, 0.0, "away"), "hydra.sweeper.grace_period=2"
    )
    output, _ = worker.communicate(timeout=120)
    assert worker.returncode == 1, output
    lines = output.strip().splitlines()
    assert lines[-2].startswith(f"optuna: the storage {nobody} is unreachable"), output
    assert lines[-1].startswith(f"error: the Optuna storage {nobody} has been unreachable for 2 s")
    assert (
        lines[-1].endswith("run the same command again to resume the search")
        and "Traceback" not in output
    )
