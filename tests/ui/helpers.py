"""Helpers for Qt tests: mouse gestures on the canvas, adding a photo layer, and the recipe a
Generate click hands to the worker."""

from __future__ import annotations

import numpy as np
from PIL import Image
from PySide6.QtCore import QPoint, Qt

from desktop.domain.layers import ImageLayer
from desktop.domain.recipe import Recipe


def to_widget(canvas, x, y) -> QPoint:
    point = canvas.to_widget(x, y)
    return QPoint(round(point.x()), round(point.y()))


def drag(qtbot, canvas, points, button=Qt.MouseButton.LeftButton, modifier=Qt.KeyboardModifier.NoModifier):
    qtbot.mousePress(canvas, button, modifier, to_widget(canvas, *points[0]))
    for x, y in points[1:]:
        qtbot.mouseMove(canvas, to_widget(canvas, x, y))
    qtbot.mouseRelease(canvas, button, modifier, to_widget(canvas, *points[-1]))


def _photo(tmp_path):
    image = np.full((96, 128, 3), 170, np.uint8)
    image[20:70, 20:70] = (40, 60, 90)
    path = tmp_path / "photo.jpg"
    Image.fromarray(image).save(path)
    return path


def add_photo(window, tmp_path) -> ImageLayer:
    """Add an image layer the way a user does: the layer dialog, answered with a test photo."""
    window.dialogs.next_open = str(_photo(tmp_path))
    window.layer_commands.add_layer("image")
    layer = window.document.layers[-1]
    assert isinstance(layer, ImageLayer) and window.layer_panel.current_layer_id() == layer.id
    return layer


def generate_and_capture_recipe(window, qtbot, monkeypatch) -> Recipe:
    """Click-equivalent Generate, wait for the result, and return the recipe the worker ran."""
    seen: list[Recipe] = []
    original = window.controller.start
    monkeypatch.setattr(window.controller, "start", lambda source: seen.append(source()) or original(source))
    with qtbot.waitSignal(window.controller.result_ready, timeout=60000):
        window.runs.generate()
    return seen[0]
