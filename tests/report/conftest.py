"""A real store for the report tests: one smoke multirun (two optimizers x two seeds) and one
diverging job of the same multirun, trained once per session."""
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from mlflow import MlflowClient
from mlflow.entities import Run

from pipeline import PROJECT_ROOT

EXPERIMENT_NAME = "report-test"
ARMS, SEEDS = ("sgd", "adam"), (1, 2)
# The extra job in the sgd arm: a learning rate that turns the loss into NaN in the first epoch.
DIVERGING = ("optimizer=sgd", "optimizer.learning_rate=1e12", "trainer.seed=3")


def store_overrides(root: Path) -> list[str]:
    return [f"paths.output_dir={root}/outputs", f"paths.mlruns_dir={root}/mlruns",
            f"tracking.uri=sqlite:///{root}/mlruns/mlflow.db", f"tracking.experiment_name={EXPERIMENT_NAME}"]


def train(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline.train", *args, "trainer=smoke",
                           "tracking.log_model=false", "tracking.log_checkpoints=false"],
                          cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})})


@dataclass
class SmokeStore:
    root: Path
    overrides: list[str]
    client: MlflowClient
    parent: Run
    children: list[Run]

    def child_with(self, *overrides: str) -> Run:
        (run,) = [r for r in self.children if set(overrides) <= set(r.data.tags["overrides"].split())]
        return run


@pytest.fixture(scope="session")
def smoke_store(tmp_path_factory) -> SmokeStore:
    root = tmp_path_factory.mktemp("report-store")
    overrides = store_overrides(root)
    sweep = train("-m", f"optimizer={','.join(ARMS)}", f"trainer.seed={','.join(map(str, SEEDS))}", *overrides)
    assert sweep.returncode == 0, sweep.stderr
    client = MlflowClient(overrides[2].removeprefix("tracking.uri="))
    experiment = client.get_experiment_by_name(EXPERIMENT_NAME)
    (parent,) = client.search_runs([experiment.experiment_id], "tags.multirun = 'parent'")
    # A job of the same multirun that fails: as a launcher would start it, with the parent's id.
    diverged = train(*DIVERGING, *overrides, f"tracking.parent_run_id={parent.info.run_id}")
    assert diverged.returncode != 0
    children = client.search_runs([experiment.experiment_id], f"tags.mlflow.parentRunId = '{parent.info.run_id}'")
    return SmokeStore(root, overrides, client, parent, children)
