"""The data layer: MNIST-like datasets as checked uint8 arrays, cached once, split reproducibly.

numpy only: nothing here imports TensorFlow or Keras (except a Keras download, when reached).
"""

from pipeline.data.errors import DataError
from pipeline.data.splits import Splits, load_splits

__all__ = ["DataError", "Splits", "load_splits"]
