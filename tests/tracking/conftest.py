"""Fixtures for the tracking tests: configs pointed at a temporary store, and one trained run
shared by the tests that only read it back."""

from pathlib import Path

import pytest
from mlflow import MlflowClient

import pipeline.config  # noqa: F401  (registers schemas and resolvers)
from tests.helpers import built_once
from tests.tracking.helpers import (
    REQUEST_SETTINGS,
    TrackedRun,
    only_run,
    smoke_run_config,
    train,
)


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory) -> TrackedRun:
    """A two-epoch smoke training, tracked and registered, in a store of its own; trained once
    per session (tests in several files read it)."""
    store = built_once(
        tmp_path_factory, "smoke-run", lambda folder: train(smoke_run_config(folder), "smoke")
    )
    cfg = smoke_run_config(store)
    client = MlflowClient(cfg.tracking.uri)
    return TrackedRun(
        cfg, client, only_run(client, cfg), Path(cfg.paths.output_dir) / "runs" / "smoke"
    )


@pytest.fixture
def own_request_settings(monkeypatch):
    """The code under test (a training, the multirun callback, `mnist-sync`) sets MLflow's
    request settings in this process's environment: they end with the test."""
    for name in REQUEST_SETTINGS:
        monkeypatch.setenv(name, "")  # records the value to restore, even an absent one
        monkeypatch.delenv(name)


@pytest.fixture(scope="module")
def sqlite_experiment(tmp_path_factory):
    """A real SQLite store of the test module's own, and an experiment in it: (uri, client,
    experiment id). One per module: a new store costs its schema's migrations."""
    folder = tmp_path_factory.mktemp("sqlite-store")
    uri = f"sqlite:///{folder}/mlflow.db"
    client = MlflowClient(uri)
    artifacts = (folder / "artifacts").as_uri()
    return uri, client, client.create_experiment("tests", artifact_location=artifacts)
