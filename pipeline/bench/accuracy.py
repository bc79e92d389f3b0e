"""Time to a target test accuracy: the pipeline's default recipe against bare Keras fit."""

import tempfile
from pathlib import Path

import keras
import numpy as np
from omegaconf import DictConfig

from pipeline.bench.throughput import EpochClock, fit_by_hand
from pipeline.data import load_splits
from pipeline.run_state import load_state
from pipeline.training.checkpointing import load_checkpoint
from pipeline.training.run import limit_samples, train_and_evaluate


def _test_accuracy(model: keras.Model, splits, batch_size: int) -> float:
    probabilities = model.predict(splits.test_x, batch_size=batch_size, verbose=0)
    return float((np.argmax(probabilities, axis=1) == splits.test_y).mean())


def _first_reaching(target: float, accuracies: list[float], seconds: list[float]) -> dict:
    """Training seconds (cumulative, whole epochs) until the first epoch at `target`."""
    reached = next((i for i, accuracy in enumerate(accuracies) if accuracy >= target), None)
    return {
        "test_accuracy_per_epoch": accuracies,
        "epochs_to_target": None if reached is None else reached + 1,
        "seconds_to_target": None if reached is None else float(sum(seconds[: reached + 1])),
    }


def pipeline_time_to(cfg: DictConfig, target: float) -> dict:
    """Train with the given config; score each epoch's checkpoint on the test set afterwards."""
    splits = limit_samples(load_splits(cfg.data), cfg.trainer)
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp) / "run"
        train_and_evaluate(cfg, run_dir)
        state = load_state(run_dir)
        accuracies = [
            _test_accuracy(load_checkpoint(run_dir, epoch), splits, cfg.trainer.eval_batch_size)
            for epoch in range(1, state.completed_epochs + 1)
        ]
    return _first_reaching(target, accuracies, state.history["epoch_time"])


class _TestAccuracyEachEpoch(keras.callbacks.Callback):
    """Scores the test set after each epoch, outside the epoch's timed span."""

    def __init__(self, splits, batch_size: int):
        super().__init__()
        self.splits, self.batch_size = splits, batch_size
        self.accuracies: list[float] = []

    def on_epoch_end(self, epoch, logs=None):
        self.accuracies.append(_test_accuracy(self.model, self.splits, self.batch_size))


def bare_time_to(cfg: DictConfig, target: float, max_epochs: int) -> dict:
    """Fitting by hand with a constant learning rate, up to `max_epochs`."""
    splits = limit_samples(load_splits(cfg.data), cfg.trainer)
    clock = EpochClock()
    scorer = _TestAccuracyEachEpoch(splits, cfg.trainer.eval_batch_size)
    fit_by_hand(cfg, splits, max_epochs, [clock, scorer])  # the clock stops before the scorer runs
    return _first_reaching(target, scorer.accuracies, clock.seconds)
