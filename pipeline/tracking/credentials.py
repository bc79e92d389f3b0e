"""How a client reaches the team stack's MLflow server: its CA and an account, the way MLflow
itself reads them (MLFLOW_TRACKING_SERVER_CERT_PATH, MLFLOW_TRACKING_USERNAME/PASSWORD or
~/.mlflow/credentials). The config only fills in what the environment leaves unset, so a user's
own settings always win; the values go to this process's environment, which the jobs it starts
inherit and which only its owner can read."""

import configparser
import os
from pathlib import Path

from omegaconf import DictConfig

CERT_PATH_ENV = "MLFLOW_TRACKING_SERVER_CERT_PATH"
USERNAME_ENV, PASSWORD_ENV = "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"


def read_credentials_file(path: Path) -> tuple[str | None, str | None]:
    """An MLflow credentials file (the format of ~/.mlflow/credentials): username, password."""
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path)
    except (OSError, configparser.Error):
        return None, None
    section = parser["mlflow"] if parser.has_section("mlflow") else {}
    return section.get(USERNAME_ENV.lower()), section.get(PASSWORD_ENV.lower())


def use_stack_server(tracking: DictConfig) -> None:
    """With `tracking=server`: trust the stack's CA and sign in with `tracking.server.credentials`
    when the environment and ~/.mlflow/credentials name no account."""
    server = tracking.get("server")
    if server is None or not str(tracking.uri).startswith(("http://", "https://")):
        return
    if server.tls and CERT_PATH_ENV not in os.environ:
        os.environ[CERT_PATH_ENV] = str(server.ca_file)
    from mlflow.utils.credentials import read_mlflow_creds

    if read_mlflow_creds().username is None:
        username, password = read_credentials_file(Path(server.credentials))
        if username and password:
            os.environ[USERNAME_ENV], os.environ[PASSWORD_ENV] = username, password
