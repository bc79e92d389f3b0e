"""The Hydra callback: a ready store before any job, and one parent run per multirun.

Runs in the launching process, before Hydra creates output directories; imports no
TensorFlow. Jobs find the parent through the `MLFLOW_PARENT_RUN_ID` environment variable,
which launchers that start jobs in other processes pass on.
"""
import atexit
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, Optional

import pandas as pd
from hydra.experimental.callback import Callback
from mlflow import MlflowClient
from mlflow.entities import RunStatus
from omegaconf import DictConfig, OmegaConf

from pipeline.tracking.naming import git_state
from pipeline.tracking.records import (BEST_CHILD_RUN_ID_TAG, BEST_CHILD_TAG, CHILDREN_TAG, MULTIRUN_TAG,
                                       OBJECTIVE_TAG, OVERRIDES_TAG, PARENT_VALUE, SWEEP_DIR_TAG,
                                       SWEEP_PARAM_PREFIX, best_metric_name)
from pipeline.tracking.store import TrackingStoreError, experiment_id, prepare_store
from pipeline.tracking.tracker import PARENT_RUN_ENV

# Children's figures in the parent's summary table, beside the objective.
_SUMMARY_METRICS = ("test/accuracy", "test/loss")


def _ready_store(config: DictConfig) -> None:
    try:
        prepare_store(config.tracking.uri, config.tracking.connect_timeout)
    except TrackingStoreError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)


def sweep_params(config: DictConfig) -> dict[str, str]:
    """What the sweep varies: command-line overrides and the sweeper's `params`."""
    params = {}
    sweeper_params = OmegaConf.select(config, "hydra.sweeper.params") or {}
    for key, values in sweeper_params.items():
        params[f"{SWEEP_PARAM_PREFIX}{key}"] = str(values)
    for override in config.hydra.overrides.task:
        key, _, value = override.partition("=")
        params[f"{SWEEP_PARAM_PREFIX}{key.lstrip('+~')}"] = value
    return params


def children_table(client: MlflowClient, parent: Any, objective: str) -> pd.DataFrame:
    children = client.search_runs([parent.info.experiment_id],
                                  f"tags.mlflow.parentRunId = '{parent.info.run_id}'")
    return pd.DataFrame([{
        "run_id": run.info.run_id,
        "run_name": run.info.run_name,
        "status": run.info.status,
        OVERRIDES_TAG: run.data.tags.get(OVERRIDES_TAG, ""),
        best_metric_name(objective): run.data.metrics.get(best_metric_name(objective)),
        **{name: run.data.metrics.get(name) for name in _SUMMARY_METRICS},
    } for run in children])


def best_child(table: pd.DataFrame, objective: str, mode: str) -> Optional[pd.Series]:
    scored = table.dropna(subset=[best_metric_name(objective)]) if len(table) else table
    if not len(scored):
        return None
    column = scored[best_metric_name(objective)]
    return scored.loc[column.idxmax() if mode == "max" else column.idxmin()]


class MlflowTracking(Callback):
    """`hydra.callbacks.mlflow` in conf/config.yaml."""

    def __init__(self) -> None:
        self.parent_id: Optional[str] = None
        self.client: Optional[MlflowClient] = None

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        if config.tracking.enabled:
            _ready_store(config)

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        if not config.tracking.enabled:
            return
        _ready_store(config)
        self.client = MlflowClient(config.tracking.uri)
        sweep_dir = Path(str(config.hydra.sweep.dir))
        parent = self.client.create_run(
            experiment_id(config.tracking),
            run_name=f"multirun {sweep_dir.parent.name} {sweep_dir.name}",
            tags={MULTIRUN_TAG: PARENT_VALUE, SWEEP_DIR_TAG: str(sweep_dir),
                  OVERRIDES_TAG: " ".join(config.hydra.overrides.task),
                  OBJECTIVE_TAG: f"{config.trainer.objective_mode} {config.trainer.objective}",
                  **git_state()},
        )
        self.parent_id = parent.info.run_id
        for key, value in sweep_params(config).items():
            self.client.log_param(self.parent_id, key, value)
        os.environ[PARENT_RUN_ENV] = self.parent_id
        # A failing job stops Hydra before on_multirun_end: the parent must not stay RUNNING.
        atexit.register(self._end_parent, RunStatus.FAILED)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        if self.parent_id is None:
            return
        objective, mode = config.trainer.objective, config.trainer.objective_mode
        parent = self.client.get_run(self.parent_id)
        table = children_table(self.client, parent, objective)
        with tempfile.TemporaryDirectory() as tmp:
            table.to_csv(Path(tmp) / "children.csv", index=False)
            self.client.log_artifact(self.parent_id, str(Path(tmp) / "children.csv"))
        best = best_child(table, objective, mode)
        if best is not None:
            self.client.set_tag(self.parent_id, BEST_CHILD_RUN_ID_TAG, best["run_id"])
            self.client.set_tag(self.parent_id, BEST_CHILD_TAG, f"{best['run_name']} ({best[OVERRIDES_TAG]})")
            self.client.log_metric(self.parent_id, best_metric_name(objective), best[best_metric_name(objective)])
        self.client.set_tag(self.parent_id, CHILDREN_TAG, str(len(table)))
        self._end_parent(RunStatus.FINISHED)

    def _end_parent(self, status: int) -> None:
        if self.parent_id is None:
            return
        self.client.set_terminated(self.parent_id, RunStatus.to_string(status))
        atexit.unregister(self._end_parent)
        os.environ.pop(PARENT_RUN_ENV, None)
        self.parent_id = None
