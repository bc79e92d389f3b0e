"""The canonical in-memory form of an MNIST-like dataset, and the checks that define it."""

from dataclasses import dataclass

import numpy as np

from pipeline.data.errors import DataError

IMAGE_SHAPE = (28, 28)
NUM_CLASSES = 10


@dataclass(frozen=True, eq=False)  # arrays have no useful ==
class DatasetArrays:
    """Train and test parts as stored in every source: uint8 images (N, 28, 28), uint8 labels (N,)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def canonical_arrays(
    x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray, origin: str
) -> DatasetArrays:
    """Check both parts and return them as uint8; `origin` names the file(s) in error messages."""
    return DatasetArrays(
        *_canonical_part(x_train, y_train, "train", origin),
        *_canonical_part(x_test, y_test, "test", origin),
    )


def _canonical_part(
    x: np.ndarray, y: np.ndarray, part: str, origin: str
) -> tuple[np.ndarray, np.ndarray]:
    if x.dtype != np.uint8:
        raise DataError(f"{origin}: {part} images have dtype {x.dtype}, expected uint8")
    if x.ndim != 3 or x.shape[1:] != IMAGE_SHAPE or x.shape[0] == 0:
        raise DataError(f"{origin}: {part} images have shape {x.shape}, expected (N>0, 28, 28)")
    if y.dtype.kind not in "iu":
        raise DataError(f"{origin}: {part} labels have dtype {y.dtype}, expected integers")
    if y.shape != (x.shape[0],):
        raise DataError(
            f"{origin}: {part} labels have shape {y.shape}, expected ({x.shape[0]},) to match the images"
        )
    if y.min() < 0 or y.max() >= NUM_CLASSES:
        raise DataError(
            f"{origin}: {part} labels range over {y.min()}..{y.max()}, expected 0..{NUM_CLASSES - 1}"
        )
    return np.ascontiguousarray(x), y.astype(np.uint8)
