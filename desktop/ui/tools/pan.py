"""Panning the view: the middle button, or the left one while Space is held, on any layer."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QMouseEvent

from .base import CanvasTool

if TYPE_CHECKING:
    from desktop.ui.canvas import CanvasView


class PanTool(CanvasTool):
    """Drags the canvas under the pointer; it edits nothing, so no layer needs to be selected."""

    cursor = Qt.CursorShape.OpenHandCursor

    def __init__(self, canvas: CanvasView) -> None:
        super().__init__(canvas)
        self._from: QPointF | None = None  # the pointer at the last move, in widget pixels

    def press(self, event: QMouseEvent, point: QPointF) -> None:
        self._from = event.position()

    def move(self, event: QMouseEvent, point: QPointF) -> None:
        if self._from is None:
            return
        delta = event.position() - self._from
        self._from = event.position()
        self.canvas.pan_by(delta)

    def release(self, event: QMouseEvent) -> None:
        self.cancel()

    def cancel(self) -> None:
        self._from = None
