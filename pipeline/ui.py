"""`make ui`: print direct links into the MLflow UI, then serve it there.

`python -m pipeline.ui [overrides]`. The store (`tracking.uri`) and the UI's address
(`tracking.ui_url`) both come from the composed config, so the printed links and the server
agree. No TensorFlow.
"""

import os
import sys
from urllib.parse import urlparse

from mlflow import MlflowClient

from pipeline.config import ConfigError
from pipeline.config.compose import compose_user_config
from pipeline.tracking.credentials import use_stack_server
from pipeline.tracking.store import TrackingStoreError, is_server, prepare_store
from pipeline.tracking.ui_links import links_text, store_links


def server_command(tracking_uri: str, ui_url: str) -> list[str]:
    address = urlparse(ui_url)
    port = address.port or (443 if address.scheme == "https" else 80)
    return [
        sys.executable,
        "-m",
        "mlflow",
        "server",
        "--backend-store-uri",
        tracking_uri,
        "--host",
        address.hostname or "127.0.0.1",
        "--port",
        str(port),
    ]


def main(overrides: list[str]) -> int:
    try:
        tracking = compose_user_config(*overrides).tracking
        use_stack_server(tracking)
        prepare_store(tracking.uri, tracking.connect_timeout)  # a new store: created, not an error
    except (ConfigError, TrackingStoreError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    links = store_links(MlflowClient(tracking.uri), tracking.ui_url)
    print(f"MLflow UI at {tracking.ui_url}  (store {tracking.uri})")
    print(links_text(links) if links else "no runs yet: make train or make sweep first")
    if is_server(tracking.uri):  # a tracking server (tracking=server) serves its own UI
        return 0
    command = server_command(tracking.uri, tracking.ui_url)
    sys.stdout.flush()
    os.execv(command[0], command)  # the server takes over this process: Ctrl-C stops it


def cli() -> None:
    """The `mnist-ui` command."""
    sys.exit(main(sys.argv[1:]))


if __name__ == "__main__":
    cli()
