"""How the main window shares its room: the canvas keeps a usable size as the window shrinks, and the
settings scroll rather than push the preview pane's parts over each other.

At the 1000 x 600 minimum window the side panes used to keep their full width while only the canvas
shrank (to about 150 px), and the right column asked for more height than there was, so the result
image spilled under the caption, the status, Generate and the History label.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QComboBox, QFrame, QScrollArea, QSplitter, QStyle, QWidget

CANVAS_TARGET = 480  # the canvas width the side panes give way to, down to their own minimums


class WorkSplitter(QSplitter):
    """Side pane | canvas | side pane. The side panes keep the widths the user gave them (or the first
    ones) while there is room; when the window shrinks they give up width, the right one first, down to
    their minimums before the canvas drops below CANVAS_TARGET, and they get it back as the window grows."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self._preferred: tuple[int, int] | None = None  # the side panes' widths, as set or dragged
        self.splitterMoved.connect(self._remember)

    def setSizes(self, sizes) -> None:  # noqa: N802 - Qt's name
        """Sizes set by the program are the side panes' preferred widths too."""
        super().setSizes(sizes)
        if len(sizes) == 3:
            self._preferred = (sizes[0], sizes[2])

    def _remember(self, _position: int, _index: int) -> None:
        sizes = self.sizes()
        self._preferred = (sizes[0], sizes[2])

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self.share_room()

    def share_room(self) -> None:
        sizes = self.sizes()
        if len(sizes) != 3 or self._preferred is None or sum(sizes) <= 0:
            return
        total = sum(sizes)
        low_left, low_right = (_minimum_width(self.widget(i)) for i in (0, 2))
        left, right = max(low_left, self._preferred[0]), max(low_right, self._preferred[1])
        short = CANVAS_TARGET - (total - left - right)
        if short > 0:
            from_right = min(short, right - low_right)
            right -= from_right
            left -= min(short - from_right, left - low_left)
        wanted = [left, total - left - right, right]
        if wanted != sizes:
            super().setSizes(wanted)


def _minimum_width(widget: QWidget) -> int:
    return widget.minimumWidth() or widget.minimumSizeHint().width()


class SettingsScroll(QScrollArea):
    """The settings panel, scrolling up and down when the window is short; never sideways: it is as
    wide as the panel needs."""

    def __init__(self, panel: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidget(panel)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

    def _bar(self) -> int:
        return self.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent) + 2

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        hint = self.widget().sizeHint()
        return QSize(hint.width() + self._bar(), hint.height())

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(self.widget().minimumSizeHint().width() + self._bar(), 96)


def narrow_combo(combo: QComboBox, characters: int = 12) -> QComboBox:
    """A combo whose longest label or path never sets its pane's width (the popup still shows it whole):
    at the 1000 x 600 minimum window every pixel a side pane does not need is the canvas's."""
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(characters)
    return combo
