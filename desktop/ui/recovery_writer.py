"""The recovery file kept in step on a thread of its own.

Taking the lock, encoding the project and the fsync once stalled the UI thread for 364 ms in the middle of
a slider drag (the lock file's first write, with the worker busy); here the UI thread only takes a
snapshot (microseconds) and the writes happen in order on a short-lived thread. Writes not yet started
are replaced by the newest; `flush` waits for all of them (closing, and tests that read the file).
"""

from __future__ import annotations

import logging
import threading
from collections import deque

from .recovery import RecoveryFile, UnsavedWork

log = logging.getLogger(__name__)


class RecoveryWriter:
    def __init__(self, file: RecoveryFile) -> None:
        self._file = file
        self._jobs: deque[UnsavedWork | None] = deque()  # None: remove the file
        self._running = False
        self._file_wanted = False  # the last job asked for the file to exist
        self._cond = threading.Condition()

    @property
    def file(self) -> RecoveryFile:
        return self._file

    def keep(self, work: UnsavedWork) -> None:
        """Write `work` soon; a write still waiting is replaced by it."""
        with self._cond:
            if self._jobs and self._jobs[-1] is not None:
                self._jobs[-1] = work
            else:
                self._jobs.append(work)
            self._file_wanted = True
            self._start()

    def drop(self) -> None:
        """Remove the file soon (after the writes queued before): nothing is left unsaved."""
        with self._cond:
            if not self._file_wanted:
                return
            self._jobs.append(None)
            self._file_wanted = False
            self._start()

    def flush(self) -> None:
        """Wait until every write and removal asked for is done."""
        with self._cond:
            self._cond.wait_for(lambda: not self._running)

    def adopt(self, file: RecoveryFile) -> None:
        """Restored work's file becomes this session's own; the file this session had goes."""
        self.flush()
        self._file.remove()
        self._file = file
        self._file_wanted = True

    def finish(self, keep: bool) -> None:
        """The session ends: the file stays for the next start (unlocked) when `keep`, otherwise it goes."""
        self.flush()
        if keep:
            self._file.release()
        else:
            self._file.remove()

    def _start(self) -> None:
        if not self._running:
            self._running = True
            threading.Thread(target=self._drain, name="recovery-writer", daemon=True).start()

    def _drain(self) -> None:
        while True:
            with self._cond:
                if not self._jobs:
                    self._running = False
                    self._cond.notify_all()
                    return
                job = self._jobs.popleft()
            try:
                if job is None:
                    self._file.remove()
                else:
                    self._file.write(job)
            except OSError as err:
                log.warning("autosave failed: %s", err)
            except Exception:  # a fault here must not end the writes that follow, nor pass unseen
                log.exception("autosave failed")
