"""What a base model is (family, native size, or why it is refused), read off the UI thread.

Why a worker: peeking reads a folder's configs or a file's header, which on a network drive or
a cold disk can take a while, and picking a model must never freeze the window. Every question
carries a job id and only the newest one's answer is delivered, so a slow answer about a model
the user has since replaced never shows.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, QThreadPool, Signal, Slot

from desktop.domain.errors import StudioError

log = logging.getLogger(__name__)


class ModelInfoProbe(QObject):
    answered = Signal(object, object, str)  # reference (None: the demo model), ModelInfo | None, refusal or ""
    _done = Signal(int, object, object, str)  # emitted on the pool's thread, received on this one

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = QThreadPool()
        self._pool.setMaxThreadCount(1)
        self._job = 0
        self._done.connect(self._on_done)

    def ask(self, reference: str | None) -> None:
        """Peek at `reference` (None: the built-in demo model); the answer comes as `answered`."""
        self._job += 1
        job = self._job
        self._pool.clear()  # peeks still queued are stale: only the newest question is answered
        self._pool.start(lambda: self._done.emit(job, reference, *_peek(reference)))

    def shutdown(self) -> None:
        """Forget pending answers and wait for the running peek (a header read): nothing emits afterwards."""
        self._job += 1
        self._pool.clear()
        self._pool.waitForDone()

    @Slot(int, object, object, str)
    def _on_done(self, job: int, reference: str | None, info, refusal: str) -> None:
        if job == self._job:
            self.answered.emit(reference, info, refusal)


def _peek(reference: str | None) -> tuple[object, str]:
    """(ModelInfo or None, "") or (None, the refusal sentence); never raises."""
    from desktop.domain.defaults import default_base_model
    from desktop.engine.model_peek import peek_base_info

    try:
        return peek_base_info(reference or default_base_model()), ""
    except StudioError as err:
        return None, str(err)
    except Exception as err:  # noqa: BLE001 - the worker's edge: a broken file must not kill the thread
        log.exception("peeking at %s failed", reference)
        return None, f"the model could not be read: {err}"
