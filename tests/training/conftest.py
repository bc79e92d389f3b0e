"""Trained smoke runs shared by the training tests (each costs seconds)."""

import json
from pathlib import Path

import pytest

from tests.conftest import compose_config, isolated_overrides

SMOKE = (
    "trainer=smoke",
    "trainer.epochs=2",
    "trainer.deterministic=true",
    "tracking.enabled=false",
)


def smoke_config(tmp: Path, *overrides: str):
    return compose_config(*SMOKE, *isolated_overrides(tmp), *overrides)


def read_metrics(run_dir: Path) -> dict:
    return json.loads((Path(run_dir) / "metrics.json").read_text())


@pytest.fixture(scope="session")
def trained_runs(tmp_path_factory) -> dict[str, Path]:
    """Two epochs of each loop, and a second fit run with the same seed."""
    from pipeline.training.run import train_and_evaluate

    runs = {}
    for name, loop in (("fit", "fit"), ("tape", "tape"), ("fit_again", "fit")):
        tmp = tmp_path_factory.mktemp(name)
        runs[name] = tmp / "run"
        train_and_evaluate(smoke_config(tmp, f"trainer.loop={loop}"), runs[name])
    return runs
