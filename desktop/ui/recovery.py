"""Crash recovery that belongs to the session that wrote it.

Each session keeps its unsaved work in its own file in the recovery folder, guarded by a lock
(QLockFile) held while the session lives. A start offers only files whose session is gone, so
several app instances at once never offer or delete each other's work."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QLockFile

from desktop.domain.atomic import write_text_atomic
from desktop.domain.document import Document
from desktop.domain.json_pieces import json_pieces
from desktop.domain.project import (
    LoadedProject, SavedState, project_from_dict, read_project_json, saved_state, saved_state_to_dict,
)

SUFFIX = ".cnstudio"
PROJECT_PATH_KEY = "recovered_project_path"


@dataclass(frozen=True)
class UnsavedWork:
    """What a recovery file holds: the document as a project file has it, and where it was last saved."""

    saved: SavedState
    project_path: Path | None

    @classmethod
    def of(cls, document: Document, project_path: Path | None) -> UnsavedWork:
        """Quick (the document's values are shared, not copied), so the UI thread takes it and moves on."""
        return cls(saved_state(document), project_path)


@dataclass
class RecoveredWork:
    loaded: LoadedProject
    project_path: Path | None  # the project file the work came from: Save writes there


class RecoveryFile:
    """One session's recovery file and the lock that says its session is alive."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = QLockFile(str(path.with_suffix(".lock")))
        self._lock.setStaleLockTime(0)  # stale only when its process is gone, never by age

    @classmethod
    def for_new_session(cls, folder: Path) -> RecoveryFile:
        return cls(folder / f"session-{os.getpid()}-{secrets.token_hex(4)}{SUFFIX}")

    def claim(self) -> bool:
        """Take the lock: true when this session holds it (its writer is gone, or it is ours)."""
        return self._lock.isLocked() or self._lock.tryLock(0)

    def write(self, work: UnsavedWork) -> None:
        """The lock is taken first, so the file never exists without a live owner. Slow (a lock file, the
        JSON, an fsync): `RecoveryWriter` runs it off the UI thread, the JSON in pieces that let the UI run."""
        if not self.claim():
            raise OSError(f"cannot lock {self._lock.fileName()}")
        data = saved_state_to_dict(work.saved)
        data[PROJECT_PATH_KEY] = str(work.project_path) if work.project_path else None
        write_text_atomic(self.path, "".join(json_pieces(data)))

    def load(self) -> RecoveredWork:
        """Raises InvalidProject when the file is damaged."""
        data = read_project_json(self.path)
        loaded = project_from_dict(data, self.path.name)
        saved_path = data.get(PROJECT_PATH_KEY)  # a dict: project_from_dict refuses anything else
        return RecoveredWork(loaded, Path(saved_path) if isinstance(saved_path, str) and saved_path else None)

    def remove(self) -> None:
        """The work is saved, restored elsewhere or discarded: the file goes, then the lock."""
        self.path.unlink(missing_ok=True)
        self._lock.unlock()

    def set_aside(self) -> Path:
        """A damaged file is kept under another name, never offered again (where it can be renamed)."""
        aside = self.path.with_suffix(".damaged")
        try:
            os.replace(self.path, aside)
        except OSError:
            aside = self.path
        self._lock.unlock()
        return aside

    def release(self) -> None:
        """Keep the file for a later start: unlocked, it reads as left by a session that is gone."""
        self._lock.unlock()


def newest_orphan(folder: Path) -> RecoveryFile | None:
    """The newest recovery file whose session is gone, now claimed by this session; files of
    live sessions are skipped untouched."""
    for path in sorted(folder.glob(f"*{SUFFIX}"), key=_modified, reverse=True):
        candidate = RecoveryFile(path)
        if candidate.claim():
            if path.exists():
                return candidate
            candidate.release()  # removed by its owner between the listing and the claim
    return None


def _modified(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return 0.0
