import os
import socket
import sys
import threading
import time
from pathlib import Path

import pytest

from pipeline.data import DataError, sources
from pipeline.data.arrays import DatasetArrays
from pipeline.data.idx import IDX_FILE_NAMES
from pipeline.data.keras_source import download_with_keras, host_reachable, keras_cache_path
from pipeline.data.sources import Fetched, SourceUnavailable, fetch
from tests.data.data_formats import assert_same_arrays, write_idx_dir, write_keras_npz


def keras_home() -> Path:
    return Path(os.environ["KERAS_HOME"])


def fail_if_called(name: str) -> Fetched:
    raise AssertionError("a later source was tried although an earlier one answered")


def test_a_users_npz_file_is_read(tmp_path: Path, arrays: DatasetArrays) -> None:
    path = write_keras_npz(tmp_path / "my.npz", arrays)
    fetched = fetch("mnist", str(path), allow_download=True)
    assert_same_arrays(fetched.arrays, arrays)
    assert fetched.source == str(path)


def test_a_users_idx_directory_is_read_for_fashion_mnist(
    tmp_path: Path, arrays: DatasetArrays
) -> None:
    directory = write_idx_dir(tmp_path / "fashion", arrays, gzipped=True)
    assert_same_arrays(fetch("fashion_mnist", str(directory), allow_download=False).arrays, arrays)


def test_a_missing_user_path_is_named_and_nothing_else_is_tried(
    tmp_path: Path, arrays: DatasetArrays
) -> None:
    write_keras_npz(keras_cache_path("mnist"), arrays)  # present, but must not be used instead
    with pytest.raises(DataError, match=f"{tmp_path / 'absent.npz'}: no such file"):
        fetch("mnist", str(tmp_path / "absent.npz"), allow_download=True)


def test_a_corrupt_user_file_never_falls_back(
    tmp_path: Path, arrays: DatasetArrays, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_keras_npz(keras_cache_path("mnist"), arrays)
    monkeypatch.setitem(sources.DOWNLOAD_SOURCES, "mnist", [fail_if_called])
    path = tmp_path / "my.npz"
    path.write_bytes(b"truncated")
    with pytest.raises(DataError, match=str(path)):
        fetch("mnist", str(path), allow_download=True)


def test_the_keras_cache_honours_keras_home(
    arrays: DatasetArrays, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_keras_npz(keras_home() / "datasets" / "mnist.npz", arrays)
    monkeypatch.setitem(sources.DOWNLOAD_SOURCES, "mnist", [fail_if_called])
    fetched = fetch("mnist", None, allow_download=True)
    assert_same_arrays(fetched.arrays, arrays)
    assert fetched.source == f"Keras cache {keras_home() / 'datasets' / 'mnist.npz'}"


def test_the_keras_fashion_cache_is_a_directory_of_gzipped_idx(arrays: DatasetArrays) -> None:
    write_idx_dir(keras_home() / "datasets" / "fashion-mnist", arrays, gzipped=True)
    assert_same_arrays(fetch("fashion_mnist", None, allow_download=False).arrays, arrays)


def test_an_incomplete_keras_fashion_cache_is_skipped(
    tmp_path: Path, arrays: DatasetArrays, monkeypatch: pytest.MonkeyPatch
) -> None:
    partial = write_idx_dir(keras_home() / "datasets" / "fashion-mnist", arrays, gzipped=True)
    (partial / f"{IDX_FILE_NAMES[0]}.gz").unlink()
    debian = write_idx_dir(tmp_path / "debian", arrays, gzipped=True)
    monkeypatch.setattr(sources, "DEBIAN_FASHION_MNIST_DIR", debian)
    assert (
        fetch("fashion_mnist", None, allow_download=False).source
        == f"Debian dataset-fashion-mnist ({debian})"
    )


def test_a_corrupt_keras_cache_is_an_error_not_a_skip(arrays: DatasetArrays) -> None:
    path = keras_cache_path("mnist")
    path.parent.mkdir(parents=True)
    path.write_bytes(b"half a download")
    with pytest.raises(DataError, match=str(path)):
        fetch("mnist", None, allow_download=True)


def test_downloads_come_in_order_and_only_when_allowed(
    arrays: DatasetArrays, monkeypatch: pytest.MonkeyPatch
) -> None:
    tried = []

    def unavailable(name: str) -> Fetched:
        tried.append("keras")
        raise SourceUnavailable("offline")

    def mirror(name: str) -> Fetched:
        tried.append("mirror")
        return Fetched(arrays, "mirror")

    monkeypatch.setitem(sources.DOWNLOAD_SOURCES, "mnist", [unavailable, mirror])
    assert fetch("mnist", None, allow_download=True).source == "mirror"
    assert tried == ["keras", "mirror"]
    with pytest.raises(
        DataError, match=r"no source for mnist worked \(no Keras cache at .*\); allow downloads"
    ):
        fetch("mnist", None, allow_download=False)
    assert tried == ["keras", "mirror"]


def test_the_real_chains_are_in_the_documented_order() -> None:
    assert sources.LOCAL_SOURCES == {
        "mnist": [sources.from_keras_cache],
        "fashion_mnist": [sources.from_keras_cache, sources.from_debian_package],
    }


def test_no_fashion_source_says_what_to_do() -> None:
    with pytest.raises(
        DataError, match="install Debian's dataset-fashion-mnist .* or set data.path"
    ):
        fetch("fashion_mnist", None, allow_download=True)


def test_an_unknown_dataset_is_refused() -> None:
    with pytest.raises(DataError, match="unknown dataset 'cifar10'"):
        fetch("cifar10", None, allow_download=True)


def test_host_reachable_tells_open_from_closed_ports() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        open_port = listener.getsockname()[1]
        assert host_reachable("127.0.0.1", open_port, timeout_s=30)  # returns once connected
    assert not host_reachable("127.0.0.1", open_port, timeout_s=30)  # listener closed
    assert not host_reachable("host.invalid", 443, timeout_s=30)


def test_host_reachable_gives_up_on_a_lookup_that_never_returns(monkeypatch) -> None:
    """getaddrinfo ignores socket timeouts; on a machine without network it can block for long."""
    never = threading.Event()

    def lookup_that_hangs(*args, **kwargs):
        never.wait()
        raise OSError("the lookup gave up at last")

    monkeypatch.setattr(socket, "create_connection", lookup_that_hangs)
    started = time.monotonic()
    assert not host_reachable("example.org", 443, timeout_s=0.2)
    assert time.monotonic() - started < 10  # not for ever: the lookup's thread is left behind
    never.set()


def test_an_unreachable_host_fails_without_importing_keras(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("pipeline.data.keras_source.host_reachable", lambda *args: False)
    monkeypatch.setitem(
        sys.modules, "keras", None
    )  # any `import keras` would now raise ImportError
    with pytest.raises(DataError, match="unreachable, so Keras cannot download mnist"):
        download_with_keras("mnist")
