"""Training throughput of the pipeline against bare Keras `model.fit` on numpy arrays."""
import tempfile
import time
from pathlib import Path

import keras
from omegaconf import DictConfig

from pipeline.checkpoints import checkpoint_path, load_state
from pipeline.data import Splits, load_splits
from pipeline.training.models import build_model
from pipeline.training.optimizers import build_optimizer, steps_per_epoch
from pipeline.training.run import limit_samples, train_and_evaluate
from pipeline.training.runtime import configure_runtime


class EpochClock(keras.callbacks.Callback):
    """Wall time of each whole epoch: training, validation and every callback before it."""

    def __init__(self):
        super().__init__()
        self.seconds: list[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


def fit_by_hand(cfg: DictConfig, splits: Splits, epochs: int, callbacks: list) -> None:
    """The code a user writes by hand: `model.fit` on the numpy arrays, shuffled by Keras,
    validated each epoch. It gets the uint8 arrays our model takes, a quarter of the bytes
    of the usual float32 copy: a conservative baseline."""
    configure_runtime(cfg.trainer)
    model = build_model(cfg.model)
    steps = steps_per_epoch(len(splits.train_y), cfg.trainer.batch_size)
    model.compile(optimizer=build_optimizer(cfg.optimizer, cfg.schedule, steps, epochs),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(splits.train_x, splits.train_y, batch_size=cfg.trainer.batch_size, epochs=epochs,
              validation_data=(splits.val_x, splits.val_y), shuffle=True, verbose=0, callbacks=callbacks)


def bare_keras_fit(cfg: DictConfig, epochs: int) -> list[float]:
    """Samples/s of each epoch after the first (which pays for tracing), fitting by hand."""
    splits = limit_samples(load_splits(cfg.data), cfg.trainer)
    clock = EpochClock()
    fit_by_hand(cfg, splits, epochs, [clock])
    return [len(splits.train_y) / seconds for seconds in clock.seconds[1:]]


def pipeline_fit(cfg: DictConfig, epochs: int) -> list[float]:
    """Samples/s of each epoch after the first, for `train_and_evaluate`, timed between
    consecutive checkpoints: each epoch counts everything the pipeline does in it."""
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp) / "run"
        train_and_evaluate(cfg, run_dir)
        samples = len(limit_samples(load_splits(cfg.data), cfg.trainer).train_y)
        finished = [checkpoint_path(run_dir, epoch).stat().st_mtime for epoch in range(1, epochs + 1)]
        assert load_state(run_dir).completed_epochs == epochs
    return [samples / (later - earlier) for earlier, later in zip(finished, finished[1:])]
