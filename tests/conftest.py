"""Shared test helpers: composing the real configs, running the real CLI (or its Hydra app in
this process), and the one real multirun store that the tracking and report tests read."""
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from mlflow import MlflowClient
from mlflow.entities import Run

from pipeline import PROJECT_ROOT
from pipeline.config.compose import compose_config  # noqa: F401  (re-exported for the tests)


def isolated_overrides(tmp: Path) -> list[str]:
    """Send every output of a run (Hydra dirs, checkpoints, MLflow store) under `tmp`."""
    return [f"paths.output_dir={tmp}/outputs", f"paths.mlruns_dir={tmp}/mlruns",
            f"tracking.uri=sqlite:///{tmp}/mlruns/mlflow.db"]


def run_cli(*args: str, timeout: float = 300, **popen) -> subprocess.CompletedProcess:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run([sys.executable, "-m", "pipeline.train", *args], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=timeout, env=env, **popen)


def run_in_process(*overrides: str):
    """What `python -m pipeline.train OVERRIDES` runs, in this process: Hydra composes, its
    callbacks run and the job runs with its Hydra config set (so a run is tagged with its
    overrides); the job's exception propagates. Saves a process start and TensorFlow's import."""
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from pipeline.train import main

    with initialize_config_dir(config_dir=str(PROJECT_ROOT / "conf"), version_base="1.3", job_name="train"):
        try:
            return GlobalHydra.instance().hydra.run(config_name="config", task_function=main.__wrapped__,
                                                    overrides=list(overrides), with_log_configuration=False)
        finally:
            GlobalHydra.instance().clear()


@pytest.fixture
def isolated(tmp_path: Path) -> list[str]:
    return isolated_overrides(tmp_path)


# The shared multirun store: two optimizers x two seeds of smoke training, and one diverging job.
SMOKE_EXPERIMENT = "smoke-multirun"
ARMS, SEEDS = ("sgd", "adam"), (1, 2)
# The extra job in the sgd arm: a learning rate that turns the loss into NaN in the first epoch.
DIVERGING = ("optimizer=sgd", "optimizer.learning_rate=1e12", "trainer.seed=3")
SMOKE_JOB = ("trainer=smoke", "tracking.log_model=false", "tracking.log_checkpoints=false")


@dataclass
class SmokeStore:
    root: Path
    overrides: list[str]       # where the store and outputs are, and the MLflow experiment
    client: MlflowClient
    parent: Run                # the multirun's parent run
    children: list[Run]        # its jobs, the diverging one included
    diverged: BaseException    # what the diverging job raised

    def child_with(self, *overrides: str) -> Run:
        (run,) = [r for r in self.children if set(overrides) <= set(r.data.tags["overrides"].split())]
        return run

    @property
    def jobs(self) -> list[Run]:
        """The multirun's own jobs, without the diverging job added to it afterwards."""
        diverged = self.child_with(DIVERGING[1]).info.run_id
        return [r for r in self.children if r.info.run_id != diverged]


@pytest.fixture(scope="session")
def smoke_store(tmp_path_factory) -> SmokeStore:
    """The real command line's multirun, its jobs in joblib's two worker processes (the parent's
    id reaches them in their config), then one job of the same multirun that diverges, started
    as a launcher would start it (with the parent's id; in this process, to spare a
    TensorFlow start-up). Shared by tests/tracking (parent and children) and tests/report."""
    from pipeline.training.callbacks import TrainingDiverged

    root = tmp_path_factory.mktemp("smoke-store")
    overrides = [*isolated_overrides(root), f"tracking.experiment_name={SMOKE_EXPERIMENT}"]
    sweep = run_cli("-m", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", *SMOKE_JOB,
                    f"optimizer={','.join(ARMS)}", f"trainer.seed={','.join(map(str, SEEDS))}", *overrides)
    assert sweep.returncode == 0, sweep.stderr[-3000:]
    client = MlflowClient(f"sqlite:///{root}/mlruns/mlflow.db")
    experiment = client.get_experiment_by_name(SMOKE_EXPERIMENT)
    (parent,) = client.search_runs([experiment.experiment_id], "tags.multirun = 'parent'")
    with pytest.raises(TrainingDiverged) as diverged:
        run_in_process(*SMOKE_JOB, *DIVERGING, *overrides, f"tracking.parent_run_id={parent.info.run_id}")
    children = client.search_runs([experiment.experiment_id], f"tags.mlflow.parentRunId = '{parent.info.run_id}'")
    return SmokeStore(root, overrides, client, parent, children, diverged.value)
