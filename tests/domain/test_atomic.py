"""Atomic writes: outputs get the usual permissions, and temp files never pile up, even from
writers that were killed mid-write (the next write into the folder removes them); a live
writer's temp file is never touched."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from desktop.domain.atomic import write_bytes_atomic

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
        (tmp_path / name).write_bytes(b"partial")
    write_bytes_atomic(tmp_path / "out.png", b"new")
    assert {p.name for p in tmp_path.iterdir()} == {"out.png", names["live"], names["not ours"]}
