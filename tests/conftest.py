"""Shared test helpers: composing the real configs and running the real CLI."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

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


@pytest.fixture
def isolated(tmp_path: Path) -> list[str]:
    return isolated_overrides(tmp_path)
