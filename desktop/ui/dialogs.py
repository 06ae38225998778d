"""Every question the app asks the user, in one replaceable place (tests answer them)."""

from __future__ import annotations

from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget


class Dialogs:
    def __init__(self, parent: QWidget) -> None:
        self.parent = parent

    def error(self, title: str, message: str) -> None:
        QMessageBox.warning(self.parent, title, message)

    def info(self, title: str, message: str) -> None:
        QMessageBox.information(self.parent, title, message)

    def ask_save_changes(self, name: str) -> str:
        """'save', 'discard' or 'cancel'."""
        buttons = QMessageBox.StandardButton
        answer = QMessageBox.question(
            self.parent, "Unsaved changes", f"Save the changes to {name} before closing?",
            buttons.Save | buttons.Discard | buttons.Cancel, buttons.Save,
        )
        return {buttons.Save: "save", buttons.Discard: "discard"}.get(answer, "cancel")

    def ask_restore_recovery(self) -> bool:
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
