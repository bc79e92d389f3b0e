"""Delivering a run's tracking queue (`outbox`) to its MLflow store: in order, each record
once, retried with backoff while the store is away.

During a run a `Sender` thread delivers as records arrive, so training never waits on the
server; `mnist-sync` delivers what a run left behind (`deliver_all`). Each record lands
once: a metrics record that may have reached the store before a failure (or before a kill
of the process delivering it) is checked against the run's history first; artifacts land
at fixed paths, tags, a multirun's summary and the end status are set, not added; a model is
logged once, its `models:/` uri tag marking it done.
"""

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import mlflow
from mlflow import MlflowClient
from mlflow.entities import Metric

from pipeline.processes.console import first_line
from pipeline.processes.patience import say
from pipeline.timings import JobTimings
from pipeline.tracking.outbox import ARTIFACTS, END, METRICS, MODEL, SUMMARY, TAGS, Outbox, Record
from pipeline.tracking.records import MODEL_URI_TAG, REGISTERED_VERSION_TAG

MODEL_FILE, EXAMPLE_FILE = "model.keras", "example.npy"
# MLflow's own per-request settings (read from the environment at each request).
RETRIES_ENV, TIMEOUT_ENV = "MLFLOW_HTTP_REQUEST_MAX_RETRIES", "MLFLOW_HTTP_REQUEST_TIMEOUT"
FIRST_BACKOFF = 0.5


class RecordRejected(RuntimeError):
    """The store refused a record for good (a 4xx answer other than 'not now')."""


def is_transient(error: BaseException) -> bool:
    """Worth retrying: the store unreachable, overloaded or failing (5xx), not a refusal."""
    if isinstance(error, mlflow.exceptions.MlflowException):
        status = error.get_http_status_code()
        return status >= 500 or status in (
            401,
            403,
            408,
            429,
        )  # an account can be fixed while we wait
    return isinstance(error, Exception)  # connection errors, a locked SQLite file, ...


@dataclass
class DeliveryReport:
    delivered: int = 0
    rejected: list[str] = field(default_factory=list)


class Delivery:
    """Delivers the records of one outbox with `client`; `models` holds in-memory models for
    model records of this process (others are loaded from the record's files)."""

    def __init__(
        self,
        outbox: Outbox,
        client: MlflowClient,
        models: dict | None = None,
        timings: JobTimings | None = None,
    ):
        self.outbox, self.client, self.timings = outbox, client, timings
        self.run_id = outbox.target()["run_id"]
        self.models = models if models is not None else {}
        self.report = DeliveryReport()
        # Metric histories read from the store, kept while one pass delivers (`deliver_all`).
        self.histories: dict[str, set] | None = None

    def deliver(self, record: Record, maybe_sent: bool) -> None:
        """Deliver `record`; `maybe_sent`: an earlier attempt (or process) may have delivered it."""
        if record.op == METRICS:
            metrics = [
                Metric(key, value, timestamp, step)
                for key, value, timestamp, step in record["metrics"]
            ]
            if maybe_sent:
                metrics = self._not_yet_logged(metrics)
            if metrics:
                self.client.log_batch(self.run_id, metrics=metrics, synchronous=True)
                if self.histories is not None:
                    for m in metrics:
                        self.histories[m.key].add((m.step, m.timestamp, m.value))
        elif record.op == TAGS:
            for key, value in record["tags"].items():
                self.client.set_tag(self.run_id, key, value)
        elif record.op == ARTIFACTS:
            files = self.outbox.files_of(record.seq)
            if files.is_dir() and any(files.iterdir()):
                self.client.log_artifacts(self.run_id, str(files), record["artifact_path"])
        elif record.op == MODEL:
            started = time.perf_counter()
            self._log_model(record)
            if self.timings is not None:
                self.timings.add("model_upload_s", time.perf_counter() - started)
        elif record.op == SUMMARY:
            from pipeline.tracking.multirun_summary import write_summary  # imports pandas

            write_summary(self.client, self.run_id, record["objective"], record["mode"])
        elif record.op == END:
            self._end(record, maybe_sent)
        else:
            raise RecordRejected(f"unknown record type {record.op!r}")
        self.outbox.mark_delivered(record)
        self.report.delivered += 1

    def attempt(self, record: Record, maybe_sent: bool) -> Exception | None:
        """Deliver `record`, or set it aside when the store refuses it for good (so it cannot
        block the queue); the error that says to try again later, else None."""
        try:
            self.deliver(record, maybe_sent)
        except Exception as error:  # noqa: BLE001 (sorted here: transient or refused)
            if is_transient(error) and not isinstance(error, RecordRejected):
                return error
            self.report.rejected.append(f"record {record.seq} ({record.op}): {first_line(error)}")
            self.outbox.mark_delivered(record)
        return None

    def _end(self, record: Record, maybe_sent: bool) -> None:
        """The run's end, at the time it ended (not when delivered). Delivered late (`mnist-sync`,
        a retry), it leaves a later end by another process (a search's parent run, joined by
        another worker since); a first attempt, as the run ends, needs no look."""
        ended_ms = record.fields.get("time_ms")
        if maybe_sent and ended_ms is not None:
            info = self.client.get_run(self.run_id).info
            if info.status != "RUNNING" and (info.end_time or 0) > ended_ms:
                return
        self.client.set_terminated(self.run_id, record["status"], ended_ms)

    def _not_yet_logged(self, metrics: list[Metric]) -> list[Metric]:
        """`metrics` less those the run already has (same step, timestamp and value)."""
        seen = self.histories if self.histories is not None else {}
        for key in {m.key for m in metrics} - set(seen):
            seen[key] = {
                (m.step, m.timestamp, m.value)
                for m in self.client.get_metric_history(self.run_id, key)
            }
        return [m for m in metrics if (m.step, m.timestamp, m.value) not in seen[m.key]]

    def _log_model(self, record: Record) -> None:
        from pipeline.tracking.model_logging import log_keras_model, register  # imports Keras

        tags = self.client.get_run(self.run_id).data.tags
        model_uri = tags.get(MODEL_URI_TAG)
        if model_uri is None:
            model, example = self._model_and_example(record)
            model_uri = log_keras_model(model, example, self.run_id)
            self.client.set_tag(self.run_id, MODEL_URI_TAG, model_uri)
        if record["register_as"] and REGISTERED_VERSION_TAG not in tags:
            version = register(model_uri, record["register_as"], record["alias"])
            self.client.set_tag(
                self.run_id, REGISTERED_VERSION_TAG, f"{record['register_as']}/{version}"
            )

    def _model_and_example(self, record: Record):
        if record.seq in self.models:
            return self.models[record.seq]
        import keras
        import numpy as np

        files = self.outbox.files_of(record.seq)
        if not (files / MODEL_FILE).is_file():
            raise RecordRejected(
                "the model file was never written (the process ended first); "
                "the run's checkpoints hold its weights"
            )
        return keras.saving.load_model(files / MODEL_FILE), np.load(files / EXAMPLE_FILE)


class Sender:
    """A background thread that delivers an outbox while the run trains.

    One line when the store goes away and one when it is back (`say`); nothing else on the
    terminal. `finish(seconds)` waits at most that long for the queue to drain.
    """

    def __init__(
        self,
        delivery: Delivery,
        where: str,
        max_backoff: float,
        say: Callable[[str], None] = say,
    ):
        self.delivery, self.where, self.max_backoff, self.say = delivery, where, max_backoff, say
        self._closing = threading.Event()  # no more records will come: drain, then stop
        self._give_up = threading.Event()  # stop now, even with records left
        self._away_since: float | None = None
        self._progress = threading.Event()  # a record delivered
        self._thread = threading.Thread(target=self._run, name="tracking-sender", daemon=True)

    def start(self) -> "Sender":
        self._thread.start()
        return self

    def drain(self, seconds: float, stop: Callable[[], bool]) -> bool:
        """Wait up to `seconds` until everything queued is delivered (True); False at the
        deadline or as soon as `stop()` (a Ctrl-C to act on)."""
        deadline = time.monotonic() + seconds
        while self.delivery.outbox.pending():
            if stop() or time.monotonic() >= deadline or not self._thread.is_alive():
                return False
            self._progress.wait(0.1)
            self._progress.clear()
        return True

    def finish(self, seconds: float) -> int:
        """No more records: wait up to `seconds` for the last ones; the number still queued.
        A Ctrl-C while waiting ends the wait (what is left stays queued)."""
        self._closing.set()
        self.delivery.outbox.wake()
        try:
            self._thread.join(seconds)
        except KeyboardInterrupt:
            pass
        self._give_up.set()
        self.delivery.outbox.wake()
        try:
            self._thread.join(5)  # a request under way when we gave up
        except KeyboardInterrupt:
            pass
        return len(self.delivery.outbox.pending())

    def _run(self) -> None:
        outbox, last_seen = self.delivery.outbox, 0
        while not self._give_up.is_set():
            pending = outbox.pending()
            if not pending:
                if self._closing.is_set():
                    return
                outbox.wait_for_more(
                    max(last_seen, outbox.delivered_seq()), timeout=1.0
                )  # 1 s: a missed wake-up costs no more
                continue
            for record in pending:
                last_seen = record.seq
                if not self._deliver_with_retries(record):
                    return

    def _deliver_with_retries(self, record: Record) -> bool:
        """True once `record` is delivered (or rejected); False when told to give up first."""
        backoff, maybe_sent = FIRST_BACKOFF, False
        rejected = len(self.delivery.report.rejected)
        while not self._give_up.is_set():
            error = self.delivery.attempt(record, maybe_sent)
            if error is None:
                if len(self.delivery.report.rejected) > rejected:
                    self.say(f"tracking: {self.where} refused {self.delivery.report.rejected[-1]}")
                self._came_back()
                self._progress.set()
                return True
            self._went_away(error)
            maybe_sent = True
            self._give_up.wait(backoff)
            backoff = min(backoff * 2, self.max_backoff)
        return False

    def _went_away(self, error: BaseException) -> None:
        if self._away_since is None:
            self._away_since = time.monotonic()
            self.say(
                f"tracking: {self.where} is away ({first_line(error)}); training goes on, "
                f"recording to {self.delivery.outbox.folder}"
            )

    def _came_back(self) -> None:
        if self._away_since is not None:
            away = time.monotonic() - self._away_since
            self._away_since = None
            queued = len(self.delivery.outbox.pending())
            self.say(
                f"tracking: {self.where} is back after {away:.0f} s; delivering the {queued} queued records"
            )


def deliver_all(delivery: Delivery) -> DeliveryReport:
    """Deliver everything queued now, in this thread, each record once (for `mnist-sync` and
    for a resumed run's earlier queue); a store that is away raises its error."""
    delivery.histories = {}
    for record in delivery.outbox.pending():
        # Any record may have reached the store: a process that delivers marks a record
        # done after the store took it, and can be killed in between.
        error = delivery.attempt(record, maybe_sent=True)
        if error is not None:
            raise error
    return delivery.report


def apply_request_settings(delivery_cfg) -> None:
    """MLflow's per-request retries and timeout for this process (MLflow reads them from its
    environment variables at each request); the queue's own retries come after these."""
    os.environ[RETRIES_ENV] = str(delivery_cfg.request_retries)
    os.environ[TIMEOUT_ENV] = str(delivery_cfg.request_timeout)
