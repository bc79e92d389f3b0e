import io
from pathlib import Path

import numpy as np
import pytest

from pipeline.data import DataError
from pipeline.data.arrays import DatasetArrays
from pipeline.data.npz import read_npz, write_npz
from tests.data.data_formats import assert_same_arrays, write_keras_npz


def test_a_keras_format_npz_yields_exactly_the_written_arrays(
    tmp_path: Path, arrays: DatasetArrays
) -> None:
    assert_same_arrays(read_npz(write_keras_npz(tmp_path / "mnist.npz", arrays)), arrays)


def test_written_npz_is_byte_identical_for_identical_arrays_and_readable_by_numpy(
    arrays: DatasetArrays,
) -> None:
    first, second = io.BytesIO(), io.BytesIO()
    write_npz(first, arrays)
    write_npz(
        second,
        DatasetArrays(
            *(a.copy() for a in (arrays.x_train, arrays.y_train, arrays.x_test, arrays.y_test))
        ),
    )
    assert first.getvalue() == second.getvalue()
    with np.load(io.BytesIO(first.getvalue())) as archive:
        assert np.array_equal(archive["x_test"], arrays.x_test)


def _npz(path: Path, **arrays: np.ndarray) -> Path:
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize(
    "change, expected",
    [
        (lambda a: {"x_train": a.x_train, "y_train": a.y_train, "x_test": a.x_test}, "lacks key"),
        (
            lambda a: {**vars(a), "x_train": a.x_train.astype(np.float32)},
            "dtype float32, expected uint8",
        ),
        (lambda a: {**vars(a), "x_test": a.x_test[:, :27]}, "shape"),
        (lambda a: {**vars(a), "y_test": a.y_test[:-1]}, "labels have shape"),
        (lambda a: {**vars(a), "y_train": a.y_train + 10}, "expected 0..9"),
        (lambda a: {**vars(a), "y_train": a.y_train.astype(np.float64)}, "expected integers"),
        (lambda a: {**vars(a), "x_test": a.x_test[:0], "y_test": a.y_test[:0]}, "N>0"),
    ],
    ids=[
        "missing-key",
        "float-images",
        "27-columns",
        "label-count",
        "label-range",
        "float-labels",
        "empty-test",
    ],
)
def test_bad_npz_content_is_refused_naming_the_file(
    tmp_path: Path, arrays: DatasetArrays, change, expected: str
) -> None:
    path = _npz(tmp_path / "mnist.npz", **change(arrays))
    with pytest.raises(DataError, match=expected) as error:
        read_npz(path)
    assert str(error.value).startswith(str(path))


def test_labels_of_another_integer_type_are_converted_to_uint8(
    tmp_path: Path, arrays: DatasetArrays
) -> None:
    path = _npz(
        tmp_path / "mnist.npz", **{**vars(arrays), "y_train": arrays.y_train.astype(np.int64)}
    )
    assert_same_arrays(read_npz(path), arrays)


def test_object_arrays_are_never_unpickled(tmp_path: Path, arrays: DatasetArrays) -> None:
    path = _npz(tmp_path / "mnist.npz", **{**vars(arrays), "y_test": np.array([object()] * 5)})
    with pytest.raises(DataError, match=str(path)):
        read_npz(path)


@pytest.mark.parametrize(
    "content", [b"", b"not a zip file at all", None], ids=["empty", "garbage", "truncated"]
)
def test_unreadable_files_are_refused_naming_the_file(
    tmp_path: Path, arrays: DatasetArrays, content: bytes | None
) -> None:
    path = tmp_path / "mnist.npz"
    if content is None:
        content = write_keras_npz(tmp_path / "whole.npz", arrays).read_bytes()[:-100]
    path.write_bytes(content)
    with pytest.raises(DataError, match=str(path)):
        read_npz(path)


def test_a_bare_npy_file_is_not_an_npz(tmp_path: Path, arrays: DatasetArrays) -> None:
    path = tmp_path / "mnist.npz"
    with open(path, "wb") as file:
        np.save(file, arrays.x_train)
    with pytest.raises(DataError, match="not an npz"):
        read_npz(path)
