"""Tools that add operations to a painted layer (a scribble's ink, an inpaint layer's mask, any
layer's region while the user paints regions): the brush and the eraser, which stroke, and fill,
which clicks."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPainterPath, QPen

from desktop.domain.layers import Fill, Layer, Stroke
from desktop.ui.canvas_style import INK, MASK_ALPHA, MASK_TINT, PAPER, REGION_ALPHA, REGION_REVEAL, REGION_SHADE

from .base import CanvasTool, commit

if TYPE_CHECKING:
    from desktop.ui.canvas import CanvasView

MASK = "mask_operations"
REGION = "region_operations"
LABELS = {MASK: " (mask)", REGION: " (region)"}  # what an undo step says it painted, beside a scribble's ink
MIN_STEP = 0.5  # canvas pixels the pointer moves before the stroke takes another point


class StrokeTool(CanvasTool):
    """The brush, or the eraser: Qt draws the stroke live as the pointer moves (with the tablet's
    pressure), and the finished stroke is one undoable edit of the layer's operations."""

    shows_brush_outline = True

    def __init__(self, canvas: CanvasView, erase: bool) -> None:
        super().__init__(canvas)
        self.erase = erase
        self._points: list[tuple[float, float, float]] = []  # x, y, pressure

    def press(self, event: QMouseEvent, point: QPointF) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._points = [(point.x(), point.y(), self.canvas.pressure)]
            self.canvas.update()

    def move(self, event: QMouseEvent, point: QPointF) -> None:
        if not self._points:
            return
        last = self._points[-1]
        if math.hypot(point.x() - last[0], point.y() - last[1]) >= MIN_STEP:
            self._points.append((point.x(), point.y(), self.canvas.pressure))
            self.canvas.update()

    def release(self, event: QMouseEvent) -> None:
        self.finish()

    def finish(self) -> None:
        points, self._points = tuple(self._points), []
        painted = _painted(self.canvas)
        if not points or painted is None:
            return
        layer, target = painted
        label = ("Erase" if self.erase else "Brush stroke") + LABELS.get(target, "")
        _append(self.canvas, layer, target, Stroke(points, self.canvas.brush_size, self.erase), label)

    def cancel(self) -> None:
        self._points = []
        self.canvas.update()

    def paint(self, painter: QPainter) -> None:
        """The stroke so far, in the colour it will have once committed (a dot for a single press)."""
        if not self._points:
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        target = self.canvas.painted_target(self.canvas.current_layer())
        if target == MASK:
            colour = QColor(255, 255, 255, 140) if self.erase else QColor(*MASK_TINT, round(255 * MASK_ALPHA))
        elif target == REGION:
            colour = QColor(*REGION_SHADE, round(255 * REGION_ALPHA)) if self.erase else QColor(*REGION_REVEAL)
        else:
            colour = QColor(*PAPER) if self.erase else QColor(*INK)
        painter.setPen(QPen(colour, self.canvas.brush_size, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap,
                            Qt.PenJoinStyle.RoundJoin))
        (x0, y0, _), rest = self._points[0], self._points[1:]
        path = QPainterPath(QPointF(x0, y0))
        for x, y, _ in rest:
            path.lineTo(x, y)
        if not rest:
            path.lineTo(x0 + 0.01, y0)
        painter.drawPath(path)


class FillTool(CanvasTool):
    """Flood fill from the clicked point: each click is one undoable edit."""

    def press(self, event: QMouseEvent, point: QPointF) -> None:
        painted = _painted(self.canvas)
        if event.button() == Qt.MouseButton.LeftButton and painted is not None:
            layer, target = painted
            _append(self.canvas, layer, target, Fill(point.x(), point.y()), "Fill" + LABELS.get(target, ""))


def _painted(canvas: CanvasView) -> tuple[Layer, str] | None:
    """The selected layer and the field its brush paints (`CanvasView.painted_target`), or None."""
    layer = canvas.current_layer()
    target = canvas.painted_target(layer)
    return None if layer is None or target is None else (layer, target)


def _append(canvas: CanvasView, layer: Layer, target: str, operation: Stroke | Fill, label: str) -> None:
    commit(canvas.document, layer.id, label, **{target: getattr(layer, target) + (operation,)})
