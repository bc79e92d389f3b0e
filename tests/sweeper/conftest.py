"""Running searches for the sweeper's tests: the tiny app in-process or as worker processes."""

from pathlib import Path

import pytest

from pipeline.bench.hydra_multirun import multirun
from tests.sweeper.app.objective import objective
from tests.sweeper.helpers import APP_DIR


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
