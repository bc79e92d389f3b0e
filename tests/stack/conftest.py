"""The team stack of `make server`, started once for the session on free loopback ports in a
folder of its own: real PostgreSQL, a real `mlflow server` with proxied artifacts."""

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipeline.config.compose import compose_config
from pipeline.stack.postgres import StackError, pg_bin
from pipeline.stack.stack import Stack, stack_from_config
from pipeline.tracking.credentials import (
    CERT_PATH_ENV,
    PASSWORD_ENV,
    USERNAME_ENV,
    use_stack_server,
)
from tests.servers import free_port


def why_no_postgres() -> str | None:
    """One line on why these machines cannot run the stack here, or None when they can."""
    try:
        pg_bin("initdb")
    except StackError as error:
        return f"{error} (make test installs it where apt works as root)"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root without runuser: PostgreSQL refuses to run as root"
    return None


MLFLOW_CLIENT_ENV = (USERNAME_ENV, PASSWORD_ENV, CERT_PATH_ENV)


def server_overrides(folder: Path, **settings) -> list[str]:
    ports = {"mlflow_port": free_port(), "postgres_port": free_port()}
    values = {"dir": str(folder), "workers": 1, **ports, **settings}
    return ["tracking=server", *(f"tracking.server.{key}={value}" for key, value in values.items())]


@dataclass
class RunningStack:
    stack: Stack
    overrides: list[str]  # `tracking=server` and where this stack listens
    tracking_uri: str
    optuna_storage: str
    folder: Path
    ready_seconds: float

    def postgres_url(self, database: str) -> str:
        """The clients' role over loopback, its password from the stack's password file."""
        return self.stack.postgres.url(
            self.stack.user, "127.0.0.1", database, passfile=str(self.stack.secrets.passfile)
        )


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
