"""Atomic file writes: a crash mid-save leaves the previous file intact.

The temp file is named after its writer's process id, so a later write into the same folder
can remove what a killed writer left behind (once it is old enough that no writer anywhere
still holds it) without touching a live writer's temp file."""

from __future__ import annotations

import os
import re
import secrets
import stat
import tempfile
import time
from pathlib import Path

import psutil

from .errors import InvalidRecipe

TEMP_SUFFIX = ".tmp"
TEMP_NAME = re.compile(r"\..+\.([0-9]+)-[0-9a-f]{8}\.tmp", re.DOTALL)
# A writer renames its temp within seconds, so one this old was left behind; younger ones are kept
# even when their pid runs nowhere here: a writer on another host or container (a shared or NFS
# folder) has a pid that means nothing on this one.
STALE_TEMP_SECONDS = 10 * 60


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


def check_output_file(path: str | os.PathLike[str], suffix: str, field: str = "output") -> Path:
    """Checked before any work is done: a long run must not end on a path that cannot be written."""
    output = Path(path)
    if output.suffix.lower() != suffix:
        raise InvalidRecipe(field, f"must be a {suffix} file, got {output.name}")
    if output.is_dir():
        raise InvalidRecipe(field, f"{output} is a folder, not a {suffix} file")
    folder = output.resolve().parent
    if not folder.is_dir():
        raise InvalidRecipe(field, f"folder {folder} does not exist")
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=f".{output.name}.", suffix=".probe"):
            pass  # creating a file is the one test that answers for read-only mounts, permissions and ACLs alike
    except OSError as err:
        raise InvalidRecipe(field, f"cannot write into folder {folder}: {err.strerror or err}") from err
    return output


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def remove_dead_writers_temps(folder: Path) -> None:
    """Delete the temp files in `folder` that a writer killed mid-write left behind.

    Best effort: a name that cannot be checked or a file that cannot be removed is skipped, since
    cleaning up must never fail the write that comes next."""
    now = time.time()
    try:
        candidates = list(folder.glob(f".*{TEMP_SUFFIX}"))
    except OSError:
        return
    for candidate in candidates:
        try:
            if _left_by_dead_writer(candidate, now):
                candidate.unlink()
        except (OSError, OverflowError, ValueError):  # gone already, not ours to remove, a pid no system has
            continue


def _left_by_dead_writer(candidate: Path, now: float) -> bool:
    """One of our temp names, a regular file of this user's (never a folder or a link, never another
    user's file), old enough, and its writer's pid runs nowhere here."""
    pid = _writer_pid(candidate.name)
    if pid is None:
        return False
    info = candidate.lstat()
    if not stat.S_ISREG(info.st_mode) or now - info.st_mtime < STALE_TEMP_SECONDS:
        return False
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        return False
    return not psutil.pid_exists(pid)


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
