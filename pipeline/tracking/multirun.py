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
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf, open_dict, read_write

from pipeline.tracking.naming import PARENT_RUN_OVERRIDE, git_state, redact, user_overrides
from pipeline.tracking.records import (
    BEST_CHILD_RUN_ID_TAG,
    BEST_CHILD_TAG,
    CHILDREN_TAG,
    MULTIRUN_TAG,
    OBJECTIVE_TAG,
    OVERRIDES_TAG,
    PARENT_ID_TAG,
    PARENT_VALUE,
    SWEEP_DIR_TAG,
    SWEEP_PARAM_PREFIX,
    best_metric_name,
)

if TYPE_CHECKING:
    import pandas as pd
    from mlflow import MlflowClient

# Children's figures in the parent's summary table, beside the objective.
_SUMMARY_METRICS = ("test/accuracy", "test/loss")


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


def children_table(client: MlflowClient, parent: Any, objective: str) -> pd.DataFrame:
    import pandas as pd

    children = client.search_runs(
        [parent.info.experiment_id], f"tags.`{PARENT_ID_TAG}` = '{parent.info.run_id}'"
    )
    return pd.DataFrame(
        [
            {
                "run_id": run.info.run_id,
                "run_name": run.info.run_name,
                "status": run.info.status,
                OVERRIDES_TAG: run.data.tags.get(OVERRIDES_TAG, ""),
                best_metric_name(objective): run.data.metrics.get(best_metric_name(objective)),
                **{name: run.data.metrics.get(name) for name in _SUMMARY_METRICS},
            }
            for run in children
        ]
    )


def best_child(table: pd.DataFrame, objective: str, mode: str) -> pd.Series | None:
    scored = table.dropna(subset=[best_metric_name(objective)]) if len(table) else table
    if not len(scored):
        return None
    column = scored[best_metric_name(objective)]
    return scored.loc[column.idxmax() if mode == "max" else column.idxmin()]


class MultirunTracking(Callback):
    """One parent run per multirun, its jobs' runs its children, a summary at the end.
    `pipeline.search.multirun.MlflowTracking` (the callback conf/config.yaml names) adds what
    a search on a shared Optuna storage needs; the two hooks below are where."""

    def __init__(self) -> None:
        self.parent_id: str | None = None
        self.client: MlflowClient | None = None

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
        self.parent_id = self.parent_run(config)
        pass_parent_to_jobs(config, self.parent_id)
        # A failing job stops Hydra before on_multirun_end: the parent must not stay RUNNING.
        atexit.register(self._end_parent, config.tracking, "FAILED")

    def parent_run(self, config: DictConfig) -> str:
        """The multirun's parent run id (hook: a search's study may have one already)."""
        sweep_dir = Path(str(config.hydra.sweep.dir))
        return self.create_parent(config, f"multirun {sweep_dir.parent.name} {sweep_dir.name}", {})

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
        FINISHED. A store that is away is waited for as long as a run waits for its queue."""
        if self.parent_id is None:
            return
        from pipeline.processes.console import first_line
        from pipeline.processes.patience import say

        wait = self._store_wait(config.tracking, "the multirun's summary")
        links: list[str] = []
        try:
            error = wait.attempt(lambda: self._write_summary(config)) or wait.attempt(
                lambda: links.append(self._links_text(config))
            )
        except KeyboardInterrupt:  # the parent KILLED, within the wait an interrupted run has
            wait = self._store_wait(config.tracking, "the multirun's parent run", interrupted=True)
            self._end_parent(config.tracking, "KILLED", wait)
            raise
        if links:
            print(links[0])
        if error is not None:
            say(
                f"tracking: {config.tracking.uri} did not take the multirun's summary ({first_line(error)})"
            )
        self._end_parent(config.tracking, "FINISHED", wait)

    def _write_summary(self, config: DictConfig) -> None:
        """Each part sets a value, so that it can be attempted again after a failed request."""
        objective, mode = config.trainer.objective, config.trainer.objective_mode
        parent = self.client.get_run(self.parent_id)
        self.before_summary(parent)
        table = children_table(self.client, parent, objective)
        with tempfile.TemporaryDirectory() as tmp:
            table.to_csv(Path(tmp) / "children.csv", index=False)
            self.client.log_artifact(self.parent_id, str(Path(tmp) / "children.csv"))
        best = best_child(table, objective, mode)
        if best is not None:
            self.client.set_tag(self.parent_id, BEST_CHILD_RUN_ID_TAG, best["run_id"])
            self.client.set_tag(
                self.parent_id, BEST_CHILD_TAG, f"{best['run_name']} ({best[OVERRIDES_TAG]})"
            )
            name = best_metric_name(objective)
            value = best[name]
            if parent.data.metrics.get(name) != value:  # a metric is added, not set
                self.client.log_metric(self.parent_id, name, value)
        self.client.set_tag(self.parent_id, CHILDREN_TAG, str(len(table)))

    def _links_text(self, config: DictConfig) -> str:
        from pipeline.tracking.ui_links import multirun_links

        return multirun_links(self.client, config.tracking.ui_url, self.parent_id).text()

    @staticmethod
    def _store_wait(tracking: DictConfig, what: str, interrupted: bool = False):
        from pipeline.tracking.store_wait import StoreWait

        delivery = delivery_settings(tracking)
        seconds = delivery.interrupted_wait if interrupted else delivery.final_wait
        return StoreWait(tracking.uri, seconds, delivery.max_backoff, what)

    def _end_parent(self, tracking: DictConfig, status: str, wait=None) -> None:
        """End the parent run with `status`, an MLflow run status name (FINISHED, FAILED); a
        store that does not come back in time leaves it RUNNING there, in one line."""
        if self.parent_id is None:
            return
        from pipeline.processes.console import first_line
        from pipeline.processes.patience import say

        parent_id, self.parent_id = self.parent_id, None
        atexit.unregister(self._end_parent)
        wait = wait or self._store_wait(tracking, "the multirun's parent run")
        try:
            error = wait.attempt(lambda: self.client.set_terminated(parent_id, status))
        except KeyboardInterrupt:
            error = KeyboardInterrupt("interrupted while waiting")
        if error is not None:
            say(
                f"tracking: {tracking.uri} did not take the end of the multirun's parent run "
                f"{parent_id} ({first_line(error)}); it stays RUNNING there, its jobs' runs are "
                "recorded (`make sync` delivers what they queued)"
            )
