"""The Keras callback that sends each epoch's figures (and checkpoint) to the MLflow run."""
import numbers
import time
from pathlib import Path

import keras
from mlflow import MlflowClient
from mlflow.entities import Metric

from pipeline.checkpoints import checkpoint_path, rng_state_path
from pipeline.timings import JobTimings
from pipeline.tracking.records import metric_name
from pipeline.tracking.stopwatch import Stopwatch


def epoch_metrics(logs: dict[str, float], epoch: int) -> list[Metric]:
    """One epoch's logs as MLflow metrics at step = the 0-based epoch index, so a resumed
    run continues the same x axis and an epoch has one value."""
    timestamp = int(time.time() * 1000)
    return [Metric(metric_name(key), float(value), timestamp, epoch)
            for key, value in logs.items() if isinstance(value, numbers.Real)]


class EpochLogger(keras.callbacks.Callback):
    """Logs each epoch's metrics in one request; then, optionally, the epoch's checkpoint.

    It comes after the checkpoint callback: an epoch reaches MLflow only once its
    checkpoint is on disk, so a resumed run never logs an epoch twice (it backfills
    the ones a kill left out, see `Tracker`).
    """

    def __init__(self, client: MlflowClient, run_id: str, run_dir: Path, log_checkpoints: bool,
                 stopwatch: Stopwatch, timings: JobTimings):
        super().__init__()
        self.client, self.run_id = client, run_id
        self.run_dir, self.log_checkpoints = Path(run_dir), log_checkpoints
        self.stopwatch, self.timings = stopwatch, timings

    def on_epoch_end(self, epoch, logs=None):
        with self.stopwatch, self.timings.measure("epoch_tracking_s", per_epoch=True):
            self.client.log_batch(self.run_id, metrics=epoch_metrics(logs or {}, epoch), synchronous=True)
            if self.log_checkpoints:
                checkpoint = checkpoint_path(self.run_dir, epoch + 1)
                for path in (checkpoint, rng_state_path(checkpoint)):
                    if path.is_file():
                        self.client.log_artifact(self.run_id, str(path), "checkpoints")
