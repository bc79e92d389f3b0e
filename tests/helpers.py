"""Helpers for the tests in this folder (the fixtures are in conftest.py)."""

import tests.environment  # noqa: F401  (first: before anything imports the pipeline's config)

# isort: split
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from mlflow import MlflowClient
from mlflow.entities import Run

from pipeline import PROJECT_ROOT
from pipeline.config.compose import compose_config  # noqa: F401  (for the tests)
from pipeline.processes.locks import file_lock
from tests.environment import MLFLOW_CHOICES, child_environment  # noqa: F401  (for the tests)


def imports_tensorflow(*modules: str) -> bool:
    """Whether importing `modules` in a fresh interpreter imports TensorFlow or Keras."""
    code = f"import sys, {', '.join(modules)}; print('tensorflow' in sys.modules or 'keras' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    return result.stdout.strip() == "True"


# An empty MLflow store with its tables made (conftest.py builds it once per session): a new
# store's migrations cost seconds per process, and a user's runs meet an existing store.
EMPTY_STORE: dict[str, Path] = {}


def build_empty_store(folder: Path) -> None:
    client = MlflowClient(f"sqlite:///{folder}/mlflow.db")
    client.search_experiments()  # creates the tables
    client._tracking_client.store.engine.dispose()  # closed: the file is copied as it is


def isolated_overrides(tmp: Path, existing_store: bool = True) -> list[str]:
    """Send every output of a run (Hydra dirs, checkpoints, MLflow store) under `tmp`. The store
    starts as a copy of the session's empty one; `existing_store=False` leaves `tmp` empty (tests
    that nothing is written)."""
    store = tmp / "mlruns" / "mlflow.db"
    if existing_store and "path" in EMPTY_STORE and not store.exists():
        store.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(EMPTY_STORE["path"], store)
    return [
        f"paths.output_dir={tmp}/outputs",
        f"paths.mlruns_dir={tmp}/mlruns",
        f"tracking.uri=sqlite:///{tmp}/mlruns/mlflow.db",
    ]


def run_cli(*args: str, timeout: float = 300, **popen) -> subprocess.CompletedProcess:
    env = {**popen.pop("env", child_environment()), "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run(
        [sys.executable, "-m", "pipeline.train", *args],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        **popen,
    )


def run_in_process(*overrides: str):
    """What `python -m pipeline.train OVERRIDES` runs, in this process: Hydra composes, its
    callbacks run and the job runs with its Hydra config set (so a run is tagged with its
    overrides); the job's exception propagates. Saves a process start and TensorFlow's import."""
    from pipeline.bench.hydra_multirun import single_run
    from pipeline.train import main

    return single_run(
        PROJECT_ROOT / "conf", "config", main.__wrapped__, overrides, job_name="train"
    )


def built_once(tmp_path_factory, name: str, build: Callable[[Path], None]) -> Path:
    """A folder that `build` fills once per test session, however many pytest-xdist workers ask
    for it (`make test` runs two): the first to ask builds it under a lock, the others wait for
    it and read what it built (xdist's documented way to run a session fixture once). For
    fixtures that cost trainings and are read by tests in several files."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the session's folder, above each worker's own
    folder, done = root / name, root / f"{name}.built"
    with file_lock(root / f"{name}.lock"):
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)  # what a failed attempt left
            folder.mkdir()
            build(folder)
            done.touch()
    return folder


# The shared multirun store: two optimizers x two seeds of smoke training, and one diverging job.
ARMS, SEEDS = ("sgd", "adam"), (1, 2)
SMOKE_EXPERIMENT = "smoke-multirun"


# The extra job in the sgd arm: a learning rate that turns the loss into NaN in the first epoch.
DIVERGING = ("optimizer=sgd", "optimizer.learning_rate=1e12", "trainer.seed=3")


# What each job of the store runs: smoke training, no model or checkpoint artifacts, and no
# system metrics (tests/tracking/test_system_metrics.py checks that switch on these runs).
SMOKE_JOB = (
    "trainer=smoke",
    "tracking.log_model=false",
    "tracking.log_checkpoints=false",
    "tracking.system_metrics=false",
    "tracking.system_metrics_interval=0.2",
)


@dataclass
class SmokeStore:
    root: Path
    overrides: list[str]  # where the store and outputs are, and the MLflow experiment
    client: MlflowClient
    parent: Run  # the multirun's parent run
    children: list[Run]  # its jobs, the diverging one included
    diverged: str  # what the diverging job raised: `TrainingDiverged: ...`

    def child_with(self, *overrides: str) -> Run:
        (run,) = [
            r for r in self.children if set(overrides) <= set(r.data.tags["overrides"].split())
        ]
        return run

    @property
    def jobs(self) -> list[Run]:
        """The multirun's own jobs, without the diverging job added to it afterwards."""
        diverged = self.child_with(DIVERGING[1]).info.run_id
        return [r for r in self.children if r.info.run_id != diverged]


def smoke_store_overrides(root: Path) -> list[str]:
    return [*isolated_overrides(root), f"tracking.experiment_name={SMOKE_EXPERIMENT}"]


def _parent_run(client: MlflowClient) -> Run:
    experiment = client.get_experiment_by_name(SMOKE_EXPERIMENT)
    (parent,) = client.search_runs([experiment.experiment_id], "tags.multirun = 'parent'")
    return parent


def build_smoke_store(root: Path) -> None:
    """The real command line's multirun, its jobs in joblib's two worker processes (the parent's
    id reaches them in their config), then one job of the same multirun that diverges, started
    as a launcher would start it (with the parent's id; in this process, to spare a
    TensorFlow start-up)."""
    from pipeline.training.callbacks import TrainingDiverged

    overrides = smoke_store_overrides(root)
    sweep = run_cli(
        "-m",
        "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2",
        *SMOKE_JOB,
        f"optimizer={','.join(ARMS)}",
        f"trainer.seed={','.join(map(str, SEEDS))}",
        *overrides,
    )
    assert sweep.returncode == 0, sweep.stderr[-3000:]
    parent = _parent_run(MlflowClient(f"sqlite:///{root}/mlruns/mlflow.db"))
    with pytest.raises(TrainingDiverged) as diverged:
        run_in_process(
            *SMOKE_JOB, *DIVERGING, *overrides, f"tracking.parent_run_id={parent.info.run_id}"
        )
    (root / "diverged.txt").write_text(f"{diverged.type.__name__}: {diverged.value}")
