"""Helpers for the tests in this folder (the fixtures are in conftest.py)."""

import json
from pathlib import Path

from tests.helpers import compose_config, isolated_overrides

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
