"""The team stack of `make server`, started once for the session on free loopback ports in a
folder of its own: real PostgreSQL, a real `mlflow server` with proxied artifacts."""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from pipeline.config.compose import compose_config
from pipeline.stack.stack import stack_from_config
from pipeline.tracking.credentials import (
    use_stack_server,
)
from tests.stack.helpers import MLFLOW_CLIENT_ENV, RunningStack, server_overrides, why_no_postgres


@pytest.fixture(scope="session")
def running_stack():
    reason = why_no_postgres()
    if reason:
        pytest.skip(reason)
    # Not under pytest's tmp dirs: those are private to root, and PostgreSQL runs as `postgres`.
    folder = Path(tempfile.mkdtemp(prefix="mnist-stack-"))
    folder.chmod(0o755)
    overrides = server_overrides(folder / "stack")
    tracking = compose_config(*overrides).tracking
    stack = stack_from_config(tracking.server)
    # This process signs in as the stack's admin (what tracking=server does on the stack's machine).
    saved = {name: os.environ.get(name) for name in MLFLOW_CLIENT_ENV}
    try:
        seconds = stack.start()
        use_stack_server(tracking)
        yield RunningStack(
            stack, overrides, tracking.uri, tracking.optuna_storage, folder / "stack", seconds
        )
    finally:
        stack.stop()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        shutil.rmtree(folder, ignore_errors=True)
