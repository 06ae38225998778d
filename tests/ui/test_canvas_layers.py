"""The canvas shows the layer being edited, and draws each stroke once: the selected scribble
stays visible under an opaque photo; weight, name or range edits repaint from the cached raster;
'Add person' puts the new skeleton beside the others."""

from __future__ import annotations

import itertools

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QToolButton

from desktop.conditions import scribble
from desktop.conditions.image_io import read_image
from desktop.conditions.layer_images import control_images_png
from desktop.domain.layers import Fill, PoseLayer, ScribbleLayer, Stroke
from desktop.domain.pose import person_box
from tests.ui.helpers import add_photo, drag, generate_and_capture_recipe, to_widget

INK_MAX = 60  # the canvas shows ink as (20, 20, 28); the test photo is grey 170 there


def _scribble(window) -> ScribbleLayer:
    return next(layer for layer in window.document.layers if isinstance(layer, ScribbleLayer))


def _seen(canvas, x, y) -> tuple[int, int, int]:
    colour = canvas.grab().toImage().pixelColor(to_widget(canvas, x, y))
    return colour.red(), colour.green(), colour.blue()


def _count_rasterised(monkeypatch) -> list:
    """Every operation any rasteriser draws (the canvas's, a thumbnail's, a recipe's), in order."""
    drawn: list = []
    original = scribble.draw_operation

    def counting(mask, op):
        drawn.append(op)
        original(mask, op)

    monkeypatch.setattr(scribble, "draw_operation", counting)
    return drawn


def test_the_selected_scribble_shows_and_takes_strokes_above_an_opaque_photo(window, qtbot, tmp_path):
    order = [layer.id for layer in window.document.layers]
    photo = add_photo(window, tmp_path)  # on top of the stack, opaque, and selected
    canvas = window.canvas
    layer = _scribble(window)
    window.document.update_layer(layer.id, operations=())
    canvas.set_brush_size(4)
    drag(qtbot, canvas, [(8, 56), (56, 56)])  # the photo is selected: nothing is drawn on it
    assert window.document.layer(photo.id) == photo and window.document.layer(layer.id).operations == ()

    window.layer_panel.select_layer(layer.id)
    assert min(_seen(canvas, 32, 56)) > 120, "before the stroke: the photo's grey"
    drag(qtbot, canvas, [(8, 56), (32, 56), (56, 56)])
    inked = window.document.layer(layer.id)
    assert len(inked.operations) == 1 and isinstance(inked.operations[0], Stroke)
    assert max(_seen(canvas, 32, 56)) < INK_MAX, "the stroke shows above the photo while its layer is selected"
    assert max(_seen(canvas, 12, 56)) < INK_MAX and min(_seen(canvas, 32, 60)) > 120

    window.layer_panel.select_layer(photo.id)
    assert min(_seen(canvas, 32, 56)) > 120, "the photo selected again: the stack's order is back"
    assert [layer.id for layer in window.document.layers] == order + [photo.id], "the document's order is untouched"


def test_drawing_one_stroke_rasterises_it_once_for_canvas_thumbnail_and_recipe(window, qtbot, monkeypatch):
    layer = _scribble(window)
    window.layer_panel.select_layer(layer.id)
    canvas = window.canvas
    canvas.grab()
    drawn = _count_rasterised(monkeypatch)
    drag(qtbot, canvas, [(8, 50), (30, 54), (56, 50)])
    canvas.grab()
    window.layer_panel.list.grab()
    inked = window.document.layer(layer.id)
    images = control_images_png(window.document.snapshot().layers, 64, 64)  # what Generate hands the worker
    assert drawn == [inked.operations[-1]], "only the new stroke is drawn, and once"
    assert read_image(images[layer.id])[54, 30, 0] == 255


def test_moving_the_weight_slider_and_other_fields_rasterises_nothing(window, qtbot, monkeypatch):
    layer = _scribble(window)
    window.layer_panel.select_layer(layer.id)
    canvas = window.canvas
    before = canvas.grab().toImage()
    drawn = _count_rasterised(monkeypatch)
    converted: list = []
    monkeypatch.setattr("desktop.ui.canvas._colour_image", lambda alpha, colour: converted.append(1) or None)
    slider = window.layer_panel.weight_slider
    for _ in range(5):
        qtbot.keyClick(slider, Qt.Key.Key_Right)  # five ticks, as a user's drag or arrow keys make them
    assert abs(window.document.layer(layer.id).weight - 1.05) < 1e-9
    window.document.update_layer(layer.id, name="Renamed", start=0.1, end=0.9, mode="prompt")
    after = canvas.grab().toImage()
    window.layer_panel.list.grab()
    assert drawn == [] and converted == [], "a weight, a name or a range changes no pixel: nothing is drawn again"
    assert after == before


def test_undo_and_redo_of_a_stroke_show_the_rasters_already_drawn(window, qtbot, monkeypatch):
    layer = _scribble(window)
    window.layer_panel.select_layer(layer.id)
    canvas = window.canvas
    qtbot.mouseMove(canvas, to_widget(canvas, 56, 56))  # the brush outline where the stroke will end
    before = canvas.grab().toImage()
    drag(qtbot, canvas, [(8, 56), (56, 56)])
    stroked = canvas.grab().toImage()
    assert stroked != before
    drawn = _count_rasterised(monkeypatch)
    window.document.undo()
    assert canvas.grab().toImage() == before and window.document.layer(layer.id).operations == layer.operations
    window.document.redo()
    assert canvas.grab().toImage() == stroked
    assert drawn == [], "both versions were drawn already: undo and redo reuse them"


def test_generate_sends_the_control_image_the_plain_rasteriser_draws(window, qtbot, monkeypatch):
    layer = _scribble(window)
    window.layer_panel.select_layer(layer.id)
    canvas = window.canvas
    canvas.set_brush_size(5)
    drag(qtbot, canvas, [(8, 56), (30, 50), (56, 58)])
    window.layer_panel.tool_buttons["eraser"].click()
    drag(qtbot, canvas, [(30, 2), (30, 62)])
    window.layer_panel.tool_buttons["fill"].click()
    qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=to_widget(canvas, 4, 40))
    operations = window.document.layer(layer.id).operations
    assert [type(op) for op in operations] == [Stroke, Stroke, Stroke, Fill]
    recipe = generate_and_capture_recipe(window, qtbot, monkeypatch)
    (condition,) = [c for c in recipe.conditions if c.kind == "scribble"]
    expected = scribble.mask_to_control(scribble.rasterize(operations, 64, 64))  # a full replay, uncached
    sent = read_image(condition.image_data)
    assert np.array_equal(sent, expected)


def test_add_person_twice_places_each_skeleton_beside_the_others_inside_the_canvas(window, qtbot):
    window.document.set_settings(width=256, height=256)
    window.layer_commands.add_layer("pose")
    layer = window.document.layers[-1]
    assert isinstance(layer, PoseLayer) and window.canvas.current_layer() is layer
    add = next(b for b in window.layer_panel.tools.findChildren(QToolButton) if b.text() == "Add person")
    add.click()
    add.click()
    people = window.document.layer(layer.id).people
    assert len(people) == 3
    for person in people:
        assert all(0 <= x < 256 and 0 <= y < 256 for x, y in person.body)
        neck = person.body[1]
        assert _seen(window.canvas, *neck) != (246, 244, 238), "each skeleton is drawn on the canvas"
    boxes = [person_box(person) for person in people]
    for a, b in itertools.combinations(boxes, 2):
        assert not (a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]), "no skeleton over another"
    window.document.undo()
    assert len(window.document.layer(layer.id).people) == 2
