"""Writers of the real on-disk formats (npz, IDX, mnist.pkl.gz, wheel) for small test datasets.

Imported by the data tests (tests.data.data_formats).
"""

import gzip
import hashlib
import pickle
import zipfile
from pathlib import Path

import numpy as np

from pipeline.data.arrays import DatasetArrays
from pipeline.data.idx import IDX_FILE_NAMES

HUB_TRAIN_ROWS = 9  # the pickle's "train" part; the remaining training rows form its "valid" part


def assert_same_arrays(actual: DatasetArrays, expected: DatasetArrays) -> None:
    for key in ("x_train", "y_train", "x_test", "y_test"):
        got, want = getattr(actual, key), getattr(expected, key)
        assert got.dtype == np.uint8, key
        assert np.array_equal(got, want), key


def write_keras_npz(path: Path, arrays: DatasetArrays) -> Path:
    """The layout of Keras' mnist.npz (its file is compressed; np.load reads either)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        path,
        x_train=arrays.x_train,
        y_train=arrays.y_train,
        x_test=arrays.x_test,
        y_test=arrays.y_test,
    )
    return path


def idx_bytes(array: np.ndarray) -> bytes:
    """IDX: 0, 0, type 0x08 (uint8), ndim, big-endian uint32 dimensions, raw data."""
    return (
        bytes([0, 0, 0x08, array.ndim])
        + np.array(array.shape, dtype=">u4").tobytes()
        + array.tobytes()
    )


def write_idx_dir(directory: Path, arrays: DatasetArrays, gzipped: bool) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    contents = (arrays.x_train, arrays.y_train, arrays.x_test, arrays.y_test)
    for name, array in zip(IDX_FILE_NAMES, contents, strict=True):
        payload = idx_bytes(array)
        if gzipped:
            (directory / f"{name}.gz").write_bytes(gzip.compress(payload))
        else:
            (directory / name).write_bytes(payload)
    return directory


def hub_content(arrays: DatasetArrays) -> tuple:
    """The object inside mnist.pkl.gz: ((train), (valid), (test)), float32 pixel/256 flattened, int64 labels."""

    def pair(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return (x.reshape(len(x), -1).astype(np.float32) / np.float32(256), y.astype(np.int64))

    x, y = arrays.x_train, arrays.y_train
    return (
        pair(x[:HUB_TRAIN_ROWS], y[:HUB_TRAIN_ROWS]),
        pair(x[HUB_TRAIN_ROWS:], y[HUB_TRAIN_ROWS:]),
        pair(arrays.x_test, arrays.y_test),
    )


def hub_pickle_gz(content: object) -> bytes:
    # Protocol 4: numpy then pickles arrays with only the globals a plain array needs.
    return gzip.compress(pickle.dumps(content, protocol=4))


def write_wheel(path: Path, members: dict[str, bytes]) -> tuple[Path, str]:
    """A wheel is a zip; return its path and sha256."""
    with zipfile.ZipFile(path, "w") as wheel:
        for name, payload in members.items():
            wheel.writestr(name, payload)
    return path, hashlib.sha256(path.read_bytes()).hexdigest()
