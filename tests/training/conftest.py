"""Trained smoke runs shared by the training tests (each costs seconds)."""

from pathlib import Path

import pytest

from tests.training.helpers import smoke_config


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
