"""Unpickling numpy arrays without letting the pickle run anything else.

A pickle can call any importable function it names; this unpickler admits only the few
globals that rebuild plain numpy arrays (tuples, lists and strings need no globals).
"""

import io
import pickle

import numpy as np

from pipeline.data.errors import DataError, one_line

try:  # numpy >= 2 moved the array internals to numpy._core; pickles name either module
    from numpy._core.multiarray import _reconstruct
except ImportError:  # numpy 1.x
    from numpy.core.multiarray import _reconstruct

ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}


class NumpyOnlyUnpickler(pickle.Unpickler):
    """Refuses every global outside ALLOWED_GLOBALS, before anything is called."""

    def find_class(self, module: str, name: str) -> object:
        try:
            return ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"global {module}.{name} is not allowed") from None


def load_numpy_pickle(data: bytes, origin: str) -> object:
    """Unpickle `data` (Python 2 pickles included) admitting only numpy arrays; `origin` names it in errors."""
    try:
        # latin1 turns Python 2 byte strings into the raw buffers numpy's array state expects.
        return NumpyOnlyUnpickler(io.BytesIO(data), encoding="latin1").load()
    except (
        Exception
    ) as error:  # a malformed pickle can raise almost anything; none of it is executed code
        raise DataError(f"{origin}: refused or unreadable pickle ({one_line(error)})") from error
