"""Reading files a user or a stranger names: regular files only, their size capped before reading.

A path of `/dev/zero` would grow memory without limit and a FIFO would block for ever, so the
kind of file is checked before it is opened and again on the open descriptor (it may have been
swapped in between), and the read stops one byte past the cap.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from .errors import UnreadableFile

MB = 2**20
MAX_IMAGE_BYTES = 256 * MB  # a 64 MP 16-bit TIFF stays under it
MAX_RECIPE_BYTES = 64 * MB  # recipes embed their control images
MAX_POSE_BYTES = 16 * MB
MAX_PROJECT_BYTES = 1024 * MB  # layers and every result of a session, embedded


def read_regular_file(path: str | os.PathLike[str], *, limit: int, what: str = "file") -> bytes:
    """Return the bytes of a regular file no larger than `limit`, or raise UnreadableFile."""
    label = f"{what} {Path(path).name or path}"
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise UnreadableFile(f"cannot read {label}: it is not a regular file")
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError as err:
        raise UnreadableFile(f"cannot read {label}: it does not exist") from err
    except PermissionError as err:
        raise UnreadableFile(f"cannot read {label}: permission denied") from err
    except OSError as err:
        raise UnreadableFile(f"cannot read {label}: {err.strerror or err}") from err
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise UnreadableFile(f"cannot read {label}: it is not a regular file")
        if info.st_size > limit:
            raise UnreadableFile(f"cannot read {label}: it is {_size(info.st_size)}, over the limit of {_size(limit)}")
        try:
            data = handle.read(limit + 1)
        except OSError as err:
            raise UnreadableFile(f"cannot read {label}: {err.strerror or err}") from err
    if len(data) > limit:
        raise UnreadableFile(f"cannot read {label}: it is over the limit of {_size(limit)}")
    return data


def read_text_file(path: str | os.PathLike[str], *, limit: int, what: str = "file") -> str:
    """A UTF-8 text file (a byte-order mark is accepted, as editors on Windows write one)."""
    data = read_regular_file(path, limit=limit, what=what)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise UnreadableFile(f"cannot read {what} {Path(path).name}: it is not UTF-8 text") from err


def _size(count: int) -> str:
    return f"{count / MB:,.1f} MB" if count >= MB else f"{count:,} bytes"
