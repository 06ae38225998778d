"""The preview pane: the live step-by-step preview and the finished image, progress with time
left, Generate and Cancel, the live toggle, and the history strip of results."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import (
    QCheckBox, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QMenu, QProgressBar, QPushButton,
    QSizePolicy, QVBoxLayout, QWidget,
)

HISTORY_ICON = 72


def thumbnail(image: QImage) -> QImage:
    """A result as the history strip shows it: the strip keeps only these, never full-size images."""
    return image.scaled(HISTORY_ICON, HISTORY_ICON, Qt.AspectRatioMode.KeepAspectRatio,
                        Qt.TransformationMode.SmoothTransformation)


class ImageView(QLabel):
    """Shows one image scaled to fit, keeping its aspect ratio; the blit is all the UI does."""

    def __init__(self) -> None:
        super().__init__()
        self._image = QImage()
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumSize(200, 200)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setObjectName("imageView")

    def set_image(self, image: QImage) -> None:
        self._image = image
        self._rescale()

    def image(self) -> QImage:
        return self._image

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self._rescale()
        super().resizeEvent(event)

    def _rescale(self) -> None:
        if self._image.isNull():
            self.setPixmap(QPixmap())
            return
        mode = Qt.TransformationMode.FastTransformation
        if self._image.width() >= self.width() // 2:
            mode = Qt.TransformationMode.SmoothTransformation
        self.setPixmap(QPixmap.fromImage(self._image).scaled(self.size() * 0.98, Qt.AspectRatioMode.KeepAspectRatio, mode))


class PreviewPane(QWidget):
    generate_requested = Signal()
    cancel_requested = Signal()
    live_toggled = Signal(bool)
    history_activated = Signal(int)  # restore settings of history item
    history_action = Signal(str, int)  # "show" / "save" / "copy" / "reference", index

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        self.view = ImageView()
        self.caption = QLabel("Press Generate (Ctrl+Enter) to make an image")
        self.caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.caption)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("idle")
        self.progress.setTextVisible(True)
        layout.addWidget(self.progress)
        self.status_label = QLabel()  # a busy bar shows no text: what is happening is said here
        self.status_label.setWordWrap(True)
        self.status_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.status_label.hide()
        layout.addWidget(self.status_label)
        row = QHBoxLayout()
        self.generate_button = QPushButton("Generate")
        self.generate_button.setDefault(True)
        self.generate_button.setToolTip("Generate (Ctrl+Enter)")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Cancel (Esc)")
        self.cancel_button.setEnabled(False)
        self.live_check = QCheckBox("Live")
        self.live_check.setToolTip("Generate again automatically after each edit")
        row.addWidget(self.generate_button, 2)
        row.addWidget(self.cancel_button, 1)
        row.addWidget(self.live_check)
        layout.addLayout(row)
        self.history = QListWidget()
        self.history.setViewMode(QListWidget.ViewMode.IconMode)
        self.history.setFlow(QListWidget.Flow.LeftToRight)
        self.history.setWrapping(False)
        self.history.setIconSize(QSize(HISTORY_ICON, HISTORY_ICON))
        self.history.setFixedHeight(HISTORY_ICON + 26)
        self.history.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.history.customContextMenuRequested.connect(self._history_menu)
        self.history.itemDoubleClicked.connect(lambda item: self.history_activated.emit(self.history.row(item)))
        self.history.itemClicked.connect(lambda item: self.history_action.emit("show", self.history.row(item)))
        history_label = QLabel("History (double-click restores settings; right-click for more)")
        history_label.setWordWrap(True)  # the pane can be narrow: never clip the hint
        layout.addWidget(history_label)
        layout.addWidget(self.history)
        self.generate_button.clicked.connect(self.generate_requested)
        self.cancel_button.clicked.connect(self.cancel_requested)
        self.live_check.toggled.connect(self.live_toggled)

    def set_busy(self, busy: bool) -> None:
        self.cancel_button.setEnabled(busy)
        if busy:
            self.show_status("starting…")

    def show_status(self, text: str) -> None:
        """A step with no progress of its own (loading, optimising for minutes): the bar is busy and
        the text stays in view until the next step's progress."""
        self.progress.setRange(0, 0)
        self.progress.setFormat(text)
        self.status_label.setText(text)
        self.status_label.show()

    def show_preview(self, step: int, total: int, image: QImage) -> None:
        self.view.set_image(image)
        self.caption.setText(f"Preview, step {step} of {total}")

    def show_progress(self, step: int, total: int, seconds_left: float) -> None:
        self.status_label.hide()
        self.progress.setRange(0, total)
        self.progress.setValue(step)
        left = f" · {seconds_left:.0f} s left" if seconds_left >= 0 else ""  # < 0: not known yet
        self.progress.setFormat(f"step {step}/{total}{left}")

    def show_result(self, image: QImage, caption: str) -> None:
        self.view.set_image(image)
        self.caption.setText(caption)
        self.status_label.hide()
        self.progress.setRange(0, 1)
        self.progress.setValue(1)
        self.progress.setFormat("done")

    def show_stopped(self, text: str) -> None:
        self.status_label.hide()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat(text)

    def set_history(self, thumbnails: list[QImage], tooltips: list[str]) -> None:
        """The strip of results; a click asks the window for the full image ("show")."""
        self.history.clear()
        for image, tip in zip(thumbnails, tooltips):
            item = QListWidgetItem(QIcon(QPixmap.fromImage(image)), "")
            item.setToolTip(tip)
            self.history.addItem(item)
        self.history.scrollToBottom()

    def _history_menu(self, position) -> None:
        item = self.history.itemAt(position)
        if item is None:
            return
        index = self.history.row(item)
        menu = QMenu(self)
        menu.addAction("Restore settings", lambda: self.history_activated.emit(index))
        menu.addAction("Save PNG…", lambda: self.history_action.emit("save", index))
        menu.addAction("Copy image", lambda: self.history_action.emit("copy", index))
        menu.addAction("Send to a new reference layer", lambda: self.history_action.emit("reference", index))
        menu.exec(self.history.mapToGlobal(position))
