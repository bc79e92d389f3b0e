"""Training throughput of the pipeline against bare Keras `model.fit` on numpy arrays.

Two figures per epoch after the first (which pays for tracing): samples per wall-clock
second, and CPU microseconds per sample. On a shared machine the wall clock swings with
what else runs on the host (epochs of one run here went from 2,600 to 1,500 samples/s
as the process went from 1.7 to 1.0 cores); the CPU cost of a sample barely moved (2%),
so it is the steadier comparison of two pieces of code.
"""

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import keras
from omegaconf import DictConfig

from pipeline.data import Splits, load_splits
from pipeline.run_state import checkpoint_path, load_state
from pipeline.training.models import build_model
from pipeline.training.optimizers import build_optimizer, steps_per_epoch
from pipeline.training.run import limit_samples, train_and_evaluate
from pipeline.training.runtime import configure_runtime


@dataclass
class EpochSpeeds:
    samples_per_second: list[float]  # wall clock
    cpu_us_per_sample: list[float]  # CPU time of every thread of the process


class EpochClock(keras.callbacks.Callback):
    """Wall and CPU time of each whole epoch: training, validation and every callback before it."""

    def __init__(self):
        super().__init__()
        self.seconds: list[float] = []
        self.cpu_seconds: list[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start, self._cpu_start = time.perf_counter(), time.process_time()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)
        self.cpu_seconds.append(time.process_time() - self._cpu_start)


def fit_by_hand(cfg: DictConfig, splits: Splits, epochs: int, callbacks: list) -> None:
    """The code a user writes by hand: `model.fit` on the numpy arrays, shuffled by Keras,
    validated each epoch. It gets the uint8 arrays our model takes, a quarter of the bytes
    of the usual float32 copy: a conservative baseline."""
    configure_runtime(cfg.trainer)
    model = build_model(cfg.model)
    steps = steps_per_epoch(len(splits.train_y), cfg.trainer.batch_size)
    model.compile(
        optimizer=build_optimizer(cfg.optimizer, cfg.schedule, steps, epochs),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(
        splits.train_x,
        splits.train_y,
        batch_size=cfg.trainer.batch_size,
        epochs=epochs,
        validation_data=(splits.val_x, splits.val_y),
        shuffle=True,
        verbose=0,
        callbacks=callbacks,
    )


def bare_keras_fit(cfg: DictConfig, epochs: int) -> EpochSpeeds:
    """Each epoch after the first, fitting by hand."""
    splits = limit_samples(load_splits(cfg.data), cfg.trainer)
    clock = EpochClock()
    fit_by_hand(cfg, splits, epochs, [clock])
    samples = len(splits.train_y)
    return EpochSpeeds(
        [samples / seconds for seconds in clock.seconds[1:]],
        [1e6 * seconds / samples for seconds in clock.cpu_seconds[1:]],
    )


def pipeline_fit(cfg: DictConfig, epochs: int) -> EpochSpeeds:
    """Each epoch after the first, for `train_and_evaluate`. Wall time runs between
    consecutive checkpoints (each epoch counts everything the pipeline does in it); CPU
    time is the epoch's own (`cpu_utilization` x `epoch_time`), the span EpochClock times."""
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp) / "run"
        train_and_evaluate(cfg, run_dir)
        samples = len(limit_samples(load_splits(cfg.data), cfg.trainer).train_y)
        finished = [
            checkpoint_path(run_dir, epoch).stat().st_mtime for epoch in range(1, epochs + 1)
        ]
        state = load_state(run_dir)
        assert state.completed_epochs == epochs
    history = state.history
    cpu_seconds = [
        busy * seconds
        for busy, seconds in zip(history["cpu_utilization"], history["epoch_time"], strict=False)
    ]
    return EpochSpeeds(
        [
            samples / (later - earlier)
            for earlier, later in zip(finished, finished[1:], strict=False)
        ],
        [1e6 * seconds / samples for seconds in cpu_seconds[1:]],
    )
