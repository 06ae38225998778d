"""ControlNet training on a QThread, reporting steps, loss and sample grids; cancel and resume."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QObject, QThread, Signal, Slot

from desktop.domain.errors import StudioError

log = logging.getLogger(__name__)


class TrainingWorker(QObject):
    step = Signal(int, int, float)  # step, total, loss
    message = Signal(str)
    samples = Signal(str)  # path of the newest sample grid
    finished = Signal(str)  # folder of the final ControlNet ("" when stopped)
    failed = Signal(str)

    @Slot(object, object)
    def run(self, settings, token) -> None:
        from desktop.train.controlnet_trainer import train_controlnet

        out = Path(settings.out)

        def say(text: str) -> None:
            self.message.emit(text)
            grids = sorted(out.glob("samples-*.png"))
            if grids:
                self.samples.emit(str(grids[-1]))

        try:
            final = train_controlnet(settings, say=say, cancel=token, progress=lambda s, t, l: self.step.emit(s, t, l))
            self.finished.emit("" if token.cancelled else str(final))
        except StudioError as err:
            self.failed.emit(str(err))
        except Exception as err:  # noqa: BLE001 - the worker's edge
            log.exception("training failed")
            self.failed.emit(f"training failed: {err}")


class TrainingController(QObject):
    _submit = Signal(object, object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread = QThread()
        self._thread.setObjectName("training")
        self.worker = TrainingWorker()
        self.worker.moveToThread(self._thread)
        self._submit.connect(self.worker.run)
        self._thread.start()
        self._token = None

    def start(self, settings) -> None:
        from desktop.engine.cancel import CancelToken

        self._token = CancelToken()
        self._submit.emit(settings, self._token)

    def cancel(self) -> None:
        if self._token is not None:
            self._token.cancel()

    def shutdown(self) -> bool:
        self.cancel()
        self._thread.quit()
        return self._thread.wait(60000)
