"""Keras callbacks shared by both training loops; they add figures to each epoch's logs."""

import math
import time

import keras

from pipeline.processes.interruption import check_for_stop
from pipeline.timings import JobTimings


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the run cannot go on."""


class EpochStats(keras.callbacks.Callback):
    """Adds learning_rate, epoch_time (s, with validation), samples_per_second (training only)
    and cpu_utilization: the process's CPU seconds per second of the epoch, about the core
    count when nothing else competes for the cores. A shared machine shows as a lower value,
    which tells a slow epoch from a slow pipeline.

    It must come first in the callback list: later callbacks (checkpoints, tracking) read
    what it adds.
    """

    def __init__(self, train_samples: int, timings: JobTimings):
        super().__init__()
        self.train_samples = train_samples
        self.timings = timings

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = time.perf_counter()
        self._epoch_cpu_start = time.process_time()  # all of the process's threads
        self._train_seconds = None
        self._batches = 0

    def on_train_batch_end(self, batch, logs=None):
        # The first step of a job traces its model: timed apart, so tracing is measured.
        if self._batches == 0 and "first_batch_s" not in self.timings.phases:
            self.timings.add("first_batch_s", time.perf_counter() - self._epoch_start)
        self._batches += 1

    def on_test_begin(self, logs=None):
        # Validation at the end of an epoch: the training part of the epoch is over.
        if getattr(self, "_epoch_start", None) is not None and self._train_seconds is None:
            self._train_seconds = time.perf_counter() - self._epoch_start

    def on_epoch_end(self, epoch, logs=None):
        elapsed = time.perf_counter() - self._epoch_start
        train_seconds = self._train_seconds or elapsed
        logs["learning_rate"] = float(
            keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)
        )
        logs["epoch_time"] = elapsed
        logs["samples_per_second"] = self.train_samples / train_seconds
        logs["cpu_utilization"] = (time.process_time() - self._epoch_cpu_start) / elapsed
        self.timings.append("train_s", train_seconds)
        self.timings.append("train_batches", self._batches)
        self.timings.append("validation_s", elapsed - train_seconds)
        self._epoch_start = None


class StopOnNaN(keras.callbacks.Callback):
    """Fails the run when an epoch's loss is not finite (checked per epoch: no per-batch sync)."""

    def on_epoch_end(self, epoch, logs=None):
        loss = logs.get("loss")
        if loss is not None and not math.isfinite(loss):
            raise TrainingDiverged(f"loss became {loss} in epoch {epoch + 1}")


class EpochLine(keras.callbacks.Callback):
    """`trainer.verbose=2`: one line per epoch with what EpochStats added (it must come after
    EpochStats), the same for both loops; Keras' own verbose=2 spends two lines on it."""

    def __init__(self, epochs: int):
        super().__init__()
        self.epochs = epochs

    def on_epoch_end(self, epoch, logs=None):
        figures = "  ".join(
            f"{name} {logs[name]:.4f}"
            for name in ("loss", "accuracy", "val_loss", "val_accuracy")
            if name in logs
        )
        print(
            f"epoch {epoch + 1}/{self.epochs}  {figures}  lr {logs['learning_rate']:.2e}  "
            f"{logs['epoch_time']:.1f} s  {logs['samples_per_second']:,.0f} samples/s",
            flush=True,
        )


class ActOnSignals(keras.callbacks.Callback):
    """Acts on a recorded Ctrl-C or SIGTERM (`pipeline.processes.interruption`) before every batch of
    training, validation and prediction, and at each epoch's end: it must come last, after the
    epoch's checkpoint and tracking."""

    def on_train_batch_begin(self, batch, logs=None):
        check_for_stop()

    def on_test_batch_begin(self, batch, logs=None):
        check_for_stop()

    def on_predict_batch_begin(self, batch, logs=None):
        check_for_stop()

    def on_epoch_end(self, epoch, logs=None):
        check_for_stop()
