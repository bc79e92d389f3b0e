import gzip
from pathlib import Path

import numpy as np
import pytest

from pipeline.data import DataError
from pipeline.data.arrays import DatasetArrays
from pipeline.data.idx import TEST_IMAGES, TRAIN_LABELS, read_idx, read_idx_dir
from tests.data.data_formats import assert_same_arrays, idx_bytes, write_idx_dir


@pytest.mark.parametrize("gzipped", [False, True], ids=["plain", "gzip"])
def test_a_directory_of_idx_files_yields_exactly_the_written_arrays(
    tmp_path: Path, arrays: DatasetArrays, gzipped: bool
) -> None:
    assert_same_arrays(read_idx_dir(write_idx_dir(tmp_path / "idx", arrays, gzipped)), arrays)


def test_gzip_is_recognised_by_content_not_name(tmp_path: Path, arrays: DatasetArrays) -> None:
    path = tmp_path / "labels-without-suffix"
    path.write_bytes(gzip.compress(idx_bytes(arrays.y_test)))
    assert np.array_equal(read_idx(path, ndim=1), arrays.y_test)


@pytest.mark.parametrize(
    "corrupt, expected",
    [
        (lambda raw: b"\x00\x00\x09" + raw[3:], "bad magic"),  # type code of int8, not uint8
        (lambda raw: raw[:-1], "truncated"),
        (lambda raw: raw + b"\x00", "truncated or corrupt"),
        (lambda raw: raw[:6], "bad magic"),  # shorter than the header
    ],
    ids=["wrong-type", "short-data", "trailing-byte", "short-header"],
)
def test_corrupt_idx_files_are_refused_naming_the_file(
    tmp_path: Path, arrays: DatasetArrays, corrupt, expected: str
) -> None:
    path = tmp_path / "t10k-images-idx3-ubyte"
    path.write_bytes(corrupt(idx_bytes(arrays.x_test)))
    with pytest.raises(DataError, match=expected) as error:
        read_idx(path, ndim=3)
    assert str(path) in str(error.value)


def test_a_labels_file_where_images_belong_is_refused(
    tmp_path: Path, arrays: DatasetArrays
) -> None:
    path = tmp_path / "images"
    path.write_bytes(idx_bytes(arrays.y_test))
    with pytest.raises(DataError, match="3 dimension"):
        read_idx(path, ndim=3)


def test_broken_gzip_is_refused_naming_the_file(tmp_path: Path, arrays: DatasetArrays) -> None:
    directory = write_idx_dir(tmp_path / "idx", arrays, gzipped=True)
    path = directory / f"{TRAIN_LABELS}.gz"
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(DataError, match=str(path)):
        read_idx_dir(directory)


def test_a_missing_file_in_the_directory_is_named(tmp_path: Path, arrays: DatasetArrays) -> None:
    directory = write_idx_dir(tmp_path / "idx", arrays, gzipped=False)
    (directory / TEST_IMAGES).unlink()
    with pytest.raises(DataError, match=f"{directory}: missing {TEST_IMAGES}"):
        read_idx_dir(directory)


def test_images_and_labels_of_different_lengths_are_refused(
    tmp_path: Path, arrays: DatasetArrays
) -> None:
    short = DatasetArrays(arrays.x_train, arrays.y_train[:-1], arrays.x_test, arrays.y_test)
    with pytest.raises(DataError, match="train labels have shape"):
        read_idx_dir(write_idx_dir(tmp_path / "idx", short, gzipped=False))
