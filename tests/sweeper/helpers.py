"""Helpers for the tests in this folder (the fixtures are in conftest.py)."""

import collections
import os
import subprocess
import sys
import time
from pathlib import Path

import optuna

from pipeline import PROJECT_ROOT
from pipeline.search.storage import open_storage

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


def load_study(storage: str, study_name: str) -> optuna.Study:
    """The study as a worker sees it, opened the workers' way: while a worker may be creating a
    new storage's tables, a second opener without the first-use lock collides with it."""
    return optuna.load_study(study_name=study_name, storage=open_storage(storage))


def states(storage: str, study_name: str) -> collections.Counter:
    study = load_study(storage, study_name)
    return collections.Counter(t.state.name for t in study.trials)


def wait_until_held(folder: Path, timeout: float = 120) -> Path:
    """The first `held-*` file the tiny app writes in `folder` (`hold_from`): a worker is then
    mid-trial, and stays so."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        held = sorted(folder.glob("held-*")) if folder.is_dir() else []
        if held:
            return held[0]
        time.sleep(0.1)
    raise TimeoutError(f"no trial held in {folder} within {timeout} s")
