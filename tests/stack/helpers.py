"""Helpers for the tests in this folder (the fixtures are in conftest.py)."""

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from pipeline.stack.postgres import StackError, pg_bin
from pipeline.stack.stack import Stack
from pipeline.tracking.credentials import (
    CERT_PATH_ENV,
    PASSWORD_ENV,
    USERNAME_ENV,
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
