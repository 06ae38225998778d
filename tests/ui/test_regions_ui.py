"""A region per layer, as a user makes it: turn on "Paint region", paint on the canvas, see the rest
shaded, undo, clear, save and reopen, and generate with the region in the recipe."""

from __future__ import annotations

from desktop.conditions.image_io import read_image
from desktop.domain.layers import Layer
from tests.ui.helpers import drag, generate_and_capture_recipe, to_widget

INSIDE, OUTSIDE = (32, 50), (32, 8)  # canvas points in and out of the band `_paint_band` paints, clear of the ink


def _select(window, kind: str) -> Layer:
    layer = next(layer for layer in window.document.layers if layer.kind == kind)
    window.layer_panel.select_layer(layer.id)
    return layer


def _paint_band(window, qtbot) -> None:
    """Turn on region painting by its button and brush a band across the canvas at y = 50."""
    if not window.document.editor.painting_region:
        window.layer_panel.region.paint_button.click()
    window.canvas.set_brush_size(10)
    drag(qtbot, window.canvas, [(4, 50), (60, 50)])


def _brightness(window, point) -> int:
    colour = window.canvas.grab().toImage().pixelColor(to_widget(window.canvas, *point))
    return colour.red() + colour.green() + colour.blue()


def test_the_brush_paints_the_scribble_region_not_its_ink_and_undo_takes_it_back(window, qtbot):
    layer = _select(window, "scribble")
    ink = layer.operations
    bright_inside, bright_outside = _brightness(window, INSIDE), _brightness(window, OUTSIDE)
    _paint_band(window, qtbot)
    painted = window.document.layer(layer.id)
    assert len(painted.region_operations) == 1 and painted.operations == ink
    assert abs(painted.region_operations[0].points[0][1] - 50) < 1
    assert window.undo_action.text() == "&Undo Brush stroke (region)"

    assert _brightness(window, OUTSIDE) < bright_outside - 200, "outside the region is shaded"
    assert abs(_brightness(window, INSIDE) - bright_inside) < 10, "inside the region is not"
    window.layer_panel.region.paint_button.click()  # painting off: the layer's region still shows
    assert not window.document.editor.painting_region
    assert _brightness(window, OUTSIDE) < bright_outside - 200
    drag(qtbot, window.canvas, [(10, 58), (50, 58)])  # and the brush inks the scribble again
    assert len(window.document.layer(layer.id).operations) == len(ink) + 1

    window.document.undo()
    window.document.undo()
    assert window.document.layer(layer.id).region_operations == ()
    assert window.document.layer(layer.id).operations == ink
    assert abs(_brightness(window, OUTSIDE) - bright_outside) < 10, "no region: nothing is shaded"


def test_any_kind_of_layer_takes_a_region_and_clear_region_is_one_undo_step(window, qtbot):
    pose = _select(window, "pose")
    region = window.layer_panel.region
    assert window.layer_panel.tools.currentIndex() == 2 and not region.clear_button.isEnabled()
    region.paint_button.click()
    assert window.layer_panel.tools.currentIndex() == 1, "the paint tools, on a pose layer"
    assert region.hint.isVisibleTo(window.layer_panel)
    _paint_band(window, qtbot)
    window.document.editor.set_tool("eraser")
    drag(qtbot, window.canvas, [(30, 40), (30, 60)])
    painted = window.document.layer(pose.id)
    assert len(painted.region_operations) == 2 and painted.region_operations[1].erase
    assert painted.people == pose.people
    assert region.clear_button.isEnabled()

    region.clear_button.click()
    assert window.document.layer(pose.id).region_operations == () and not region.clear_button.isEnabled()
    assert window.undo_action.text() == "&Undo Clear region"
    window.document.undo()
    assert window.document.layer(pose.id).region_operations == painted.region_operations

    window.layer_panel.tools.clear_requested.emit()  # the palette's Clear, while painting regions: the region
    assert window.document.layer(pose.id).region_operations == ()


def test_the_run_sends_each_layers_region_and_the_project_keeps_it(window, qtbot, monkeypatch, tmp_path):
    scribble = _select(window, "scribble")
    _paint_band(window, qtbot)
    region = window.document.layer(scribble.id).region_operations
    plain = window.document.duplicate_layer(scribble.id)
    window.document.update_layer(plain.id, name="Plain", region_operations=())

    recipe = generate_and_capture_recipe(window, qtbot, monkeypatch)
    by_layer = {condition.extra["layer"]: condition for condition in recipe.conditions}
    assert by_layer["Plain"].region_mask_data is None
    mask = read_image(by_layer[scribble.name].region_mask_data)[..., 0]
    assert mask[50, 32] == 255 and mask[8, 32] == 0

    path = tmp_path / "regions.cnstudio"
    window.dialogs.next_save = str(path)
    assert window.files.save_as()
    window.document.update_layer(scribble.id, region_operations=())
    assert window.files.open_project(str(path), ask=False)
    assert window.document.layer(scribble.id).region_operations == region
    assert window.document.layer(plain.id).region_operations == ()
