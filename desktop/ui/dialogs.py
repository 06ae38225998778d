"""Every question the app asks the user, in one replaceable place (tests answer them; a scripted
run answers none). A failed run is not among them: it shows in the preview pane's error bar."""

from __future__ import annotations

import sys
from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox, QProgressDialog, QWidget


class DownloadDialog(QProgressDialog):
    """Model downloads: size, speed and a Cancel that stops the download and the run."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__("Downloading model…", "Cancel", 0, 100, parent)
        self.setWindowTitle("Downloading model")
        self.setWindowModality(Qt.WindowModality.NonModal)
        self.setAutoClose(False)
        self.setAutoReset(False)
        self.setMinimumDuration(0)
        self.hide()

    def show_progress(self, done: int, total: int, speed: float) -> None:
        self.setMaximum(max(1, total // 2**20))
        self.setValue(min(self.maximum(), done // 2**20))
        self.setLabelText(f"Downloading model: {done / 2**20:,.0f} of {total / 2**20:,.0f} MB at {speed / 2**20:.1f} MB/s")
        if not self.isVisible():
            self.show()


class Dialogs:
    def __init__(self, parent: QWidget) -> None:
        self.parent = parent

    def error(self, title: str, message: str) -> None:
        QMessageBox.warning(self.parent, title, message)

    def info(self, title: str, message: str) -> None:
        QMessageBox.information(self.parent, title, message)

    def run_failed(self, title: str, message: str) -> None:
        """A run's failure: the preview pane's error bar already shows it, with its actions, so no dialog
        interrupts (Live mode least of all). Only a scripted run, with nobody to read the bar, acts on it."""

    def ask_save_changes(self, name: str) -> str:
        """'save', 'discard' or 'cancel'."""
        buttons = QMessageBox.StandardButton
        answer = QMessageBox.question(
            self.parent, "Unsaved changes", f"Save the changes to {name} before closing?",
            buttons.Save | buttons.Discard | buttons.Cancel, buttons.Save,
        )
        return {buttons.Save: "save", buttons.Discard: "discard"}.get(answer, "cancel")

    def ask_restore_recovery(self) -> bool | None:
        """True restores, False discards; None (only a scripted run) leaves the file for later."""
        buttons = QMessageBox.StandardButton
        answer = QMessageBox.question(
            self.parent, "Restore work?",
            "ControlNet Studio did not close properly last time. Restore the unsaved work?",
            buttons.Yes | buttons.No, buttons.Yes,
        )
        return answer == buttons.Yes

    def open_file(self, title: str, filters: str) -> str:
        return QFileDialog.getOpenFileName(self.parent, title, "", filters)[0]

    def open_folder(self, title: str) -> str:
        return QFileDialog.getExistingDirectory(self.parent, title)

    def save_file(self, title: str, filters: str, suggested: str = "") -> str:
        return QFileDialog.getSaveFileName(self.parent, title, suggested, filters)[0]


class ScriptedDialogs:
    """A scripted --quit run has nobody to answer: a message or question is printed as one line
    on stderr and ends the run with a non-zero exit (`stop`); the answer given changes nothing."""

    def __init__(self, stop: Callable[[], None]) -> None:
        self._stop = stop
        self._stopped = False

    def _fail(self, message: str) -> None:
        """The first message ends the run; it alone is printed, so stderr holds one line."""
        if self._stopped:
            return
        self._stopped = True
        one_line = "; ".join(line.strip() for line in message.splitlines() if line.strip())
        print(f"error: {one_line}", file=sys.stderr)
        self._stop()

    def run_ended(self) -> None:
        """The run has ended (its exit code is set): a message that comes later, such as a worker
        finishing during shutdown, is not printed."""
        self._stopped = True

    def error(self, title: str, message: str) -> None:
        self._fail(message)

    def info(self, title: str, message: str) -> None:
        self._fail(message)

    def run_failed(self, title: str, message: str) -> None:
        self._fail(message)

    def ask_save_changes(self, name: str) -> str:
        self._fail(f"a scripted run cannot answer whether to save the changes to {name}")
        return "cancel"

    def ask_restore_recovery(self) -> bool | None:
        self._fail("a scripted run cannot answer whether to restore unsaved work")
        return None

    def open_file(self, title: str, filters: str) -> str:
        self._fail(f"a scripted run cannot choose a file ({title})")
        return ""

    def open_folder(self, title: str) -> str:
        self._fail(f"a scripted run cannot choose a folder ({title})")
        return ""

    def save_file(self, title: str, filters: str, suggested: str = "") -> str:
        self._fail(f"a scripted run cannot choose a file ({title})")
        return ""
