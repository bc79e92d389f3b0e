import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from pipeline.data import DataError
from pipeline.data.safe_pickle import load_numpy_pickle


class RunsAShellCommand:
    """Unpickling this would call os.system(command)."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


class EvaluatesCode:
    def __reduce__(self):
        return (eval, ("__import__('os').system('true')",))


def test_plain_numpy_arrays_in_tuples_come_back_intact() -> None:
    content = ((np.arange(6, dtype=np.float32).reshape(2, 3), np.array([1, 2], dtype=np.int64)),)
    loaded = load_numpy_pickle(pickle.dumps(content, protocol=4), origin="test.pkl")
    assert np.array_equal(loaded[0][0], content[0][0]) and loaded[0][0].dtype == np.float32
    assert np.array_equal(loaded[0][1], content[0][1])


def test_a_payload_calling_os_system_is_refused_without_running(tmp_path: Path) -> None:
    marker = tmp_path / "payload-ran"
    payload = pickle.dumps((np.zeros(3), RunsAShellCommand(f"touch {marker}")), protocol=4)
    with pytest.raises(DataError, match=r"evil\.pkl: refused.*(posix|os)\.system is not allowed"):
        load_numpy_pickle(payload, origin="evil.pkl")
    assert not marker.exists()


@pytest.mark.parametrize("protocol", [0, 2, 4, 5])
def test_builtins_are_refused_at_every_protocol(protocol: int) -> None:
    with pytest.raises(DataError, match=r"(__builtin__|builtins)\.eval is not allowed"):
        load_numpy_pickle(pickle.dumps(EvaluatesCode(), protocol=protocol), origin="evil.pkl")


def test_garbage_is_a_data_error_naming_the_origin() -> None:
    with pytest.raises(DataError, match="junk.pkl"):
        load_numpy_pickle(b"\x80\x04not a pickle", origin="junk.pkl")
