"""Atomic file writes: a crash mid-save leaves the previous file intact.

The temp file is named after its writer's process id, so a later write into the same folder
can remove what a killed writer left behind without touching a live writer's temp file."""

from __future__ import annotations

import os
import re
import secrets
import stat
from pathlib import Path

import psutil

TEMP_SUFFIX = ".tmp"
TEMP_NAME = re.compile(r"\..+\.([0-9]+)-[0-9a-f]{8}\.tmp", re.DOTALL)


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Write to a temp file in the same folder, fsync it, then rename over `path`.

    The result has the mode of the file it replaces, or the usual 0666 less the umask."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_dead_writers_temps(target.parent)
    tmp = target.parent / f".{target.name}.{os.getpid()}-{secrets.token_hex(4)}{TEMP_SUFFIX}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            _keep_mode_of(target, handle.fileno())
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(target.parent)


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def remove_dead_writers_temps(folder: Path) -> None:
    """Delete the temp files in `folder` whose writer process is gone (killed mid-write)."""
    for candidate in folder.glob(f".*{TEMP_SUFFIX}"):
        pid = _writer_pid(candidate.name)
        if pid is not None and not psutil.pid_exists(pid):
            candidate.unlink(missing_ok=True)


def _writer_pid(name: str) -> int | None:
    """The pid in a temp name `.<target>.<pid>-<8 hex>.tmp`; None for names this module did not make."""
    match = TEMP_NAME.fullmatch(name)
    return int(match.group(1)) if match else None


def _keep_mode_of(target: Path, fd: int) -> None:
    """Replacing a file keeps its permissions; a new file keeps 0666 less the umask from os.open."""
    if os.name != "posix":
        return
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        return
    os.fchmod(fd, mode)


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable where the platform allows it."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
