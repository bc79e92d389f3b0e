"""Fixtures shared by every test folder: an isolated output folder, and the one real multirun
store that the tracking and report tests read. Helpers: tests/helpers.py."""

import tests.environment  # noqa: F401  (first: before anything imports the pipeline's config)

# isort: split
from pathlib import Path

import pytest
from mlflow import MlflowClient

from tests.helpers import (
    EMPTY_STORE,
    SmokeStore,
    _parent_run,
    build_empty_store,
    build_smoke_store,
    built_once,
    isolated_overrides,
    smoke_store_overrides,
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Files marked `heavy` first (a stable sort: each file's tests stay together and in order).
    `make test` hands whole files to two workers as they free up (--dist loadfile): with the
    long files started first, the short ones fill in at the end and neither worker idles."""
    items.sort(key=lambda item: item.get_closest_marker("heavy") is None)


@pytest.fixture(scope="session", autouse=True)
def empty_store(tmp_path_factory) -> None:
    EMPTY_STORE["path"] = (
        built_once(tmp_path_factory, "empty-store", build_empty_store) / "mlflow.db"
    )


@pytest.fixture
def isolated(tmp_path: Path) -> list[str]:
    """Overrides that send a run's outputs under an empty tmp_path (for bad-input tests)."""
    return isolated_overrides(tmp_path, existing_store=False)


@pytest.fixture(scope="session")
def smoke_store(tmp_path_factory) -> SmokeStore:
    """The shared multirun store (`build_smoke_store`), read by tests/tracking (parent and
    children, the failed job) and tests/report; built once per session."""
    root = built_once(tmp_path_factory, "smoke-store", build_smoke_store)
    client = MlflowClient(f"sqlite:///{root}/mlruns/mlflow.db")
    parent = _parent_run(client)
    children = client.search_runs(
        [parent.info.experiment_id], f"tags.mlflow.parentRunId = '{parent.info.run_id}'"
    )
    return SmokeStore(
        root,
        smoke_store_overrides(root),
        client,
        parent,
        children,
        (root / "diverged.txt").read_text(),
    )
