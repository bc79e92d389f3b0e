"""Keras' own copies of the datasets: its download cache, and a download through Keras itself."""

import os
import socket
import threading
from pathlib import Path

from pipeline.data.arrays import DatasetArrays, canonical_arrays
from pipeline.data.errors import DataError, one_line

# Where keras.datasets downloads from (keras/src/datasets/mnist.py, fashion_mnist.py).
KERAS_DATASETS_HOST = "storage.googleapis.com"
HTTPS_PORT = 443
REACHABILITY_TIMEOUT_S = 3.0
# Keras caches mnist as one npz file and fashion_mnist as a directory of gzipped IDX files.
KERAS_CACHE_NAMES = {"mnist": "mnist.npz", "fashion_mnist": "fashion-mnist"}


def keras_cache_path(name: str) -> Path:
    """Where keras.datasets.<name>.load_data() keeps its download ($KERAS_HOME, else ~/.keras)."""
    keras_home = Path(os.environ.get("KERAS_HOME") or "~/.keras").expanduser()
    return keras_home / "datasets" / KERAS_CACHE_NAMES[name]


def host_reachable(host: str, port: int, timeout_s: float) -> bool:
    """Whether a TCP connection opens within `timeout_s`, name lookup included.

    The lookup runs in a daemon thread because getaddrinfo ignores socket timeouts and
    can block for long on a machine without network.
    """
    outcome: list[bool] = []

    def connect() -> None:
        try:
            socket.create_connection((host, port), timeout=timeout_s).close()
            outcome.append(True)
        except OSError:
            outcome.append(False)

    thread = threading.Thread(target=connect, daemon=True)
    thread.start()
    thread.join(timeout_s)
    return outcome == [True]


def download_with_keras(name: str) -> DatasetArrays:
    """keras.datasets.<name>.load_data(), only after a quick reachability check; failures are DataErrors."""
    if not host_reachable(KERAS_DATASETS_HOST, HTTPS_PORT, REACHABILITY_TIMEOUT_S):
        raise DataError(
            f"{KERAS_DATASETS_HOST}:{HTTPS_PORT} is unreachable, so Keras cannot download {name}"
        )
    import keras  # deferred: importing Keras costs seconds and is needed only here

    try:
        (x_train, y_train), (x_test, y_test) = getattr(keras.datasets, name).load_data()
    except Exception as error:  # network, HTTP and file errors of every kind end the same way
        raise DataError(f"keras.datasets.{name}.load_data() failed: {one_line(error)}") from error
    return canonical_arrays(
        x_train, y_train, x_test, y_test, origin=f"keras.datasets.{name}.load_data()"
    )
