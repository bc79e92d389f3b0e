import hashlib
import json
from pathlib import Path

import pytest

from pipeline.data import DataError, sources
from pipeline.data.arrays import DatasetArrays
from pipeline.data.cache import manifest_path, read_cache, write_cache
from pipeline.data.dataset import load_dataset
from pipeline.data.sources import Fetched
from tests.data.data_formats import assert_same_arrays, write_keras_npz


def test_the_cache_round_trips_with_a_manifest(tmp_path: Path, arrays: DatasetArrays) -> None:
    npz_path = tmp_path / "cache" / "mnist.npz"
    written = write_cache(npz_path, arrays, "somewhere")
    manifest = json.loads(manifest_path(npz_path).read_text())
    assert written.digest == manifest["sha256"] == hashlib.sha256(npz_path.read_bytes()).hexdigest()
    assert manifest["source"] == "somewhere" and manifest["shapes"]["x_train"] == [12, 28, 28]
    cached = read_cache(npz_path)
    assert (cached.source, cached.digest, cached.cache_path) == (
        "somewhere",
        written.digest,
        npz_path,
    )
    assert_same_arrays(cached.arrays, arrays)
    assert sorted(p.name for p in npz_path.parent.iterdir()) == [
        "mnist.json",
        "mnist.npz",
    ]  # no temp files left


def test_a_tampered_cache_is_an_error_telling_to_delete_it(
    tmp_path: Path, arrays: DatasetArrays
) -> None:
    npz_path = tmp_path / "mnist.npz"
    write_cache(npz_path, arrays, "somewhere")
    payload = bytearray(npz_path.read_bytes())
    payload[-200] ^= 0xFF
    npz_path.write_bytes(bytes(payload))
    with pytest.raises(DataError, match=f"{npz_path}: sha256 .* differs .*; delete {npz_path} and"):
        read_cache(npz_path)


def test_an_unreadable_manifest_is_an_error(tmp_path: Path, arrays: DatasetArrays) -> None:
    npz_path = tmp_path / "mnist.npz"
    write_cache(npz_path, arrays, "somewhere")
    manifest_path(npz_path).write_text("{not json")
    with pytest.raises(DataError, match=f"{manifest_path(npz_path)}: unreadable cache manifest"):
        read_cache(npz_path)


def test_an_npz_without_manifest_is_an_uncommitted_write_and_no_cache(
    tmp_path: Path, arrays: DatasetArrays
) -> None:
    npz_path = tmp_path / "mnist.npz"
    write_cache(npz_path, arrays, "somewhere")
    manifest_path(npz_path).unlink()
    assert read_cache(npz_path) is None


def test_a_second_load_reads_the_cache_without_fetching(
    tmp_path: Path, arrays: DatasetArrays, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(
        sources.LOCAL_SOURCES, "mnist", [lambda name: Fetched(arrays, "first source")]
    )
    first = load_dataset("mnist", None, tmp_path / "cache", allow_download=False)
    monkeypatch.setitem(sources.LOCAL_SOURCES, "mnist", [])
    second = load_dataset("mnist", None, tmp_path / "cache", allow_download=False)
    assert (second.source, second.digest) == ("first source", first.digest)
    assert second.cache_path == tmp_path / "cache" / "mnist.npz"
    assert_same_arrays(second.arrays, arrays)


def test_a_users_file_is_cached_under_its_content_digest(
    tmp_path: Path, arrays: DatasetArrays
) -> None:
    user_file = write_keras_npz(tmp_path / "mine.npz", arrays)
    first = load_dataset("mnist", str(user_file), tmp_path / "cache", allow_download=False)
    assert first.cache_path == tmp_path / "cache" / f"mnist-{first.digest[:12]}.npz"
    assert first.source == str(user_file)
    assert_same_arrays(read_cache(first.cache_path).arrays, arrays)

    changed = DatasetArrays(arrays.x_train, (arrays.y_train + 1) % 10, arrays.x_test, arrays.y_test)
    write_keras_npz(user_file, changed)  # the user's file is the truth: a change is seen at once
    second = load_dataset("mnist", str(user_file), tmp_path / "cache", allow_download=False)
    assert second.digest != first.digest and second.cache_path != first.cache_path
    assert_same_arrays(second.arrays, changed)


def test_the_digest_depends_on_the_data_not_on_the_source_or_time(
    tmp_path: Path, arrays: DatasetArrays
) -> None:
    first = write_cache(tmp_path / "a.npz", arrays, "one")
    assert write_cache(tmp_path / "b.npz", arrays, "two").digest == first.digest
