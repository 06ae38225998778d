"""Editing a pose layer's people with the pointer: whichever scribble tool is chosen, a pose
layer takes joint drags, person drags and right-clicks."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QMouseEvent

from desktop.domain.layers import PoseLayer
from desktop.domain.pose import Person, Point
from desktop.domain.pose_hits import hit_joint, hit_person

from .base import CanvasTool, commit, gesture_key

if TYPE_CHECKING:
    from desktop.ui.canvas import CanvasView

JOINT_HIT_PX = 9  # screen pixels from a joint that still grab it, at any zoom
PERSON_MARGIN_PX = 12  # screen pixels around a person's joints that still grab the person


@dataclass(frozen=True)
class _JointDrag:
    person: int
    joint: int


@dataclass(frozen=True)
class _PersonDrag:
    person: int
    start: Point  # where the press was, in canvas pixels
    original: Person  # the person then: every move transforms it afresh, so errors never add up
    centre: Point


class PoseTool(CanvasTool):
    """Drag a joint to move it; drag elsewhere on a person to move them (Ctrl rotates, Shift
    scales, both about the person's centre); right-click a joint to hide or show it. Each
    gesture is one undo step. Hidden joints are drawn hollow while editing, so they are hit too."""

    def __init__(self, canvas: CanvasView) -> None:
        super().__init__(canvas)
        self._drag: _JointDrag | _PersonDrag | None = None
        self._layer_id = ""
        self._key = ""  # the merge key the drag's edits share

    def press(self, event: QMouseEvent, point: QPointF) -> None:
        layer = self.canvas.current_layer()
        if not isinstance(layer, PoseLayer):
            return
        at = (point.x(), point.y())
        joint = hit_joint(layer.people, at, JOINT_HIT_PX / self.canvas.zoom, include_hidden=True)
        if event.button() == Qt.MouseButton.RightButton:
            if joint is not None:
                _toggle_hidden(self.canvas, layer, *joint)
            return
        if event.button() != Qt.MouseButton.LeftButton:
            return
        self._layer_id, self._key = layer.id, gesture_key(layer.id)
        if joint is not None:
            self._drag = _JointDrag(*joint)
            return
        index = hit_person(layer.people, at, PERSON_MARGIN_PX / self.canvas.zoom)
        if index is not None:
            person = layer.people[index]
            self._drag = _PersonDrag(index, at, person, person.centre())

    def move(self, event: QMouseEvent, point: QPointF) -> None:
        drag = self._drag
        if drag is None:
            return
        layer = self.canvas.document.layer(self._layer_id)
        people = list(layer.people)
        at = (point.x(), point.y())
        if isinstance(drag, _JointDrag):
            people[drag.person], label = people[drag.person].with_joint(drag.joint, at), "Move joint"
        else:
            people[drag.person], label = _dragged(drag, at, event.modifiers())
        self.canvas.document.update_layer(layer.id, label, merge_key=self._key, people=tuple(people))

    def release(self, event: QMouseEvent) -> None:
        self.cancel()

    def cancel(self) -> None:
        """The drag ends where it got to: its moves so far stay, as one undo step."""
        if self._drag is not None:
            self._drag = None
            self.canvas.document.end_gesture()


def _toggle_hidden(canvas: CanvasView, layer: PoseLayer, person_index: int, joint: int) -> None:
    person = layer.people[person_index]
    hidden = joint in person.hidden
    people = list(layer.people)
    people[person_index] = person.with_hidden(joint, not hidden)
    commit(canvas.document, layer.id, "Show joint" if hidden else "Hide joint", people=tuple(people))


def _dragged(drag: _PersonDrag, at: Point, modifiers: Qt.KeyboardModifier) -> tuple[Person, str]:
    """The dragged person and the edit's label: rotated with Ctrl, scaled with Shift, else moved."""
    (sx, sy), (x, y), (cx, cy) = drag.start, at, drag.centre
    if modifiers & Qt.KeyboardModifier.ControlModifier:
        angle = math.degrees(math.atan2(y - cy, x - cx) - math.atan2(sy - cy, sx - cx))
        return drag.original.rotated(angle, (cx, cy)), "Rotate person"
    if modifiers & Qt.KeyboardModifier.ShiftModifier:
        before = max(1.0, math.hypot(sx - cx, sy - cy))
        return drag.original.scaled(max(0.05, math.hypot(x - cx, y - cy) / before), (cx, cy)), "Scale person"
    return drag.original.moved(x - sx, y - sy), "Move person"
