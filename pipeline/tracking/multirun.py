"""The Hydra callback: a ready store before any job, and one parent run per multirun.

Runs in the launching process, before Hydra creates output directories; imports no
TensorFlow. Jobs find the parent in their own config (`tracking.parent_run_id`, added to
the sweep's overrides), which every launcher passes on, to processes and machines alike.
A search on a shared Optuna storage has one parent for the whole study, however many
workers, launchers or resumes run it: `pipeline.search.multirun` (tracking knows no Optuna).

MLflow and pandas are imported inside the hooks: Hydra instantiates every callback before
any of them runs, so a bad override (`ValidateConfig`, first) is answered without waiting
for their import.
"""

from __future__ import annotations

import atexit
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf, open_dict, read_write

from pipeline.tracking.naming import PARENT_RUN_OVERRIDE, git_state, redact, user_overrides
from pipeline.tracking.records import (
    MULTIRUN_TAG,
    OBJECTIVE_TAG,
    OVERRIDES_TAG,
    PARENT_VALUE,
    SWEEP_DIR_TAG,
    SWEEP_PARAM_PREFIX,
)

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from pipeline.tracking.outbox import Outbox


def _ready_store(config: DictConfig) -> None:
    from pipeline.tracking.credentials import use_stack_server
    from pipeline.tracking.store import TrackingStoreError, prepare_store

    use_stack_server(config.tracking)
    try:
        prepare_store(config.tracking.uri, config.tracking.connect_timeout)
    except TrackingStoreError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)


def delivery_settings(tracking: DictConfig) -> DictConfig:
    """`tracking.delivery`, else the schema's defaults (an app of its own, such as the tests'
    tiny sweeper app, may use this callback with a shorter tracking config)."""
    from pipeline.config.schema import DeliveryConfig

    return OmegaConf.select(tracking, "delivery") or OmegaConf.structured(DeliveryConfig)


def sweep_params(config: DictConfig) -> dict[str, str]:
    """What the sweep varies: command-line overrides and the sweeper's `params`."""
    params = {}
    sweeper_params = OmegaConf.select(config, "hydra.sweeper.params") or {}
    for key, values in sweeper_params.items():
        params[f"{SWEEP_PARAM_PREFIX}{key}"] = str(values)
    for override in config.hydra.overrides.task:
        key, _, value = override.partition("=")
        params[f"{SWEEP_PARAM_PREFIX}{key.lstrip('+~')}"] = redact(value)
    return params


def pass_parent_to_jobs(config: DictConfig, parent_id: str) -> None:
    """Put the parent's id into every job's config: Hydra hands `hydra.overrides.task` to the
    sweeper after this callback, and each job composes its config from those overrides."""
    with read_write(config), open_dict(config):
        config.tracking.parent_run_id = parent_id  # for the sweeper, in this process
        task = [
            o for o in config.hydra.overrides.task if not o.startswith(PARENT_RUN_OVERRIDE + "=")
        ]
        config.hydra.overrides.task = [*task, f"{PARENT_RUN_OVERRIDE}={parent_id}"]


class MultirunTracking(Callback):
    """One parent run per multirun, its jobs' runs its children, a summary at the end.
    `pipeline.search.multirun.MlflowTracking` (the callback conf/config.yaml names) adds what
    a search on a shared Optuna storage needs; the two hooks below are where."""

    def __init__(self) -> None:
        self.parent_id: str | None = None
        self.client: MlflowClient | None = None
        self.sweep_dir: Path | None = None

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        if config.tracking.enabled:
            _ready_store(config)

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        if not config.tracking.enabled:
            return
        _ready_store(config)
        from mlflow import MlflowClient

        from pipeline.tracking.delivery import apply_request_settings

        apply_request_settings(delivery_settings(config.tracking))  # the bounds every job has
        self.client = MlflowClient(config.tracking.uri)
        self.sweep_dir = Path(str(config.hydra.sweep.dir))
        self.parent_id = self.parent_run(config)
        pass_parent_to_jobs(config, self.parent_id)
        # A failing job stops Hydra before on_multirun_end: the parent must not stay RUNNING.
        atexit.register(self._end_parent, config.tracking, "FAILED")

    def parent_run(self, config: DictConfig) -> str:
        """The multirun's parent run id (hook: a search's study may have one already)."""
        name = f"multirun {self.sweep_dir.parent.name} {self.sweep_dir.name}"
        return self.create_parent(config, name, {})

    def before_summary(self, parent: Any) -> None:
        """Called with the parent run before its summary is written (hook)."""

    def create_parent(self, config: DictConfig, run_name: str, tags: dict[str, str]) -> str:
        from pipeline.tracking.store import experiment_id

        parent = self.client.create_run(
            experiment_id(config.tracking),
            run_name=run_name,
            tags={
                MULTIRUN_TAG: PARENT_VALUE,
                SWEEP_DIR_TAG: str(Path(str(config.hydra.sweep.dir))),
                OVERRIDES_TAG: " ".join(user_overrides(config.hydra.overrides.task)),
                OBJECTIVE_TAG: f"{config.trainer.objective_mode} {config.trainer.objective}",
                **tags,
                **git_state(),
            },
        )
        for key, value in sweep_params(config).items():
            self.client.log_param(parent.info.run_id, key, value)
        return parent.info.run_id

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        """The summary (children.csv, the best child, the count), the UI's links, the parent
        FINISHED. A store that is away is waited for as long as a run waits for its queue;
        past that, what it did not take (the summary, the end) is queued in the sweep folder
        for `mnist-sync`: the end is tried whatever became of the summary, so that a summary
        the store keeps refusing cannot keep the parent RUNNING."""
        if self.parent_id is None:
            return
        from pipeline.processes.console import first_line
        from pipeline.processes.patience import say
        from pipeline.tracking.outbox import SUMMARY

        wait = self._store_wait(config.tracking, "the multirun's summary")
        objective, mode = config.trainer.objective, config.trainer.objective_mode
        links: list[str] = []
        try:
            error = wait.attempt(lambda: self._write_summary(objective, mode))
            if error is None:
                wait.attempt(lambda: links.append(self._links_text(config)))
        except KeyboardInterrupt:  # the parent KILLED, within the wait an interrupted run has
            wait = self._store_wait(config.tracking, "the multirun's parent run", interrupted=True)
            self._end_parent(config.tracking, "KILLED", wait)
            raise
        if links:
            print(links[0])
        if error is not None:
            self._queue(config.tracking).put(SUMMARY, objective=objective, mode=mode)
            say(
                f"tracking: {config.tracking.uri} did not take the multirun's summary "
                f"({first_line(error)}); `make sync RUN={self.sweep_dir}` delivers it, once its "
                "jobs' records"
            )
        self._end_parent(config.tracking, "FINISHED", wait)

    def _write_summary(self, objective: str, mode: str) -> None:
        from pipeline.tracking.multirun_summary import write_summary

        write_summary(self.client, self.parent_id, objective, mode, self.before_summary)

    def _links_text(self, config: DictConfig) -> str:
        from pipeline.tracking.ui_links import multirun_links

        return multirun_links(self.client, config.tracking.ui_url, self.parent_id).text()

    @staticmethod
    def _store_wait(tracking: DictConfig, what: str, interrupted: bool = False):
        from pipeline.tracking.store_wait import StoreWait

        delivery = delivery_settings(tracking)
        seconds = delivery.interrupted_wait if interrupted else delivery.final_wait
        return StoreWait(tracking.uri, seconds, delivery.max_backoff, what)

    def _queue(self, tracking: DictConfig) -> Outbox:
        """The parent's tracking queue, in the sweep folder (its jobs' queues are in theirs)."""
        from pipeline.tracking.outbox import Outbox

        outbox = Outbox(self.sweep_dir)
        outbox.open(tracking.uri, self.parent_id)
        return outbox

    def _end_parent(self, tracking: DictConfig, status: str, wait=None) -> None:
        """End the parent run with `status`, an MLflow run status name (FINISHED, FAILED); a
        store that does not come back in time gets the end queued, with when it ended."""
        if self.parent_id is None:
            return
        import time

        from pipeline.processes.console import first_line
        from pipeline.processes.patience import say
        from pipeline.tracking.outbox import END

        atexit.unregister(self._end_parent)
        ended_ms = int(time.time() * 1000)
        wait = wait or self._store_wait(tracking, "the multirun's parent run")
        try:
            error = wait.attempt(
                lambda: self.client.set_terminated(self.parent_id, status, ended_ms)
            )
        except KeyboardInterrupt:
            error = KeyboardInterrupt("interrupted while waiting")
        if error is not None:
            self._queue(tracking).put(END, status=status, time_ms=ended_ms)
            say(
                f"tracking: {tracking.uri} did not take the end of the multirun's parent run "
                f"{self.parent_id} ({first_line(error)}); it stays RUNNING there until `make "
                f"sync RUN={self.sweep_dir}` delivers it, once its jobs' records"
            )
        self.parent_id = None
