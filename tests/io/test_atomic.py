"""Tests of restore.io.atomic: whole files or none, whatever the name, and errors that name the file written."""

from __future__ import annotations

import os
import stat

import pytest

from restore.io.atomic import write_atomic


def test_a_name_near_the_file_system_limit_is_written(tmp_path):
    target = tmp_path / ("a" * 250 + ".png")  # 254 bytes: room for no longer temporary name beside it
    write_atomic(target, b"data")
    assert target.read_bytes() == b"data" and sorted(p.name for p in tmp_path.iterdir()) == [target.name]


def test_a_new_file_gets_the_permissions_of_any_new_file(tmp_path):
    umask = os.umask(0o022)
    os.umask(umask)
    write_atomic(tmp_path / "out.txt", "text")
    assert stat.S_IMODE((tmp_path / "out.txt").stat().st_mode) == 0o666 & ~umask


def test_a_failed_write_names_the_target_and_leaves_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "out.png"
    target.write_bytes(b"old")

    def full_disk(source, destination):
        raise OSError(28, "No space left on device", str(source))

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(OSError, match="No space left on device") as raised:
        write_atomic(target, b"new")
    assert raised.value.filename == str(target)
    assert target.read_bytes() == b"old" and sorted(p.name for p in tmp_path.iterdir()) == ["out.png"]


def test_a_missing_folder_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such folder") as raised:
        write_atomic(tmp_path / "missing" / "out.png", b"")
    assert raised.value.filename == str(tmp_path / "missing")


def test_an_interrupted_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "out.png"
    target.write_bytes(b"old")

    def interrupt(descriptor):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupt)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(target, b"new")
    assert target.read_bytes() == b"old" and sorted(p.name for p in tmp_path.iterdir()) == ["out.png"]


def test_a_folder_that_refuses_new_files_is_named_not_the_temporary(tmp_path, monkeypatch):
    target = tmp_path / "out.png"
    target.write_bytes(b"old")

    def refuse(path, flags, mode=0o777):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(os, "open", refuse)
    with pytest.raises(PermissionError, match="Permission denied") as raised:
        write_atomic(target, b"new")
    assert raised.value.filename == str(target)
    assert target.read_bytes() == b"old"
