"""Reading the original MNIST file format (IDX), plain or gzipped, strictly.

IDX: two zero bytes, a type code (0x08 = uint8), the number of dimensions, then each
dimension as a big-endian uint32, then the data. Anything else is a DataError.
"""

import gzip
import math
import zlib
from pathlib import Path

import numpy as np

from pipeline.data.arrays import DatasetArrays, canonical_arrays
from pipeline.data.errors import DataError, one_line

GZIP_MAGIC = b"\x1f\x8b"
UINT8_TYPE_CODE = 0x08

# The four files of a dataset in their original names; each may also carry a ".gz" suffix.
TRAIN_IMAGES = "train-images-idx3-ubyte"
TRAIN_LABELS = "train-labels-idx1-ubyte"
TEST_IMAGES = "t10k-images-idx3-ubyte"
TEST_LABELS = "t10k-labels-idx1-ubyte"
IDX_FILE_NAMES = (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)


def read_idx(path: Path, ndim: int) -> np.ndarray:
    """Read one uint8 IDX file with `ndim` dimensions; gzip is recognised by its magic bytes."""
    raw = _read_bytes(path)
    header_size = 4 + 4 * ndim
    if len(raw) < header_size or raw[:2] != b"\0\0" or raw[2] != UINT8_TYPE_CODE or raw[3] != ndim:
        raise DataError(f"{path}: not a uint8 IDX file with {ndim} dimension(s) (bad magic number)")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected_size = header_size + math.prod(shape)  # exact: no int64 overflow on a forged header
    if len(raw) != expected_size:
        raise DataError(
            f"{path}: {len(raw)} bytes, expected {expected_size} for shape {shape} (truncated or corrupt)"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header_size).reshape(shape)


def find_idx_file(directory: Path, name: str) -> Path | None:
    """The file `name` or `name.gz` in `directory`, whichever exists."""
    for candidate in (directory / name, directory / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def read_idx_dir(directory: Path) -> DatasetArrays:
    """Read the four IDX files of a dataset from one directory."""
    paths = {}
    for name in IDX_FILE_NAMES:
        path = find_idx_file(directory, name)
        if path is None:
            raise DataError(f"{directory}: missing {name} (or {name}.gz)")
        paths[name] = path
    return canonical_arrays(
        read_idx(paths[TRAIN_IMAGES], ndim=3),
        read_idx(paths[TRAIN_LABELS], ndim=1),
        read_idx(paths[TEST_IMAGES], ndim=3),
        read_idx(paths[TEST_LABELS], ndim=1),
        origin=str(directory),
    )


def _read_bytes(path: Path) -> bytes:
    try:
        with open(path, "rb") as file:
            raw = file.read()
        return gzip.decompress(raw) if raw[:2] == GZIP_MAGIC else raw
    except (OSError, EOFError, zlib.error) as error:  # gzip.BadGzipFile is an OSError
        raise DataError(f"{path}: cannot read ({one_line(error)})") from error
