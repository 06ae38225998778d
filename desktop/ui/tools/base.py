"""What every canvas tool is: an object that owns one pointer gesture, from press to release.

The canvas picks the tool for the selected layer and `document.editor.tool` when a button goes
down, and hands that gesture's moves and release to the same object: choosing another tool
mid-stroke changes the next gesture, not this one.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QMouseEvent, QPainter

from desktop.domain.document import Document

if TYPE_CHECKING:
    from desktop.ui.canvas import CanvasView

_gestures = itertools.count(1)


class CanvasTool:
    """A no-op gesture: each tool overrides what it does. Points given to it are canvas pixels."""

    cursor: Qt.CursorShape | None = None  # the pointer over the canvas while the tool is ready; None: the arrow
    shows_brush_outline = False  # the canvas rings the pointer at the brush size

    def __init__(self, canvas: CanvasView) -> None:
        self.canvas = canvas

    def press(self, event: QMouseEvent, point: QPointF) -> None:
        """A button went down: the gesture starts (or, for a click tool, is done)."""

    def move(self, event: QMouseEvent, point: QPointF) -> None:
        """The pointer moved while this tool owns the gesture."""

    def release(self, event: QMouseEvent) -> None:
        """A button went up: the gesture finishes and its edit, if any, is committed."""

    def cancel(self) -> None:
        """The gesture stops unfinished (its layer was deselected, or the document replaced under it)."""

    def finish(self) -> None:
        """The gesture ends before its release (a pan started mid-stroke): what it did so far stays."""
        self.cancel()

    def paint(self, painter: QPainter) -> None:
        """What the gesture shows while it lasts, in canvas coordinates, above the layers."""


def gesture_key(layer_id: str) -> str:
    """A merge key no other gesture shares: one gesture's edits merge into one undo step, never
    into the step before it."""
    return f"{layer_id}:gesture{next(_gestures)}"


def commit(document: Document, layer_id: str, label: str, **changes: Any) -> None:
    """A gesture that ends in a single edit (a stroke, a fill, a joint hidden): its own undo step."""
    document.update_layer(layer_id, label, merge_key=gesture_key(layer_id), **changes)
    document.end_gesture()
