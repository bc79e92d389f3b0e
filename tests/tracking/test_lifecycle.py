"""How runs end: FAILED on a crash or NaN, KILLED on Ctrl-C, and continued by a resume."""

import keras
import pytest
from mlflow import MlflowClient

from pipeline.processes.interruption import EXIT_INTERRUPTED, TrainingInterrupted
from pipeline.training import run as training_run
from tests.helpers import DIVERGING
from tests.tracking.helpers import only_run, tracked_config, train

pytestmark = pytest.mark.heavy


def test_an_exception_fails_the_run_with_its_reason(tmp_path, monkeypatch):
    def crash(*args, **kwargs):
        raise RuntimeError("injected crash")

    monkeypatch.setattr(training_run, "predict_test", crash)
    cfg = tracked_config(tmp_path)
    with pytest.raises(RuntimeError):
        train(cfg, "crash")
    run = only_run(MlflowClient(cfg.tracking.uri), cfg)
    assert run.info.status == "FAILED"
    assert run.data.tags["failure_reason"] == "RuntimeError: injected crash"


def test_ctrl_c_whose_cleanup_fails_again_still_ends_the_run_killed_and_says_where(
    tmp_path, monkeypatch
):
    # Seen once: Ctrl-C while a file was being written, then OSError EBADF from its cleanup.
    def interrupted_while_writing(*args, **kwargs):
        try:
            raise KeyboardInterrupt
        finally:
            raise OSError(9, "Bad file descriptor")

    monkeypatch.setattr(training_run, "predict_test", interrupted_while_writing)
    cfg = tracked_config(tmp_path)
    with pytest.raises(TrainingInterrupted, match="before the test evaluation") as interrupt:
        train(cfg, "interrupted")
    assert interrupt.value.exit_status == EXIT_INTERRUPTED
    run = only_run(MlflowClient(cfg.tracking.uri), cfg)
    assert run.info.status == "KILLED" and "failure_reason" not in run.data.tags


def test_a_nan_loss_fails_the_run(smoke_store):
    """The shared store's diverging job (tests/conftest.py): learning rate 1e12, NaN in epoch 1."""
    assert smoke_store.diverged.startswith("TrainingDiverged: loss became nan in epoch 1")
    run = smoke_store.child_with(DIVERGING[1])
    assert run.info.status == "FAILED"
    assert run.data.tags["failure_reason"].startswith("TrainingDiverged: loss became nan")


class InterruptAfterFirstEpoch(keras.callbacks.Callback):
    """Ctrl-C after epoch 1 is checkpointed but before the tracker logs it."""

    def on_epoch_end(self, epoch, logs=None):
        if epoch == 0:
            raise KeyboardInterrupt


def test_a_resumed_training_continues_its_run_without_repeating_an_epoch(tmp_path, monkeypatch):
    cfg = tracked_config(tmp_path, "trainer.epochs=3")
    client = MlflowClient(cfg.tracking.uri)
    original_callbacks = training_run.training_callbacks
    with monkeypatch.context() as patch:
        patch.setattr(
            training_run,
            "training_callbacks",
            lambda *args: original_callbacks(*args) + [InterruptAfterFirstEpoch()],
        )
        with pytest.raises(KeyboardInterrupt):
            train(cfg, "interrupted")
    assert only_run(client, cfg).info.status == "KILLED"

    train(cfg, "resumed")
    run = only_run(client, cfg)
    assert run.info.status == "FINISHED"
    for name in ("train/loss", "val/accuracy"):
        assert sorted(m.step for m in client.get_metric_history(run.info.run_id, name)) == [0, 1, 2]
