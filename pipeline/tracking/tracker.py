"""One MLflow run per training job: `with track_run(job) as tracker:`.

The run starts (or, for a resumed training, continues) before the first epoch and ends
with the job: FINISHED, FAILED or KILLED (see `lifecycle`). Tracking observes; it never
changes what is trained.
"""

import os
import sys
import tempfile
import time
from contextlib import contextmanager, suppress
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from hydra.core.hydra_config import HydraConfig
from mlflow import MlflowClient
from omegaconf import DictConfig, OmegaConf

from pipeline.job import Job
from pipeline.processes.console import first_line
from pipeline.processes.interruption import check_for_stop, interrupt_behind, stop_requested
from pipeline.run_state import RESUMED_FROM_KEY, RunState, save_state
from pipeline.timings import Stopwatch
from pipeline.tracking import plots
from pipeline.tracking.credentials import use_stack_server
from pipeline.tracking.dataset_input import log_dataset_input
from pipeline.tracking.delivery import (
    EXAMPLE_FILE,
    MODEL_FILE,
    RETRIES_ENV,
    TIMEOUT_ENV,
    Delivery,
    Sender,
    apply_request_settings,
    deliver_all,
)
from pipeline.tracking.lifecycle import (
    FAILED,
    FINISHED,
    KILLED,
    end_active_run,
    ends_run,
    failure_reason,
)
from pipeline.tracking.naming import flat_params, run_name, run_tags
from pipeline.tracking.outbox import END, METRICS, MODEL, TAGS, Outbox
from pipeline.tracking.records import (
    FAILURE_REASON_TAG,
    TRACKING_SECONDS_METRIC,
    best_metric_name,
    metric_name,
)
from pipeline.tracking.store import experiment_id
from pipeline.tracking.system_metrics import QueuedSystemMetrics

# Where a run's state keeps its MLflow run id, so a resumed training continues that run.
RUN_ID_KEY = "mlflow_run_id"
# Test images that go with the logged model as its input example.
_INPUT_EXAMPLE_SIZE = 5
# MLflow takes at most 100 parameters per request.
_PARAMS_PER_REQUEST = 100


class NoTracking:
    """`tracking.enabled=false`: the same interface, doing nothing."""

    def callbacks(self) -> list:
        return []

    def log_results(self, *args, **kwargs) -> None:
        pass

    def where(self) -> str:
        return "not recorded in MLflow (tracking.enabled=false)"


class Tracker:
    """Records one run. What the run records after its start goes through its queue in the
    run directory (`outbox`), delivered by a background `Sender`: training never waits on the
    store. `stopwatch` sums the time this thread spends on tracking, logged as `tracking/seconds`."""

    def __init__(self, job: Job, run_id: str, stopwatch: Stopwatch):
        self.cfg, self.run_dir, self.state, self.run_id = (
            job.cfg,
            Path(job.run_dir),
            job.state,
            run_id,
        )
        self.client = MlflowClient(job.cfg.tracking.uri)
        self.stopwatch, self.timings = stopwatch, job.timings
        cfg = job.cfg
        self.outbox = Outbox(self.run_dir)
        self.outbox.open(cfg.tracking.uri, run_id)
        self.models: dict[int, tuple] = {}  # model records of this process: (model, input example)
        self.sender: Sender | None = None
        self.system_metrics: QueuedSystemMetrics | None = None

    def start_sending(self) -> None:
        self.outbox.take_delivery()
        delivery = Delivery(self.outbox, self.client, self.models, self.timings)
        self.sender = Sender(
            delivery, self.cfg.tracking.uri, self.cfg.tracking.delivery.max_backoff
        ).start()
        if self.cfg.tracking.system_metrics:
            self.system_metrics = QueuedSystemMetrics(
                self.outbox,
                self.run_id,
                self.cfg.tracking.uri,
                self.cfg.tracking.system_metrics_interval,
            )
            self.system_metrics.start()

    def callbacks(self) -> list:
        """Keras callbacks to add after the checkpoint callback."""
        from pipeline.tracking.epoch_logging import EpochLogger  # imports Keras

        return [
            EpochLogger(
                self.outbox,
                self.run_dir,
                self.cfg.tracking.log_checkpoints,
                self.stopwatch,
                self.timings,
            )
        ]

    def where(self) -> str:
        """The line that tells the user where the run was recorded."""
        return (
            f"recorded as MLflow run {self.run_id} in experiment {self.cfg.tracking.experiment_name!r} "
            f"of {self.cfg.tracking.uri} (browse it with `make ui`)"
        )

    def log_start(self, splits) -> None:
        """Parameters and dataset (only those not logged yet, when continuing a run), and the
        epochs a killed process checkpointed but did not log: straight to the store, which
        must be there at the start."""
        run = self.client.get_run(self.run_id)
        params = {k: v for k, v in flat_params(self.cfg).items() if k not in run.data.params}
        items = list(params.items())
        for start in range(0, len(items), _PARAMS_PER_REQUEST):
            mlflow.log_params(dict(items[start : start + _PARAMS_PER_REQUEST]))
        if not run.inputs.dataset_inputs:
            log_dataset_input(splits)
        self._backfill_epochs()

    def _backfill_epochs(self) -> None:
        from pipeline.tracking.epoch_logging import epoch_metrics

        logged = {m.step for m in self.client.get_metric_history(self.run_id, metric_name("loss"))}
        for epoch in range(self.state.completed_epochs):
            if epoch not in logged:
                logs = {key: values[epoch] for key, values in self.state.history.items()}
                self.client.log_batch(self.run_id, metrics=epoch_metrics(logs, epoch))

    def log_results(self, model, splits, test, probabilities: np.ndarray, objective: float) -> None:
        """Test figures (`test` is None without a test evaluation), the sweep objective, artifacts
        and the model, after training; then
        what tracking cost this run (its cost so far: all but ending the run)."""
        with self.stopwatch, self.timings.measure("results_tracking_s"):
            self._log_results(model, splits, test, probabilities, objective)
        self.outbox.put(
            METRICS,
            metrics=[
                [TRACKING_SECONDS_METRIC, self.stopwatch.seconds, _now_ms(), self._final_step()]
            ],
        )

    def _final_step(self) -> int:
        """The step (0-based epoch) of the run's end-of-training figures: its last epoch."""
        return max(self.state.completed_epochs - 1, 0)

    def _log_results(
        self, model, splits, test, probabilities: np.ndarray, objective: float
    ) -> None:
        final_step, timestamp = self._final_step(), _now_ms()
        figures = (
            {metric_name(key): value for key, value in test.as_dict("test").items()}
            if test is not None
            else {}
        )
        figures[best_metric_name(self.cfg.trainer.objective)] = objective
        self.outbox.put(
            METRICS,
            metrics=[
                [name, float(value), timestamp, final_step]  # one request
                for name, value in figures.items()
            ],
        )
        self._log_files(splits, test, probabilities)
        if self.cfg.tracking.log_model:
            seq = self.outbox.put(
                MODEL,
                register_as=self.cfg.tracking.register_as,
                alias=self.cfg.tracking.register_alias,
            )
            self.models[seq] = (model, splits.test_x[:_INPUT_EXAMPLE_SIZE])

    def _log_files(self, splits, test, probabilities: np.ndarray) -> None:
        self.outbox.put_files(
            None,
            files=[
                self.run_dir / name
                for name in ("model_summary.txt", "metrics.json")
                if (self.run_dir / name).is_file()
            ],
            texts={"config.yaml": OmegaConf.to_yaml(self.cfg, resolve=True)},
        )
        if (self.run_dir / ".hydra").is_dir():
            self.outbox.put_files("hydra", folders=[self.run_dir / ".hydra"])
        if self.cfg.tracking.log_checkpoints:
            self.outbox.put_files(
                "checkpoints", files=[self.run_dir / "checkpoints" / "state.json"]
            )
        # Drawn beside the queue, so that queueing them is hard links (one file system).
        with (
            self.timings.measure("figures_s"),
            tempfile.TemporaryDirectory(dir=self.outbox.folder) as tmp,
        ):
            figures = Path(tmp)
            plots.learning_curves(self.state.history, figures / "learning_curves.png")
            if test is not None:  # trainer.test_evaluation=false: no test figures
                self._draw_test_figures(splits, test, probabilities, figures)
            self.outbox.put_files("evaluation", folders=[figures])

    @staticmethod
    def _draw_test_figures(splits, test, probabilities: np.ndarray, folder: Path) -> None:
        plots.confusion_matrix(test.confusion, folder / "confusion_matrix.png")
        plots.misclassified_grid(
            splits.test_x, splits.test_y, probabilities, folder / "misclassified.png"
        )
        classes = range(test.confusion.shape[0])
        pd.DataFrame(
            test.confusion,
            index=pd.Index(classes, name="true"),
            columns=[f"predicted_{c}" for c in classes],
        ).to_csv(folder / "confusion_matrix.csv")

    def close(self, status: str, reason: str | None) -> None:
        """The run's end (see `ends_run`): a failure's reason as a tag, then the status."""
        delivery = self.cfg.tracking.delivery
        if reason is not None:
            self.outbox.put(TAGS, tags={FAILURE_REASON_TAG: reason})
        self.end(status, delivery.final_wait if status != KILLED else delivery.interrupted_wait)

    def end(self, status: str, wait: float) -> None:
        """End the run with `status` once what it queued is delivered, waiting at most `wait`
        seconds. A Ctrl-C or SIGTERM cuts a finished run's wait short and makes it KILLED; a
        second Ctrl-C cuts any wait short. What the store did not take stays in the run
        directory for `mnist-sync`."""
        with self.stopwatch, self.timings.measure("tracking_wait_s"):
            try:
                if self.system_metrics is not None:  # its last sample goes before the end
                    self.system_metrics.finish()
                drained = self.sender.drain(
                    wait, stop_requested if status == FINISHED else lambda: False
                )
            except KeyboardInterrupt:
                drained = False
            if status == FINISHED and stop_requested():
                status = KILLED
            self.outbox.put(END, status=status, time_ms=int(time.time() * 1000))
            left = self.sender.finish(self.cfg.tracking.delivery.end_wait if drained else 0)
        self.outbox.release_delivery()
        if left == 0:
            mlflow.end_run(status)
            return
        self._keep_models()
        end_run_offline(status)
        print(
            f"tracking: {self.cfg.tracking.uri} did not take {left} records of run {self.run_id} "
            f"({self.outbox.folder}); `make sync RUN={self.run_dir}` delivers them",
            file=sys.stderr,
            flush=True,
        )

    def _keep_models(self) -> None:
        """Write the models still queued to their records' files, for `mnist-sync`."""
        delivered = self.outbox.delivered_seq()
        for seq, (model, example) in self.models.items():
            if seq > delivered:
                folder = self.outbox.files_of(seq)
                folder.mkdir(parents=True, exist_ok=True)
                model.save(folder / MODEL_FILE)
                np.save(folder / EXAMPLE_FILE, example)


def _now_ms() -> int:
    return int(time.time() * 1000)


def end_run_offline(status: str) -> None:
    """End the active run in this process while its store is away: MLflow's end_run pops it
    and then fails, quickly, to tell the store (the queue's END record will)."""
    if mlflow.active_run() is None:
        return
    with _requests_without_retries(), suppress(Exception):
        mlflow.end_run(status)


@contextmanager
def _requests_without_retries():
    saved = {name: os.environ.get(name) for name in (RETRIES_ENV, TIMEOUT_ENV)}
    os.environ[RETRIES_ENV], os.environ[TIMEOUT_ENV] = "0", "2"
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def hydra_overrides() -> list[str]:
    return list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []


def _run_exists(client: MlflowClient, run_id: str) -> bool:
    # A resumed training may now track to another store (the tracking keys are not part
    # of the resume fingerprint); then it starts a new run there.
    try:
        client.get_run(run_id)
    except mlflow.exceptions.MlflowException:
        return False
    return True


def _start_or_continue(cfg: DictConfig, state: RunState):
    """The active run: the resumed training's own run, else a new one (a child run when the
    multirun callback put its parent's id into the job's config)."""
    # System metrics go through the run's queue (`QueuedSystemMetrics`), not MLflow's monitor.
    previous = state.extra.get(RUN_ID_KEY)
    if previous and _run_exists(MlflowClient(cfg.tracking.uri), previous):
        return mlflow.start_run(run_id=previous, log_system_metrics=False)
    return mlflow.start_run(
        log_system_metrics=False,
        experiment_id=experiment_id(cfg.tracking),
        run_name=run_name(cfg),
        parent_run_id=cfg.tracking.parent_run_id,
        tags=run_tags(cfg, hydra_overrides()),
    )


def deliver_earlier_queues(uri: str, run_dir: Path, state: RunState) -> None:
    """What an earlier process of this training left queued (in this run directory, or in
    the one it resumes), delivered before anything new: the store is there now."""
    for folder in {
        Path(run_dir),
        *([Path(state.extra[RESUMED_FROM_KEY])] if RESUMED_FROM_KEY in state.extra else []),
    }:
        outbox = Outbox(folder)
        if not outbox.pending():
            continue
        try:
            outbox.take_delivery()
            try:
                deliver_all(Delivery(outbox, MlflowClient(outbox.target()["uri"])))
            finally:
                outbox.release_delivery()
        except Exception as error:  # noqa: BLE001
            if outbox.target() == {"uri": uri, "run_id": state.extra.get(RUN_ID_KEY)}:
                raise  # this run's own store: backfilling past it would log its epochs twice
            print(
                f"tracking: {folder} keeps records of an earlier process ({first_line(error)}); "
                f"`make sync RUN={folder}` delivers them",
                file=sys.stderr,
                flush=True,
            )


@contextmanager
def track_run(job: Job):
    """The job's MLflow run, around training and evaluation; its start is `tracking_start_s`."""
    cfg, run_dir, state, timings = job.cfg, job.run_dir, job.state, job.timings
    if not cfg.tracking.enabled:
        yield NoTracking()
        return
    stopwatch = Stopwatch()
    with stopwatch:
        use_stack_server(cfg.tracking)
        apply_request_settings(cfg.tracking.delivery)
        mlflow.set_tracking_uri(cfg.tracking.uri)
        deliver_earlier_queues(cfg.tracking.uri, run_dir, state)
        run = _start_or_continue(cfg, state)
        try:
            state.extra[RUN_ID_KEY] = run.info.run_id
            save_state(run_dir, state)
            tracker = Tracker(job, run.info.run_id, stopwatch)
            tracker.log_start(job.splits)
            tracker.start_sending()
        except BaseException as error:  # before the queue: end the run directly
            interrupted = interrupt_behind(error) is not None
            end_active_run(
                KILLED if interrupted else FAILED, None if interrupted else failure_reason(error)
            )
            raise
    timings.add("tracking_start_s", stopwatch.seconds)
    with ends_run(tracker.close):
        check_for_stop()
        yield tracker
