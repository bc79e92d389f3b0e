"""Running searches for the sweeper's tests: the tiny app in-process or as worker processes."""

import collections
import os
import subprocess
import sys
from pathlib import Path

import optuna
import pytest

from pipeline import PROJECT_ROOT
from pipeline.bench.hydra_multirun import multirun
from tests.sweeper.app.objective import objective

APP_DIR = Path(__file__).parent / "app"


def start_worker(*overrides: str) -> subprocess.Popen:
    """The tiny app's search as a separate worker process."""
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    return subprocess.Popen(
        [sys.executable, str(APP_DIR / "objective.py"), "-m", *overrides],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def states(storage: str, study_name: str) -> collections.Counter:
    study = optuna.load_study(study_name=study_name, storage=storage)
    return collections.Counter(t.state.name for t in study.trials)


@pytest.fixture
def sqlite_storage(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/optuna.db"


@pytest.fixture
def run_app(tmp_path: Path):
    """Run the tiny app's search in-process, its outputs under tmp_path; no plots unless asked."""

    def run(*overrides: str, study_name: str = "test"):
        return multirun(
            APP_DIR,
            "objective",
            objective,
            [
                f"hydra.sweep.dir={tmp_path}/sweep",
                f"hydra.sweeper.study_name={study_name}",
                "hydra.sweeper.plots=false",
                *overrides,
            ],
        )

    return run
