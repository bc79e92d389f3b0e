"""One MLflow run per training job: `with track_run(cfg, run_dir, state, splits, timings) as tracker:`.

The run starts (or, for a resumed training, continues) before the first epoch and ends
with the job: FINISHED, FAILED or KILLED (see `lifecycle`). Tracking observes; it never
changes what is trained.
"""
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from hydra.core.hydra_config import HydraConfig
from mlflow import MlflowClient
from mlflow.entities import Metric
from omegaconf import DictConfig, OmegaConf

from pipeline.checkpoints import RunState, save_state
from pipeline.timings import JobTimings
from pipeline.tracking import plots
from pipeline.tracking.credentials import use_stack_server
from pipeline.tracking.dataset_input import log_dataset_input
from pipeline.tracking.lifecycle import ends_active_run
from pipeline.tracking.naming import flat_params, run_name, run_tags
from pipeline.tracking.records import (MODEL_URI_TAG, REGISTERED_VERSION_TAG, TRACKING_SECONDS_METRIC,
                                       best_metric_name, metric_name)
from pipeline.tracking.stopwatch import Stopwatch
from pipeline.tracking.store import experiment_id

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
    """Logs one run; `stopwatch` sums the time spent doing so, logged as `tracking/seconds`."""

    def __init__(self, cfg: DictConfig, run_dir: Path, state: RunState, run_id: str, stopwatch: Stopwatch,
                 timings: JobTimings):
        self.cfg, self.run_dir, self.state, self.run_id = cfg, Path(run_dir), state, run_id
        self.client = MlflowClient(cfg.tracking.uri)
        self.stopwatch, self.timings = stopwatch, timings

    def callbacks(self) -> list:
        """Keras callbacks to add after the checkpoint callback."""
        from pipeline.tracking.epoch_logging import EpochLogger  # imports Keras
        return [EpochLogger(self.client, self.run_id, self.run_dir, self.cfg.tracking.log_checkpoints,
                            self.stopwatch, self.timings)]

    def where(self) -> str:
        """The line that tells the user where the run was recorded."""
        return (f"recorded as MLflow run {self.run_id} in experiment {self.cfg.tracking.experiment_name!r} "
                f"of {self.cfg.tracking.uri} (browse it with `make ui`)")

    def log_start(self, splits) -> None:
        """Parameters and dataset (only those not logged yet, when continuing a run), and the
        epochs a killed process checkpointed but did not log."""
        run = self.client.get_run(self.run_id)
        params = {k: v for k, v in flat_params(self.cfg).items() if k not in run.data.params}
        items = list(params.items())
        for start in range(0, len(items), _PARAMS_PER_REQUEST):
            mlflow.log_params(dict(items[start:start + _PARAMS_PER_REQUEST]))
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
        self.client.log_metric(self.run_id, TRACKING_SECONDS_METRIC, self.stopwatch.seconds, step=self._final_step())

    def _final_step(self) -> int:
        """The step (0-based epoch) of the run's end-of-training figures: its last epoch."""
        return max(self.state.completed_epochs - 1, 0)

    def _log_results(self, model, splits, test, probabilities: np.ndarray, objective: float) -> None:
        final_step = self._final_step()
        timestamp = int(time.time() * 1000)
        figures = {metric_name(key): value for key, value in test.as_dict("test").items()} if test is not None else {}
        figures[best_metric_name(self.cfg.trainer.objective)] = objective
        self.client.log_batch(self.run_id, metrics=[   # one request, not one per figure
            Metric(name, float(value), timestamp, final_step) for name, value in figures.items()])
        self._log_files(splits, test, probabilities)
        if self.cfg.tracking.log_model:
            with self.timings.measure("model_upload_s"):
                self._log_model(model, splits)

    def _log_files(self, splits, test, probabilities: np.ndarray) -> None:
        mlflow.log_text(OmegaConf.to_yaml(self.cfg, resolve=True), "config.yaml")
        for name in ("model_summary.txt", "metrics.json"):
            if (self.run_dir / name).is_file():
                mlflow.log_artifact(str(self.run_dir / name))
        if (self.run_dir / ".hydra").is_dir():
            mlflow.log_artifacts(str(self.run_dir / ".hydra"), "hydra")
        if self.cfg.tracking.log_checkpoints:
            mlflow.log_artifact(str(self.run_dir / "checkpoints" / "state.json"), "checkpoints")
        with tempfile.TemporaryDirectory() as tmp, self.timings.measure("figures_s"):
            figures = Path(tmp)
            plots.learning_curves(self.state.history, figures / "learning_curves.png")
            if test is not None:   # trainer.test_evaluation=false: no test figures
                self._draw_test_figures(splits, test, probabilities, figures)
            mlflow.log_artifacts(tmp, "evaluation")

    @staticmethod
    def _draw_test_figures(splits, test, probabilities: np.ndarray, folder: Path) -> None:
        plots.confusion_matrix(test.confusion, folder / "confusion_matrix.png")
        plots.misclassified_grid(splits.test_x, splits.test_y, probabilities, folder / "misclassified.png")
        classes = range(test.confusion.shape[0])
        pd.DataFrame(test.confusion, index=pd.Index(classes, name="true"),
                     columns=[f"predicted_{c}" for c in classes]).to_csv(folder / "confusion_matrix.csv")

    def _log_model(self, model, splits) -> None:
        from pipeline.tracking.model_logging import log_keras_model, register  # imports Keras
        model_uri = log_keras_model(model, splits.test_x[:_INPUT_EXAMPLE_SIZE], self.run_id)
        mlflow.set_tag(MODEL_URI_TAG, model_uri)
        if self.cfg.tracking.register_as:
            version = register(model_uri, self.cfg.tracking.register_as, self.cfg.tracking.register_alias)
            mlflow.set_tag(REGISTERED_VERSION_TAG, f"{self.cfg.tracking.register_as}/{version}")


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
    # System metrics: a thread samples psutil (and NVML) every interval until the run ends.
    mlflow.set_system_metrics_sampling_interval(cfg.tracking.system_metrics_interval)
    system_metrics = cfg.tracking.system_metrics
    previous = state.extra.get(RUN_ID_KEY)
    if previous and _run_exists(MlflowClient(cfg.tracking.uri), previous):
        return mlflow.start_run(run_id=previous, log_system_metrics=system_metrics)
    return mlflow.start_run(
        log_system_metrics=system_metrics,
        experiment_id=experiment_id(cfg.tracking),
        run_name=run_name(cfg),
        parent_run_id=cfg.tracking.parent_run_id,
        tags=run_tags(cfg, hydra_overrides()),
    )


@contextmanager
def track_run(cfg: DictConfig, run_dir: Path, state: RunState, splits, timings: JobTimings):
    """The job's MLflow run, around training and evaluation; its start is `tracking_start_s`."""
    if not cfg.tracking.enabled:
        yield NoTracking()
        return
    stopwatch = Stopwatch()
    with stopwatch:
        use_stack_server(cfg.tracking)
        mlflow.set_tracking_uri(cfg.tracking.uri)
        run = _start_or_continue(cfg, state)
    with ends_active_run():
        with stopwatch:
            state.extra[RUN_ID_KEY] = run.info.run_id
            save_state(run_dir, state)
            tracker = Tracker(cfg, run_dir, state, run.info.run_id, stopwatch, timings)
            tracker.log_start(splits)
        timings.add("tracking_start_s", stopwatch.seconds)
        yield tracker
