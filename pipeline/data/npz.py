"""The Keras `mnist.npz` layout (keys x_train, y_train, x_test, y_test): strict reading, reproducible writing."""

import zipfile
from pathlib import Path
from typing import BinaryIO

import numpy as np

from pipeline.data.arrays import DatasetArrays, canonical_arrays
from pipeline.data.errors import DataError, one_line

NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")
# A fixed member timestamp makes equal arrays give byte-equal files, hence equal digests on every machine.
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
ZIP_MAGIC = (
    b"PK\x03\x04"  # an npz is a zip archive; an empty one starts "PK\x05\x06" and holds no keys
)
NPY_MAGIC = b"\x93NUMPY"
GZIP_MAGIC = b"\x1f\x8b"
_HEAD_SIZE = 512  # enough to tell these formats (and text) apart


def read_npz(file: Path | BinaryIO, origin: str = "") -> DatasetArrays:
    """Read and check a Keras-format npz (a path or an open file); never unpickles (allow_pickle=False)."""
    origin = origin or str(file)
    try:
        head = _head(file)
        if not head.startswith(ZIP_MAGIC):
            raise DataError(
                f"{origin}: {not_an_npz(head)}; expected a Keras-format npz (keys {', '.join(NPZ_KEYS)})"
            )
        with np.load(file, allow_pickle=False) as archive:
            missing = [key for key in NPZ_KEYS if key not in archive.files]
            if missing:
                raise DataError(
                    f"{origin}: npz lacks key(s) {', '.join(missing)}; expected {', '.join(NPZ_KEYS)}"
                )
            arrays = [archive[key] for key in NPZ_KEYS]
    except DataError:
        raise
    except OSError as error:  # unreadable: permissions, a device error
        raise DataError(f"{origin}: cannot read ({error.strerror or one_line(error)})") from error
    except (ValueError, EOFError, zipfile.BadZipFile) as error:  # a zip, but cut short or damaged
        raise DataError(
            f"{origin}: truncated or damaged npz archive ({one_line(error)})"
        ) from error
    return canonical_arrays(*arrays, origin=origin)


def _head(file: Path | BinaryIO) -> bytes:
    if isinstance(file, (str, Path)):
        with open(file, "rb") as stream:
            return stream.read(_HEAD_SIZE)
    position = file.tell()
    head = file.read(_HEAD_SIZE)
    file.seek(position)
    return head


def not_an_npz(head: bytes) -> str:
    """What a file that does not start like a zip archive is, from its first bytes."""
    if not head:
        return "empty file"
    if head.startswith(NPY_MAGIC):
        return "a single .npy array, not an npz archive"
    if head.startswith(GZIP_MAGIC):
        return (
            "a gzip file, not an npz archive (gzipped IDX files go in a folder named by data.path)"
        )
    if b"\0" in head:
        return "not an npz archive (unrecognised binary format)"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.start < len(head) - 3:  # not merely a character cut at the end of the head
            return "not an npz archive (unrecognised binary format)"
    return "a text file, not an npz archive"


def write_npz(file: BinaryIO, arrays: DatasetArrays) -> None:
    """Write `arrays` as an uncompressed npz that np.load reads, byte-identical for identical arrays."""
    with zipfile.ZipFile(file, "w", compression=zipfile.ZIP_STORED) as archive:
        for key in NPZ_KEYS:
            member = zipfile.ZipInfo(f"{key}.npy", date_time=ZIP_EPOCH)
            with archive.open(member, "w", force_zip64=True) as stream:
                np.lib.format.write_array(stream, getattr(arrays, key), allow_pickle=False)
