"""The scripted start used for docs and smoke tests (`--generate --screenshot OUT.png --quit`):
generate once, screenshot when done, quit. The exit code says whether it worked; with --quit
nothing ever waits on a dialog."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PySide6.QtCore import QBuffer, QIODevice, QTimer
from PySide6.QtWidgets import QApplication

from desktop.domain.atomic import write_bytes_atomic

from .dialogs import ScriptedDialogs
from .main_window import MainWindow

EXIT_FAILED = 2


def save_screenshot(window: MainWindow, path: Path) -> None:
    """Encoded in memory and written atomically: a kill mid-write keeps the previous file whole."""
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    window.grab().save(buffer, "PNG")
    write_bytes_atomic(path, bytes(buffer.data()))


class ScriptedRun:
    """Drives one scripted start; the first end (success or failure) wins, and once it has ended
    nothing more is printed: stderr and the exit code always agree."""

    def __init__(self, window: MainWindow, args: argparse.Namespace) -> None:
        self.window = window
        self.args = args
        self._ended = False
        self._failed = False
        self._dialogs = ScriptedDialogs(self.fail) if args.quit else None
        if self._dialogs is not None:
            window.dialogs = self._dialogs

    def start(self) -> None:
        if self.args.generate:
            self.window.controller.result_ready.connect(lambda _result: QTimer.singleShot(50, self.succeed))
            QTimer.singleShot(100, self.window.runs.generate)
        else:
            QTimer.singleShot(300, self.succeed)

    def fail(self) -> None:
        """Quit with a failure as soon as the event loop runs (a message can come before it starts)."""
        self._failed = True
        QTimer.singleShot(0, lambda: self._end(EXIT_FAILED))

    def succeed(self) -> None:
        if self._ended or self._failed:
            return
        if self.args.screenshot:
            QApplication.processEvents()  # paint first; a message it delivers fails the run
            if self._failed:
                return
            path = Path(self.args.screenshot)
            try:
                save_screenshot(self.window, path)
            except OSError as err:
                print(f"error: cannot write the screenshot {path}: {err.strerror or err}", file=sys.stderr)
                if self.args.quit:
                    self._end(EXIT_FAILED)
                return
        if self.args.quit:
            self._end(0)

    def _end(self, code: int) -> None:
        if self._ended:
            return
        self._ended = True
        if self._dialogs is not None:
            self._dialogs.run_ended()
        self.window.close_without_asking(keep_recovery=False)
        QApplication.instance().exit(code)
