"""End-to-end smoke training: both loops, determinism, resume, divergence. (A run killed on the
command line and resumed by the same command: tests/test_user_errors.py.)"""

import json
import os

import numpy as np
import pytest

from pipeline.processes.interruption import TrainingInterrupted
from pipeline.run_state import checkpoint_path, find_interrupted_run, load_state
from pipeline.timings import TIMINGS_FILE
from pipeline.training import callbacks as training_callbacks
from pipeline.training import run as training_run
from pipeline.training.run import train_and_evaluate
from tests.training.helpers import read_metrics, smoke_config

pytestmark = pytest.mark.heavy

EPOCH_METRICS = {
    "loss",
    "accuracy",
    "val_loss",
    "val_accuracy",
    "learning_rate",
    "epoch_time",
    "samples_per_second",
    "cpu_utilization",
}


def test_both_loops_log_the_same_metrics_every_epoch(trained_runs):
    for loop in ("fit", "tape"):
        history = read_metrics(trained_runs[loop])["history"]
        assert set(history) == EPOCH_METRICS
        assert all(len(values) == 2 for values in history.values())
        # CPU seconds per wall second: busy (not idle), and at most every core of the machine
        assert all(
            0.2 < busy <= (os.cpu_count() or 1) * 1.05 for busy in history["cpu_utilization"]
        )


def test_the_tape_loop_computes_what_fit_computes(trained_runs):
    fit, tape = (read_metrics(trained_runs[loop])["history"] for loop in ("fit", "tape"))
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        np.testing.assert_allclose(tape[key], fit[key], rtol=1e-5, err_msg=key)


def test_identical_seeds_give_identical_metrics_in_deterministic_mode(trained_runs):
    first, again = read_metrics(trained_runs["fit"]), read_metrics(trained_runs["fit_again"])
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        assert first["history"][key] == again["history"][key]
    assert first["test_accuracy"] == again["test_accuracy"]


def test_a_run_leaves_checkpoints_summary_and_test_figures(trained_runs):
    run = trained_runs["fit"]
    assert checkpoint_path(run, 1).is_file() and checkpoint_path(run, 2).is_file()
    assert load_state(run).status == "finished"
    assert "Total params: 619,786" in (run / "model_summary.txt").read_text()
    metrics = read_metrics(run)
    confusion = np.array(metrics["confusion_matrix"])
    assert confusion.shape == (10, 10) and confusion.sum() == 256
    assert metrics["test_accuracy"] == pytest.approx(np.trace(confusion) / 256)
    assert metrics["objective"] == {"val_accuracy": max(metrics["history"]["val_accuracy"])}
    assert 0.0 <= metrics["test_precision_class_3"] <= 1.0
    assert metrics["dataset"]["digest"]


def test_a_run_times_its_first_step_apart_and_counts_its_steps(trained_runs):
    timings = json.loads((trained_runs["fit"] / TIMINGS_FILE).read_text())
    (first_epoch, _), batches = timings["train_s"], timings["train_batches"]
    assert batches[0] > 1 and batches == [batches[0]] * 2
    assert 0 < timings["first_batch_s"] < first_epoch  # tracing falls in the first step


def test_training_learns_something(trained_runs):
    history = read_metrics(trained_runs["fit"])["history"]
    assert history["loss"][1] < history["loss"][0]
    assert read_metrics(trained_runs["fit"])["test_accuracy"] > 0.3  # chance is 0.1


@pytest.mark.parametrize("loop", ["fit", "tape"])
def test_a_run_interrupted_mid_epoch_resumes_to_the_uninterrupted_result(
    tmp_path, monkeypatch, trained_runs, loop
):
    cfg = smoke_config(tmp_path, f"trainer.loop={loop}")
    runs = tmp_path / "outputs"  # where resume looks for interrupted runs

    def interrupt_in_second_epoch(self, batch, logs=None):
        if self.model.optimizer.iterations.numpy() > 10:  # 8 steps per epoch
            raise KeyboardInterrupt

    monkeypatch.setattr(
        training_callbacks.EpochStats,
        "on_train_batch_end",
        interrupt_in_second_epoch,
        raising=False,
    )
    with pytest.raises(KeyboardInterrupt):
        train_and_evaluate(cfg, runs / "interrupted")
    monkeypatch.undo()
    assert load_state(runs / "interrupted").completed_epochs == 1

    # Ctrl-C while resuming (loading the checkpoint takes seconds): the run stays resumable.
    def ctrl_c(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(training_run, "load_checkpoint", ctrl_c)
    with pytest.raises(TrainingInterrupted) as stopped:
        train_and_evaluate(cfg, runs / "stopped-while-resuming")
    monkeypatch.undo()
    assert str(stopped.value) == (
        f"stopped while resuming {runs / 'interrupted'} after epoch 1; nothing new was "
        "trained; run the same command again to resume it"
    )
    assert (
        stopped.value.exit_status == 130
        and not (runs / "interrupted/checkpoints/resumed_into").exists()
    )

    train_and_evaluate(cfg, runs / "resumed")  # the same command again
    assert (runs / "interrupted/checkpoints/resumed_into").read_text() == str(
        (runs / "resumed").resolve()
    )
    resumed, straight = read_metrics(runs / "resumed"), read_metrics(trained_runs[loop])
    for key in ("loss", "val_loss", "val_accuracy"):
        assert resumed["history"][key] == straight["history"][key], key
    assert resumed["test_accuracy"] == straight["test_accuracy"]


_begin_epoch = training_callbacks.EpochStats.on_epoch_begin


def _interrupt_after_first_epoch(self, epoch, logs=None):
    if epoch == 1:
        raise KeyboardInterrupt
    _begin_epoch(self, epoch, logs)


def test_resume_can_be_switched_off(tmp_path, monkeypatch):
    cfg = smoke_config(tmp_path, "trainer.resume=false")
    runs = tmp_path / "outputs"
    monkeypatch.setattr(
        training_callbacks.EpochStats, "on_epoch_begin", _interrupt_after_first_epoch
    )
    with pytest.raises(KeyboardInterrupt):
        train_and_evaluate(cfg, runs / "interrupted")
    monkeypatch.undo()

    train_and_evaluate(cfg, runs / "fresh")
    assert not (runs / "interrupted/checkpoints/resumed_into").exists()
    assert load_state(runs / "fresh").completed_epochs == 2


def test_resume_from_continues_a_finished_run_for_more_epochs(tmp_path, trained_runs):
    cfg = smoke_config(tmp_path, "trainer.epochs=3", f"trainer.resume_from={trained_runs['fit']}")
    train_and_evaluate(cfg, tmp_path / "longer")
    history = read_metrics(tmp_path / "longer")["history"]
    assert len(history["loss"]) == 3
    assert history["loss"][:2] == read_metrics(trained_runs["fit"])["history"]["loss"]


def test_a_diverging_run_fails_and_is_not_resumed(smoke_store):
    """The shared store's diverging job (tests/conftest.py): its state says failed, and the same
    command again would start afresh instead of resuming it."""
    outputs = smoke_store.root / "outputs"
    (state_file,) = [p for p in outputs.glob("runs/*/*/checkpoints/state.json")]
    run_dir = state_file.parent.parent
    state = load_state(run_dir)
    assert state.status == "failed" and state.completed_epochs == 0
    assert find_interrupted_run(outputs, state.fingerprint, exclude=outputs / "new") is None


def test_extra_objectives_make_the_job_return_one_value_per_objective(tmp_path):
    cfg = smoke_config(
        tmp_path,
        "trainer.epochs=1",
        "model=tf_tutorial",
        "trainer.extra_objectives=[params,seconds_per_epoch]",
    )
    accuracy, params, seconds = train_and_evaluate(cfg, tmp_path / "run")
    history = read_metrics(tmp_path / "run")["history"]
    assert accuracy == max(history["val_accuracy"])
    assert params == 93_322 and seconds == pytest.approx(np.mean(history["epoch_time"]))
