"""Files replaced whole (pipeline/files.py)."""

import os
import stat

import pytest

from pipeline.files import replace_file


def test_a_file_is_replaced_whole_and_no_temporary_file_stays(tmp_path):
    path = tmp_path / "state.json"
    replace_file(path, "old")
    replace_file(path, b"new")
    assert path.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


def modes_at_creation(monkeypatch) -> list[int]:
    """The mode of each file `os.open` creates, as it is created: before its first byte."""
    modes, open_file = [], os.open

    def opened(*args, **kwargs):
        descriptor = open_file(*args, **kwargs)
        modes.append(stat.S_IMODE(os.fstat(descriptor).st_mode))
        return descriptor

    monkeypatch.setattr(os, "open", opened)
    return modes


def with_umask(umask: int, write) -> None:
    old = os.umask(umask)
    try:
        write()
    finally:
        os.umask(old)


def test_a_private_file_is_never_readable_by_others(tmp_path, monkeypatch):
    modes = modes_at_creation(monkeypatch)
    # The most permissive umask: the mode alone keeps others out.
    with_umask(0, lambda: replace_file(tmp_path / "secret", "s3cret", mode=0o600))
    assert modes == [0o600]
    assert stat.S_IMODE((tmp_path / "secret").stat().st_mode) == 0o600


def test_an_ordinary_file_gets_the_mode_the_umask_gives(tmp_path, monkeypatch):
    modes = modes_at_creation(monkeypatch)
    with_umask(0o022, lambda: replace_file(tmp_path / "mnist.npz", b"data"))
    assert modes == [0o644]
    assert stat.S_IMODE((tmp_path / "mnist.npz").stat().st_mode) == 0o644


def test_a_failed_replacement_keeps_the_old_file_and_leaves_nothing(tmp_path, monkeypatch):
    path = tmp_path / "state.json"
    replace_file(path, "old")

    def disk_full(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(OSError, match="No space"):
        replace_file(path, "new")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]
