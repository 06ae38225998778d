"""The preview pane: the error bar of a failed run, the live step-by-step preview and the finished
image, progress with time left, Generate and Cancel, the live toggle, and the history strip of results.

A cancelled or failed run's last preview stays, dimmed, with the step it stopped at in the caption,
until the next run's first preview or result."""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt, Signal
from PySide6.QtGui import QIcon, QImage, QPainter, QPixmap
from PySide6.QtWidgets import (
    QCheckBox, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QMenu, QProgressBar, QPushButton,
    QSizePolicy, QVBoxLayout, QWidget,
)

from .error_bar import ErrorBar

HISTORY_ICON = 72
IDLE_CAPTION = "Press Generate (Ctrl+Enter) to make an image"


def thumbnail(image: QImage) -> QImage:
    """A result as the history strip shows it: the strip keeps only these, never full-size images."""
    return image.scaled(HISTORY_ICON, HISTORY_ICON, Qt.AspectRatioMode.KeepAspectRatio,
                        Qt.TransformationMode.SmoothTransformation)


class ImageView(QWidget):
    """Shows one image scaled to fit inside its own rectangle, keeping its aspect ratio; the blit is all
    the UI does. Its size never follows the image (a QLabel's pixmap would push the caption, the
    buttons and the history out of the pane at a small window). A stopped run's preview is dimmed."""

    MINIMUM = 96

    def __init__(self) -> None:
        super().__init__()
        self._image = QImage()
        self._scaled = QPixmap()
        self._dimmed = False
        self.setMinimumSize(self.MINIMUM, self.MINIMUM)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setObjectName("imageView")

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(128, 128)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(self.MINIMUM, self.MINIMUM)

    def set_image(self, image: QImage) -> None:
        self._image = image
        self._dimmed = False
        self._rescale()

    def image(self) -> QImage:
        return self._image

    def set_dimmed(self, dimmed: bool) -> None:
        if dimmed != self._dimmed:
            self._dimmed = dimmed
            self.update()

    def is_dimmed(self) -> bool:
        return self._dimmed

    def image_rect(self) -> QRect:
        """Where the image is drawn, in this widget's coordinates (empty when there is none)."""
        if self._scaled.isNull():
            return QRect()
        size = self._scaled.size()
        area = self.contentsRect()
        return QRect(area.x() + (area.width() - size.width()) // 2, area.y() + (area.height() - size.height()) // 2,
                     size.width(), size.height())

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self._rescale()
        super().resizeEvent(event)

    def paintEvent(self, _event) -> None:  # noqa: N802 - Qt's name
        if self._scaled.isNull():
            return
        painter = QPainter(self)
        if self._dimmed:
            painter.setOpacity(0.35)
        painter.drawPixmap(self.image_rect(), self._scaled)

    def _rescale(self) -> None:
        area = self.contentsRect().size()
        if self._image.isNull() or area.isEmpty():
            self._scaled = QPixmap()
        else:
            mode = Qt.TransformationMode.FastTransformation
            if self._image.width() >= area.width() // 2:
                mode = Qt.TransformationMode.SmoothTransformation
            self._scaled = QPixmap.fromImage(self._image.scaled(area, Qt.AspectRatioMode.KeepAspectRatio, mode))
        self.update()


class Caption(QLabel):
    """One line under the image, elided to the pane's width (a long prompt never widens the pane);
    the whole text is its tooltip."""

    def __init__(self, text: str = "") -> None:
        super().__init__()
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.setText(text)

    def setText(self, text: str) -> None:  # noqa: N802 - Qt's name
        super().setText(text)
        self.setToolTip(text)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(0, super().minimumSizeHint().height())

    def paintEvent(self, _event) -> None:  # noqa: N802 - Qt's name
        painter = QPainter(self)
        shown = self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight, self.contentsRect().width())
        painter.setPen(self.palette().windowText().color())
        painter.drawText(self.contentsRect(), int(self.alignment()), shown)


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
        self.error_bar = ErrorBar()
        layout.addWidget(self.error_bar)
        self.view = ImageView()
        self.caption = Caption(IDLE_CAPTION)
        self._preview_step: tuple[int, int] | None = None  # the step of this run's preview in view, if any
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
        self.history_label = QLabel("History (double-click restores settings; right-click for more)")
        self.history_label.setWordWrap(True)  # the pane can be narrow: never clip the hint
        layout.addWidget(self.history_label)
        layout.addWidget(self.history)
        self.generate_button.clicked.connect(self.generate_requested)
        self.cancel_button.clicked.connect(self.cancel_requested)
        self.live_check.toggled.connect(self.live_toggled)

    def set_busy(self, busy: bool) -> None:
        self.cancel_button.setEnabled(busy)
        if busy:
            self._preview_step = None
            if self.view.is_dimmed():  # the stopped run's preview stays until this run's first one
                self.caption.setText("Generating…")
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
        self._preview_step = (step, total)
        self.caption.setText(f"Preview, step {step} of {total}")

    def show_progress(self, step: int, total: int, seconds_left: float) -> None:
        self.status_label.hide()
        self.progress.setRange(0, total)
        self.progress.setValue(step)
        left = f" · {seconds_left:.0f} s left" if seconds_left >= 0 else ""  # < 0: not known yet
        self.progress.setFormat(f"step {step}/{total}{left}")

    def show_image(self, image: QImage, caption: str) -> None:
        """A finished image (a result from the history, a reopened project's last one)."""
        self.view.set_image(image)
        self._preview_step = None
        self.caption.setText(caption)

    def show_result(self, image: QImage, caption: str) -> None:
        self.show_image(image, caption)
        self.status_label.hide()
        self.progress.setRange(0, 1)
        self.progress.setValue(1)
        self.progress.setFormat("done")

    def show_nothing(self) -> None:
        """A new document: no image, no error, the progress idle."""
        self.show_image(QImage(), IDLE_CAPTION)
        self.error_bar.dismiss()
        self.status_label.hide()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("idle")

    def show_stopped(self, text: str) -> None:
        """The run ended without a result ("cancelled", "failed") or a warm-up ended ("ready"). A half-done
        preview of the run stays in view, dimmed, its caption saying where the run stopped."""
        self.status_label.hide()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat(text)
        if text in ("cancelled", "failed"):
            if self._preview_step is not None:
                step, total = self._preview_step
                self.view.set_dimmed(True)
                self.caption.setText(f"{text.capitalize()} at step {step}/{total}")
            elif self.view.is_dimmed() or self.caption.text() == "Generating…":
                self.caption.setText(f"{text.capitalize()} before the first step")

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
