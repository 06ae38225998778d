"""Drawing and pose editing with the mouse, as a user does it, checked on the layer's pixels."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, QPointF, Qt

from desktop.conditions.layer_images import control_image
from desktop.domain.layers import PoseLayer, ScribbleLayer
from desktop.domain.pose import COLORS
from tests.ui.helpers import drag, to_widget


def _select(window, kind):
    layer = next(layer for layer in window.document.layers if layer.kind == kind)
    window.layer_panel.select_layer(layer.id)
    return layer


def test_drawing_a_fast_stroke_inks_the_layer_without_gaps(window, qtbot):
    layer = _select(window, "scribble")
    window.document.update_layer(layer.id, operations=())
    canvas = window.canvas
    canvas.set_brush_size(3)
    drag(qtbot, canvas, [(8, 32), (56, 32)])  # one jump across the canvas: a fast mouse
    layer = window.document.layer(layer.id)
    assert isinstance(layer, ScribbleLayer) and len(layer.operations) == 1
    pixels = control_image(layer, 64, 64)
    assert (pixels[32, 10:55, 0] == 255).all(), "the stroke must be continuous"
    assert pixels[5, 5, 0] == 0 and pixels[60, 60, 0] == 0
    assert window.document.undo()
    assert window.document.layer(layer.id).operations == ()


def test_a_pan_started_mid_stroke_keeps_the_stroke_drawn_so_far(window, qtbot):
    layer = _select(window, "scribble")
    window.document.update_layer(layer.id, operations=())
    canvas = window.canvas
    offset = QPointF(canvas.offset)  # a copy: the view moves its own in place
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=to_widget(canvas, 10, 20))
    qtbot.mouseMove(canvas, to_widget(canvas, 40, 20))
    start = to_widget(canvas, 40, 20)
    qtbot.mousePress(canvas, Qt.MouseButton.MiddleButton, pos=start)  # the middle button pans
    qtbot.mouseMove(canvas, start + QPoint(15, 0))
    qtbot.mouseRelease(canvas, Qt.MouseButton.MiddleButton, pos=start + QPoint(15, 0))
    strokes = window.document.layer(layer.id).operations
    assert len(strokes) == 1
    assert np.allclose(strokes[0].points[0][:2], (10, 20), atol=1) and np.allclose(strokes[0].points[-1][:2], (40, 20), atol=1)
    assert canvas.offset != offset  # and the view moved
    window.document.undo()
    assert window.document.layer(layer.id).operations == ()  # the stroke is one undo step of its own


def test_eraser_removes_ink(window, qtbot):
    layer = _select(window, "scribble")
    canvas = window.canvas
    canvas.set_brush_size(6)
    drag(qtbot, canvas, [(8, 20), (56, 20)])
    window.document.editor.set_tool("eraser")
    canvas.set_brush_size(10)
    drag(qtbot, canvas, [(30, 10), (30, 30)])
    pixels = control_image(window.document.layer(layer.id), 64, 64)
    assert pixels[20, 12, 0] == 255 and pixels[20, 30, 0] == 0


def test_dragging_a_joint_moves_the_keypoint_and_the_control_image(window, qtbot):
    layer = window.document.layers[0]
    window.document.update_layer(layer.id, enabled=True)
    _select(window, "pose")
    wrist = layer.people[0].body[4]
    target = (wrist[0], wrist[1] + 12)
    drag(qtbot, window.canvas, [wrist, (wrist[0], wrist[1] + 6), target])
    moved = window.document.layer(layer.id)
    assert isinstance(moved, PoseLayer)
    x, y = moved.people[0].body[4]
    assert abs(x - target[0]) <= 1 and abs(y - target[1]) <= 1
    pixels = control_image(moved, 64, 64)
    assert tuple(pixels[int(y), int(x)]) != (0, 0, 0)
    assert tuple(control_image(layer, 64, 64)[int(y), int(x)]) == (0, 0, 0)
    window.document.undo()
    assert window.document.layer(layer.id).people[0].body[4] == wrist


def test_right_click_hides_a_joint_and_its_limbs(window, qtbot):
    layer = window.document.layers[0]
    _select(window, "pose")
    elbow = layer.people[0].body[3]
    upper_arm = (np.array(COLORS[2]) * 0.6).astype(np.uint8)  # limb 2, shoulder-elbow, drawn at 60%
    assert np.any(np.all(control_image(layer, 64, 64) == upper_arm, axis=2))
    qtbot.mouseClick(window.canvas, Qt.MouseButton.RightButton, pos=to_widget(window.canvas, *elbow))
    hidden = window.document.layer(layer.id)
    assert 3 in hidden.people[0].hidden
    pixels = control_image(hidden, 64, 64)
    assert not np.any(np.all(pixels == upper_arm, axis=2))


def test_dragging_a_person_moves_every_joint(window, qtbot):
    layer = window.document.layers[0]
    _select(window, "pose")
    hip = layer.people[0].body[8]
    start = (hip[0] + 2, hip[1] - 6)  # on the body, not on a joint
    drag(qtbot, window.canvas, [start, (start[0] + 5, start[1] + 3)])
    after = window.document.layer(layer.id).people[0]
    for before, now in zip(layer.people[0].body, after.body):
        assert abs(now[0] - before[0] - 5) < 0.5 and abs(now[1] - before[1] - 3) < 0.5


def _grab(canvas) -> np.ndarray:
    from desktop.workers.qimage_arrays import from_qimage

    return from_qimage(canvas.grab().toImage()).astype(int)


def test_the_brush_outline_follows_the_pointer_at_the_brush_size(window, qtbot):
    _select(window, "scribble")
    canvas = window.canvas
    canvas.set_brush_size(20)
    centre = to_widget(canvas, 32, 32)
    radius = 20 * canvas.zoom / 2
    before = _grab(canvas)
    qtbot.mouseMove(canvas, centre)
    assert canvas.shows_brush_outline()
    changed = np.argwhere(np.abs(_grab(canvas) - before).max(axis=2) > 30)
    assert len(changed) > 2 * np.pi * radius, "a full ring is drawn"
    distance = np.hypot(changed[:, 0] - centre.y(), changed[:, 1] - centre.x())
    assert np.abs(distance - radius).max() < 3, "only at the brush's radius around the pointer"
    window.layer_panel.tool_buttons["fill"].click()
    assert not canvas.shows_brush_outline()
    assert np.array_equal(_grab(canvas), before)


def test_tool_keys_switch_tools_but_not_while_typing_a_prompt(window, qtbot):
    _select(window, "scribble")
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key.Key_E)
    assert window.canvas.tool == "eraser" and window.layer_panel.tool_buttons["eraser"].isChecked()
    qtbot.keyClick(window.canvas, Qt.Key.Key_G)
    assert window.canvas.tool == "fill" and window.layer_panel.tool_buttons["fill"].isChecked()
    prompt = window.prompt_panel.prompt_edit
    prompt.setFocus()
    qtbot.keyClicks(prompt, "blue")
    assert window.canvas.tool == "fill" and "blue" in prompt.toPlainText()
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key.Key_B)
    assert window.canvas.tool == "brush" and window.layer_panel.tool_buttons["brush"].isChecked()
