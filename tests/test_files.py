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


def test_a_private_file_is_never_readable_by_others(tmp_path, monkeypatch):
    seen_modes = []
    fsync = os.fsync

    def mode_before_the_rename(descriptor):  # the content is written by then
        seen_modes.append(stat.S_IMODE(os.fstat(descriptor).st_mode))
        fsync(descriptor)

    monkeypatch.setattr(os, "fsync", mode_before_the_rename)
    old_umask = os.umask(0)  # the most permissive umask: the mode alone keeps others out
    try:
        replace_file(tmp_path / "secret", "s3cret", mode=0o600)
    finally:
        os.umask(old_umask)
    assert seen_modes == [0o600]
    assert stat.S_IMODE((tmp_path / "secret").stat().st_mode) == 0o600


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
