"""Atomic writes: outputs get the usual permissions, and temp files never pile up, even from
writers that were killed mid-write (the next write into the folder removes them); a live
writer's temp file is never touched."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from desktop.domain.atomic import STALE_TEMP_SECONDS, write_bytes_atomic

ROOT = Path(__file__).resolve().parents[2]
posix_only = pytest.mark.skipif(os.name != "posix", reason="file modes and SIGKILL are POSIX")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture()
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


@posix_only
def test_a_new_file_gets_the_usual_permissions(tmp_path, umask_022):
    out = tmp_path / "out.png"
    write_bytes_atomic(out, b"new")
    assert _mode(out) == 0o644


@posix_only
def test_replacing_a_file_keeps_its_permissions(tmp_path, umask_022):
    out = tmp_path / "shared.png"
    out.write_bytes(b"old")
    out.chmod(0o664)
    write_bytes_atomic(out, b"new")
    assert out.read_bytes() == b"new" and _mode(out) == 0o664


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path, monkeypatch):
    out = tmp_path / "out.png"
    out.write_bytes(b"old")

    def full_disk(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError):
        write_bytes_atomic(out, b"new")
    assert out.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]


@posix_only
def test_a_writer_killed_mid_write_leaves_a_temp_the_next_write_removes(tmp_path):
    out = tmp_path / "out.png"
    out.write_bytes(b"old")
    killed_writer = (
        "import os, signal, sys; sys.path.insert(0, %r)\n"
        "from desktop.domain import atomic\n"
        "os.fsync = lambda fd: os.kill(os.getpid(), signal.SIGKILL)  # killed just before the rename\n"
        "atomic.write_bytes_atomic(%r, b'x' * 2_000_000)\n"
    ) % (str(ROOT), str(out))
    result = subprocess.run([sys.executable, "-c", killed_writer], capture_output=True, timeout=60)
    assert result.returncode == -9
    left = [p for p in tmp_path.iterdir() if p.name != "out.png"]
    assert len(left) == 1 and left[0].name.startswith(".out.png.") and out.read_bytes() == b"old"

    _age(left[0])
    write_bytes_atomic(tmp_path / "next.png", b"next render")  # any later write into the folder
    assert sorted(p.name for p in tmp_path.iterdir()) == ["next.png", "out.png"] and out.read_bytes() == b"old"


def test_only_temps_of_dead_writers_are_removed(tmp_path):
    dead, live = _dead_pid(), os.getpid()
    names = {
        "dead": f".out.png.{dead}-0123abcd.tmp",
        "dead, other target": f".other.png.{dead}-0123abcd.tmp",
        "live": f".out.png.{live}-0123abcd.tmp",
        "not ours": ".out.png.notes.tmp",
    }
    for name in names.values():
        _age(tmp_path / name, b"partial")
    write_bytes_atomic(tmp_path / "out.png", b"new")
    assert {p.name for p in tmp_path.iterdir()} == {"out.png", names["live"], names["not ours"]}


def _age(path: Path, data: bytes | None = None) -> Path:
    """`path` (written with `data` first, if given) as a writer left it longer ago than any write takes."""
    if data is not None:
        path.write_bytes(data)
    past = time.time() - STALE_TEMP_SECONDS - 60
    os.utime(path, (past, past), follow_symlinks=False)
    return path


def test_a_recent_temp_is_kept_even_when_its_pid_runs_nowhere_here(tmp_path):
    """A writer on another host or container (a shared folder) has a pid this machine does not know."""
    recent = tmp_path / f".out.png.{_dead_pid()}-0123abcd.tmp"
    recent.write_bytes(b"still being written elsewhere")
    write_bytes_atomic(tmp_path / "out.png", b"new")
    assert recent.exists()


@pytest.mark.parametrize("pid", ["99999999999999999999", "9" * 200])
def test_a_temp_name_with_a_pid_no_system_has_does_not_stop_the_write(tmp_path, pid):
    odd = _age(tmp_path / f".x.{pid}-deadbeef.tmp", b"")
    write_bytes_atomic(tmp_path / "out.png", b"new")
    assert (tmp_path / "out.png").read_bytes() == b"new" and odd.exists()


def test_a_folder_named_like_a_dead_writers_temp_is_left_alone(tmp_path):
    folder = tmp_path / f".out.png.{_dead_pid()}-0123abcd.tmp"
    folder.mkdir()
    _age(folder)
    write_bytes_atomic(tmp_path / "out.png", b"new")
    assert (tmp_path / "out.png").read_bytes() == b"new" and folder.is_dir()


@posix_only
def test_a_link_named_like_a_dead_writers_temp_is_left_alone(tmp_path):
    target = tmp_path / "kept.txt"
    target.write_bytes(b"kept")
    link = tmp_path / f".out.png.{_dead_pid()}-0123abcd.tmp"
    link.symlink_to(target)
    _age(link)
    write_bytes_atomic(tmp_path / "out.png", b"new")
    assert link.is_symlink() and target.read_bytes() == b"kept"


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="file owners are POSIX")
def test_another_users_temp_is_left_alone(tmp_path, monkeypatch):
    theirs = _age(tmp_path / f".out.png.{_dead_pid()}-0123abcd.tmp", b"theirs")
    monkeypatch.setattr(os, "getuid", lambda: theirs.stat().st_uid + 1)
    write_bytes_atomic(tmp_path / "out.png", b"new")
    assert theirs.exists()


def test_a_temp_that_cannot_be_removed_does_not_stop_the_write(tmp_path, monkeypatch):
    stuck = _age(tmp_path / f".out.png.{_dead_pid()}-0123abcd.tmp", b"partial")
    original = Path.unlink

    def refuse(self, missing_ok=False):
        if self == stuck:
            raise PermissionError(13, "Operation not permitted")
        original(self, missing_ok=missing_ok)

    monkeypatch.setattr(Path, "unlink", refuse)
    write_bytes_atomic(tmp_path / "out.png", b"new")
    assert (tmp_path / "out.png").read_bytes() == b"new" and stuck.exists()
