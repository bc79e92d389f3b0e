"""Open an existing tracking store for reading, never creating one.

MLflow creates an empty database for a missing SQLite file; a report on a mistyped path
would then say "no runs" instead of naming the real mistake.
"""

from pathlib import Path
from urllib.parse import urlparse

from mlflow import MlflowClient

from pipeline.processes.console import first_line
from pipeline.report.settings import ReportError
from pipeline.tracking.store import TrackingStoreError, check_server, is_server

_SQLITE_PREFIX = "sqlite:///"


def local_store_path(uri: str) -> Path | None:
    """The file or folder a local store lives in (SQLite database, file store); None for others."""
    if uri.startswith(_SQLITE_PREFIX):
        return Path(uri.removeprefix(_SQLITE_PREFIX).split("?", 1)[0])
    parsed = urlparse(uri)
    if parsed.scheme in ("", "file"):
        return Path(parsed.path)
    return None


def open_store(uri: str, connect_timeout: float) -> MlflowClient:
    path = local_store_path(uri)
    if path is not None and not path.exists():
        raise ReportError(
            f"no tracking store at {path} (tracking.uri={uri}); run an experiment first"
        )
    if is_server(uri):
        try:
            check_server(uri, connect_timeout)
        except TrackingStoreError as error:
            raise ReportError(str(error)) from None
    client = MlflowClient(uri)
    try:
        client.search_experiments(max_results=1)
    except Exception as error:  # any driver's connection error: one line, not a traceback
        raise ReportError(
            f"tracking.uri={uri} cannot be opened ({first_line(error, limit=None)})"
        ) from None
    return client
