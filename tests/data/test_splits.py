from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf

from pipeline.data import DataError, Splits, load_splits
from pipeline.data.arrays import DatasetArrays
from pipeline.data.splits import split_indices
from tests.data.data_formats import write_keras_npz


def test_the_split_is_deterministic_disjoint_and_complete() -> None:
    train, validation = split_indices(1000, 100, seed=7)
    again_train, again_validation = split_indices(1000, 100, seed=7)
    assert np.array_equal(train, again_train) and np.array_equal(validation, again_validation)
    assert len(train) == 900 and len(validation) == 100
    assert np.array_equal(np.sort(np.concatenate([train, validation])), np.arange(1000))
    assert not np.array_equal(split_indices(1000, 100, seed=8)[1], validation)


def test_the_split_is_the_same_on_every_machine() -> None:
    # numpy's default_rng(0).permutation(10) is [4, 6, 2, 7, 3, 5, 9, 0, 8, 1] on every platform.
    train, validation = split_indices(10, 3, seed=0)
    assert validation.tolist() == [2, 4, 6] and train.tolist() == [0, 1, 3, 5, 7, 8, 9]


@pytest.mark.parametrize("size", [-1, 10])
def test_an_impossible_validation_size_is_refused(size: int) -> None:
    with pytest.raises(DataError, match=f"data.validation_size={size} must be in 0..9"):
        split_indices(10, size, seed=0)


def test_load_splits_from_a_data_config(tmp_path: Path, arrays: DatasetArrays) -> None:
    data_cfg = OmegaConf.create(
        {
            "name": "mnist",
            "path": str(write_keras_npz(tmp_path / "mnist.npz", arrays)),
            "cache_dir": str(tmp_path / "cache"),
            "validation_size": 4,
            "split_seed": 3,
            "allow_download": False,
        }
    )
    splits = load_splits(data_cfg)
    assert isinstance(splits, Splits) and splits.name == "mnist" and splits.source == data_cfg.path
    assert Path(splits.cache_path).is_file() and len(splits.digest) == 64
    train_rows, validation_rows = split_indices(12, 4, seed=3)
    assert np.array_equal(splits.train_x, arrays.x_train[train_rows])
    assert np.array_equal(splits.train_y, arrays.y_train[train_rows])
    assert np.array_equal(splits.val_x, arrays.x_train[validation_rows])
    assert np.array_equal(splits.val_y, arrays.y_train[validation_rows])
    assert np.array_equal(splits.test_x, arrays.x_test) and np.array_equal(
        splits.test_y, arrays.y_test
    )
    assert {a.dtype for a in (splits.train_x, splits.val_y, splits.test_x)} == {np.dtype(np.uint8)}
