"""The error bar on the preview pane: a failed run said where it happened, not in a modal dialog.

One sentence and a button per way out (a smaller size, Browse…, Turn layer off…), and a close
button. It hides when closed, when an action has dealt with the error, or on the next result.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton, QVBoxLayout, QWidget

from .model_picker import ERROR_COLOUR
from .run_errors import ShownError


class ErrorBar(QFrame):
    action_triggered = Signal(object)  # ErrorAction
    closed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("errorBar")
        self.setStyleSheet(f"QFrame#errorBar {{ background: rgba(239, 107, 98, 40); border: 1px solid {ERROR_COLOUR};"
                           " border-radius: 4px; }")
        self.shown: ShownError | None = None
        self.message_label = QLabel()
        self.message_label.setWordWrap(True)
        self.message_label.setTextFormat(Qt.TextFormat.PlainText)
        self.message_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.close_button = QToolButton(text="✕")
        self.close_button.setAutoRaise(True)
        self.close_button.setToolTip("Close")
        self.close_button.clicked.connect(self.dismiss)
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.message_label, 1)
        top.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignTop)
        self._buttons = QHBoxLayout()
        self._buttons.setContentsMargins(0, 0, 0, 0)
        self._buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 4, 6)
        layout.setSpacing(4)
        layout.addLayout(top)
        layout.addLayout(self._buttons)
        self.hide()

    def show_error(self, shown: ShownError) -> None:
        """Replace what the bar says (the latest failure is the one that matters)."""
        self.shown = shown
        self.message_label.setText(shown.message[:1].upper() + shown.message[1:])
        self.setToolTip(shown.kind)
        while self._buttons.count() > 1:  # the stretch stays first
            item = self._buttons.takeAt(1)
            if item.widget() is not None:
                item.widget().deleteLater()
        for action in shown.actions:
            button = QPushButton(action.label)
            button.clicked.connect(lambda _=False, a=action: self.action_triggered.emit(a))
            self._buttons.addWidget(button)
        self.show()

    def action_buttons(self) -> list[QPushButton]:
        return [self._buttons.itemAt(i).widget() for i in range(1, self._buttons.count())
                if isinstance(self._buttons.itemAt(i).widget(), QPushButton)]

    def button(self, label_start: str) -> QPushButton | None:
        return next((b for b in self.action_buttons() if b.text().startswith(label_start)), None)

    def dismiss(self) -> None:
        if self.isVisible() or self.shown is not None:
            self.shown = None
            self.hide()
            self.closed.emit()
