"""Ctrl-C and SIGTERM at every phase of a training: the signal is recorded and acted on at the
next check, so the run ends KILLED with its one line and 130 (143), or, before anything
exists, stops with nothing written. In this process (TensorFlow already imported): the
signal is sent to it from inside the phase, as a user's Ctrl-C would arrive.

The process gets Python's default Ctrl-C handler first: a test suite started in the background
of a script inherits SIGINT ignored, which a training rightly keeps ignoring."""

import os
import signal
import threading

import keras
import pytest
from mlflow import MlflowClient

from pipeline.processes.interruption import EXIT_INTERRUPTED, EXIT_TERMINATED, TrainingInterrupted
from pipeline.run_state import RESUMED_FROM_KEY, load_state
from pipeline.tracking import tracker as tracker_module
from pipeline.training import checkpointing
from pipeline.training import run as training_run
from tests.tracking.helpers import only_run, tracked_config
from tests.tracking.helpers import train as tracked_train

pytestmark = [
    pytest.mark.heavy,
    pytest.mark.system,
    pytest.mark.skipif(
        threading.current_thread() is not threading.main_thread(),
        reason="signal handlers belong to the main thread",
    ),
]

QUICK = ("trainer.epochs=2", "tracking.log_model=false", "tracking.system_metrics=false")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """One MLflow store for the module (a new one costs its schema's migrations); each test
    has its own experiment in it, and its own outputs."""
    return tmp_path_factory.mktemp("signals-store")


def config(tmp_path, store):
    return tracked_config(
        store,
        *QUICK,
        f"paths.output_dir={tmp_path}/outputs",
        f"tracking.experiment_name={tmp_path.name}",
    )


@pytest.fixture(autouse=True)
def default_ctrl_c(monkeypatch):
    monkeypatch.setattr(
        signal,
        "SIG_IGN_SAVED",
        signal.signal(signal.SIGINT, signal.default_int_handler),
        raising=False,
    )
    yield
    signal.signal(signal.SIGINT, signal.SIG_IGN_SAVED)


def send(number: int) -> None:
    os.kill(os.getpid(), number)


def after(function, number: int):
    """`function`, then the signal (the phase has done its work; the run is between checks)."""

    def wrapped(*args, **kwargs):
        result = function(*args, **kwargs)
        send(number)
        return result

    return wrapped


class SignalAt(keras.callbacks.Callback):
    """The signal from inside Keras: after a training batch, or a validation batch."""

    def __init__(self, hook: str, number: int):
        super().__init__()
        setattr(self, hook, lambda batch, logs=None: batch == 0 and send(number))


def run_dir(tmp_path, name="run"):
    return tmp_path / "outputs" / "runs" / name  # where a resume looks for it


def train(tmp_path, store, name="run"):
    tracked_train(config(tmp_path, store), name)


def interrupted(tmp_path, store, number: int) -> tuple[TrainingInterrupted, object]:
    with pytest.raises(TrainingInterrupted) as stopped:
        train(tmp_path, store)
    cfg = config(tmp_path, store)
    assert stopped.value.exit_status == (
        EXIT_TERMINATED if number == signal.SIGTERM else EXIT_INTERRUPTED
    )
    assert only_run(MlflowClient(cfg.tracking.uri), cfg).info.status == "KILLED"
    return stopped.value, load_state(run_dir(tmp_path))


def test_before_the_model_exists_the_run_stops_with_nothing_written(tmp_path, store, monkeypatch):
    monkeypatch.setattr(training_run, "load_splits", after(training_run.load_splits, signal.SIGINT))
    with pytest.raises(KeyboardInterrupt) as stopped:
        train(tmp_path, store)
    assert not isinstance(
        stopped.value, TrainingInterrupted
    )  # the CLI's "nothing was trained" line
    assert list(run_dir(tmp_path).iterdir()) == []


def test_while_the_tracking_run_starts(tmp_path, store, monkeypatch, number=signal.SIGINT):
    monkeypatch.setattr(
        tracker_module.Tracker, "log_start", after(tracker_module.Tracker.log_start, number)
    )
    line, state = interrupted(tmp_path, store, number)
    assert (
        state.completed_epochs == 0
        and "nothing to resume, the same command starts it again" in str(line)
    )


# Training: the next batch does not start. Validation (one batch here): the epoch it closes is
# checkpointed first, then the run stops.
@pytest.mark.parametrize("hook, completed", [("on_train_batch_end", 0), ("on_test_batch_end", 1)])
def test_during_an_epoch_s_training_or_validation(tmp_path, store, monkeypatch, hook, completed):
    callbacks = training_run.training_callbacks
    monkeypatch.setattr(
        training_run,
        "training_callbacks",
        lambda *args: callbacks(*args) + [SignalAt(hook, signal.SIGINT)],
    )
    line, state = interrupted(tmp_path, store, signal.SIGINT)
    assert state.completed_epochs == completed
    assert str(line).startswith(
        f"stopped during epoch {completed + 1} of 2 ({completed} completed)"
    )


def test_while_a_checkpoint_is_written_the_epoch_is_kept(tmp_path, store, monkeypatch):
    save = checkpointing.EpochCheckpoint._save
    monkeypatch.setattr(checkpointing.EpochCheckpoint, "_save", after(save, signal.SIGTERM))
    line, state = interrupted(tmp_path, store, signal.SIGTERM)
    assert state.completed_epochs == 1
    assert str(line).startswith("stopped during epoch 2 of 2 (1 completed)")
    assert "run the same command again to resume it" in str(line)


def test_during_the_test_evaluation(tmp_path, store, monkeypatch):
    monkeypatch.setattr(
        training_run,
        "evaluate_probabilities",
        after(training_run.evaluate_probabilities, signal.SIGINT),
    )
    line, state = interrupted(tmp_path, store, signal.SIGINT)
    assert state.completed_epochs == 2 and "before the test evaluation" in str(line)


def test_while_the_results_are_recorded(tmp_path, store, monkeypatch):
    monkeypatch.setattr(
        tracker_module.Tracker,
        "log_results",
        after(tracker_module.Tracker.log_results, signal.SIGINT),
    )
    line, state = interrupted(tmp_path, store, signal.SIGINT)
    assert (
        state.status == "finished"
        and "stopped while recording a finished training's results" in str(line)
    )


def test_a_run_stopped_while_resuming_says_the_same_command_resumes_it_and_it_does(
    tmp_path, store, monkeypatch
):
    with monkeypatch.context() as patch:  # the first process: Ctrl-C after epoch 1's checkpoint
        patch.setattr(
            checkpointing.EpochCheckpoint,
            "_save",
            after(checkpointing.EpochCheckpoint._save, signal.SIGINT),
        )
        with pytest.raises(TrainingInterrupted):
            train(tmp_path, store, "first")
    with monkeypatch.context() as patch:  # the second: Ctrl-C while it loads the checkpoint
        patch.setattr(
            training_run, "load_checkpoint", after(training_run.load_checkpoint, signal.SIGINT)
        )
        with pytest.raises(TrainingInterrupted) as stopped:
            train(tmp_path, store, "resuming")
    assert str(stopped.value).startswith(
        f"stopped while resuming {run_dir(tmp_path, 'first')} after epoch 1;"
    )
    assert str(stopped.value).endswith("run the same command again to resume it")
    train(tmp_path, store, "resumed")  # the third goes on from epoch 1
    resumed = load_state(run_dir(tmp_path, "resumed"))
    assert resumed.completed_epochs == 2 and resumed.extra[RESUMED_FROM_KEY] == str(
        run_dir(tmp_path, "first")
    )
