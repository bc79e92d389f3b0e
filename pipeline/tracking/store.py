"""The tracking store: is it reachable, and is its database created (once, before parallel jobs)."""

import os
import ssl
import urllib.error
import urllib.request
from pathlib import Path

import mlflow
from mlflow import MlflowClient

from pipeline.processes.locks import first_use_lock
from pipeline.tracking.credentials import CERT_PATH_ENV

SERVER_SCHEMES = ("http://", "https://")


class TrackingStoreError(RuntimeError):
    """The tracking store cannot be used; the message is one line naming the uri."""


def is_server(uri: str) -> bool:
    return uri.startswith(SERVER_SCHEMES)


def check_server(uri: str, timeout: float) -> None:
    """A tracking server answers its health endpoint within `timeout` seconds."""
    # HTTPS: the CA MLflow's client trusts (MLFLOW_TRACKING_SERVER_CERT_PATH), else the system's.
    context = (
        ssl.create_default_context(cafile=os.environ.get(CERT_PATH_ENV))
        if uri.startswith("https")
        else None
    )
    try:
        with urllib.request.urlopen(
            f"{uri.rstrip('/')}/health", timeout=timeout, context=context
        ) as response:
            response.read()
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise TrackingStoreError(f"tracking.uri={uri} is unreachable ({reason})") from None


def check_sign_in(uri: str) -> None:
    """A tracking server with accounts (the team stack) accepts this process's credentials."""
    try:
        MlflowClient(uri).search_experiments(max_results=1)
    except mlflow.exceptions.MlflowException as error:
        if error.get_http_status_code() not in (401, 403):
            raise
        raise TrackingStoreError(
            f"tracking.uri={uri} refused the sign-in ({error.get_http_status_code()}): set MLFLOW_TRACKING_USERNAME "
            "and MLFLOW_TRACKING_PASSWORD, or ~/.mlflow/credentials"
        ) from None


def prepare_store(uri: str, timeout: float) -> None:
    """Fail fast on an unreachable server; create a database store's tables now.

    MLflow migrates a new database on first use and parallel first uses race: the launcher
    process calls this before any job starts, and processes started at once (on one
    machine or, on PostgreSQL, several) take turns through `first_use_lock`.
    """
    if is_server(uri):
        check_server(uri, timeout)
        check_sign_in(uri)
        return
    try:
        with first_use_lock(uri, "mlflow"):  # also creates a SQLite database's folder
            MlflowClient(uri).search_experiments(max_results=1)
    except Exception as error:  # any driver's connection error: one line, not a traceback
        raise TrackingStoreError(f"tracking.uri={uri} cannot be opened ({error})") from None


def artifact_location(root: str) -> str:
    """A URI MLflow can store under: remote roots (s3://, gs://, ...) as given, local paths as file URIs."""
    return root if "://" in root else Path(root).resolve().as_uri()


def experiment_id(tracking_cfg) -> str:
    """The configured experiment's id, created on first use.

    With a database store its artifacts go under `tracking.artifact_root` (MLflow's
    default, `./mlruns`, would depend on the working directory); a server picks its own.
    """
    client = MlflowClient(tracking_cfg.uri)
    experiment = client.get_experiment_by_name(tracking_cfg.experiment_name)
    if experiment is not None:
        return experiment.experiment_id
    location = (
        None if is_server(tracking_cfg.uri) else artifact_location(tracking_cfg.artifact_root)
    )
    try:
        return client.create_experiment(tracking_cfg.experiment_name, artifact_location=location)
    except mlflow.exceptions.MlflowException:
        # Another job created it between our lookup and our create.
        return client.get_experiment_by_name(tracking_cfg.experiment_name).experiment_id
