"""The Keras callback that queues each epoch's figures (and checkpoint) for the MLflow run."""

import numbers
import time
from pathlib import Path

import keras
from mlflow.entities import Metric

from pipeline.run_state import checkpoint_path, rng_state_path
from pipeline.timings import JobTimings, Stopwatch
from pipeline.tracking.outbox import METRICS, Outbox
from pipeline.tracking.records import metric_name


def epoch_metrics(logs: dict[str, float], epoch: int) -> list[Metric]:
    """One epoch's logs as MLflow metrics at step = the 0-based epoch index, so a resumed
    run continues the same x axis and an epoch has one value."""
    timestamp = int(time.time() * 1000)
    return [
        Metric(metric_name(key), float(value), timestamp, epoch)
        for key, value in logs.items()
        if isinstance(value, numbers.Real)
    ]


class EpochLogger(keras.callbacks.Callback):
    """Queues each epoch's metrics as one record; then, optionally, the epoch's checkpoint.

    It comes after the checkpoint callback: an epoch is queued only once its checkpoint is
    on disk, so a resumed run never logs an epoch twice (it backfills the ones a kill left
    out, see `Tracker`). Queueing is a local append: the store's answer is not awaited.
    """

    def __init__(
        self,
        outbox: Outbox,
        run_dir: Path,
        log_checkpoints: bool,
        stopwatch: Stopwatch,
        timings: JobTimings,
    ):
        super().__init__()
        self.outbox, self.run_dir, self.log_checkpoints = outbox, Path(run_dir), log_checkpoints
        self.stopwatch, self.timings = stopwatch, timings

    def on_epoch_end(self, epoch, logs=None):
        with self.stopwatch, self.timings.measure("epoch_tracking_s", per_epoch=True):
            self.outbox.put(
                METRICS,
                metrics=[
                    [m.key, m.value, m.timestamp, m.step] for m in epoch_metrics(logs or {}, epoch)
                ],
            )
            if self.log_checkpoints:
                checkpoint = checkpoint_path(self.run_dir, epoch + 1)
                files = [
                    path for path in (checkpoint, rng_state_path(checkpoint)) if path.is_file()
                ]
                if files:
                    self.outbox.put_files("checkpoints", files=files)
