"""Train / validation / test splits for training: the validation rows are a seeded, machine-independent draw."""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.data.dataset import load_dataset
from pipeline.data.errors import DataError


@dataclass(frozen=True, eq=False)  # arrays have no useful ==
class Splits:
    name: str  # "mnist" or "fashion_mnist"
    source: str  # where the data came from, human-readable
    digest: str  # sha256 hex of the cached canonical file: the dataset version
    cache_path: str
    train_x: np.ndarray  # uint8 (N, 28, 28): the training set without the validation rows
    train_y: np.ndarray  # uint8 (N,)
    val_x: np.ndarray
    val_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray


def split_indices(num_rows: int, validation_size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train rows, validation rows), each in ascending order, from a permutation by numpy's default_rng(seed)."""
    if not 0 <= validation_size < num_rows:
        raise DataError(
            f"data.validation_size={validation_size} must be in 0..{num_rows - 1} "
            f"(the training set has {num_rows} rows)"
        )
    permutation = np.random.default_rng(seed).permutation(num_rows)
    return np.sort(permutation[validation_size:]), np.sort(permutation[:validation_size])


def load_splits(data_cfg: Any) -> Splits:
    """Load (or fetch and cache) the dataset named by the `data` config group and split off validation rows."""
    dataset = load_dataset(
        data_cfg.name,
        data_cfg.path,
        Path(data_cfg.cache_dir),
        bool(getattr(data_cfg, "allow_download", True)),
    )
    arrays = dataset.arrays
    train_rows, validation_rows = split_indices(
        len(arrays.y_train), int(data_cfg.validation_size), int(data_cfg.split_seed)
    )
    return Splits(
        name=data_cfg.name,
        source=dataset.source,
        digest=dataset.digest,
        cache_path=str(dataset.cache_path),
        train_x=arrays.x_train[train_rows],
        train_y=arrays.y_train[train_rows],
        val_x=arrays.x_train[validation_rows],
        val_y=arrays.y_train[validation_rows],
        test_x=arrays.x_test,
        test_y=arrays.y_test,
    )
