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


def read_npz(file: Path | BinaryIO, origin: str = "") -> DatasetArrays:
    """Read and check a Keras-format npz (a path or an open file); never unpickles (allow_pickle=False)."""
    origin = origin or str(file)
    try:
        archive = np.load(file, allow_pickle=False)
        if not isinstance(archive, np.lib.npyio.NpzFile):  # a bare .npy file loads as one array
            raise DataError(f"{origin}: not an npz archive")
        with archive:
            missing = [key for key in NPZ_KEYS if key not in archive.files]
            if missing:
                raise DataError(f"{origin}: npz lacks key(s) {', '.join(missing)}; expected {', '.join(NPZ_KEYS)}")
            arrays = [archive[key] for key in NPZ_KEYS]
    except DataError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise DataError(f"{origin}: cannot read npz ({one_line(error)})") from error
    return canonical_arrays(*arrays, origin=origin)


def write_npz(file: BinaryIO, arrays: DatasetArrays) -> None:
    """Write `arrays` as an uncompressed npz that np.load reads, byte-identical for identical arrays."""
    with zipfile.ZipFile(file, "w", compression=zipfile.ZIP_STORED) as archive:
        for key in NPZ_KEYS:
            member = zipfile.ZipInfo(f"{key}.npy", date_time=ZIP_EPOCH)
            with archive.open(member, "w", force_zip64=True) as stream:
                np.lib.format.write_array(stream, getattr(arrays, key), allow_pickle=False)
