"""Inpainting in the app: choose the inpaint preprocessor on a photo, paint the area to repaint
with the brush, see it tinted on the canvas and black in the model's view, and generate."""

from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QToolButton

from desktop.conditions.image_io import read_image
from desktop.conditions.layer_images import control_image
from desktop.domain.layers import ImageLayer
from tests.ui.helpers import add_photo, drag, generate_and_capture_recipe, to_widget


def _inpaint_layer(window, tmp_path) -> ImageLayer:
    layer = add_photo(window, tmp_path)
    combo = window.layer_panel.preprocessor_combo
    combo.setCurrentIndex(combo.findData("inpaint"))
    layer = window.document.layer(layer.id)
    assert layer.preprocessor == "inpaint" and layer.condition_kind == "inpaint"
    return layer


def _clear_button(window) -> QToolButton:
    return next(b for b in window.layer_panel.tools.findChildren(QToolButton) if b.text() == "Clear")


def test_the_brush_paints_the_mask_the_user_sees_and_the_model_is_fed(window, tmp_path, qtbot):
    layer = _inpaint_layer(window, tmp_path)
    panel, canvas = window.layer_panel, window.canvas
    assert panel.tools.currentIndex() == 1 and panel.mask_hint.isVisibleTo(panel)
    assert panel.keep_unmasked_check.isVisibleTo(panel) and panel.keep_unmasked_check.isChecked()
    before = canvas.grab().toImage().pixelColor(to_widget(canvas, 32, 40))
    canvas.set_brush_size(8)
    drag(qtbot, canvas, [(6, 40), (58, 40)])
    layer = window.document.layer(layer.id)
    assert len(layer.mask_operations) == 1
    after = canvas.grab().toImage().pixelColor(to_widget(canvas, 32, 40))
    assert after.red() - after.blue() > before.red() - before.blue() + 30, "the painted area shows the mask tint"
    untouched = canvas.grab().toImage().pixelColor(to_widget(canvas, 32, 8))
    assert abs(untouched.red() - untouched.blue()) < 20

    fed = control_image(layer, 64, 64)
    assert fed.dtype == np.float32 and (fed[40, 10:54] == -1.0).all() and (fed[8, :] >= 0).all()
    panel.model_view_check.setChecked(True)
    seen = canvas.grab().toImage().pixelColor(to_widget(canvas, 32, 40))
    assert max(seen.red(), seen.green(), seen.blue()) < 30, "the model's view shows the masked area black"
    panel.model_view_check.setChecked(False)

    panel.tool_buttons["eraser"].click()
    drag(qtbot, canvas, [(32, 30), (32, 50)])
    assert control_image(window.document.layer(layer.id), 64, 64)[40, 32, 0] >= 0.0
    _clear_button(window).click()
    assert window.document.layer(layer.id).mask_operations == ()
    window.document.undo()
    assert len(window.document.layer(layer.id).mask_operations) == 2


def test_generating_without_a_painted_mask_is_refused_by_name(window, tmp_path, qtbot):
    layer = _inpaint_layer(window, tmp_path)
    with qtbot.waitSignal(window.controller.error, timeout=60000):
        window.runs.generate()
    message = window.preview_pane.error_bar.message_label.text()
    assert message.startswith(f"Layer '{layer.name}' has no inpaint mask") and window.dialogs.errors == []


def test_generate_sends_the_painted_mask_and_the_project_keeps_it(window, tmp_path, qtbot, monkeypatch):
    layer = _inpaint_layer(window, tmp_path)
    window.document.update_layer(layer.id, controlnet=window.document.layers[1].controlnet)
    canvas = window.canvas
    canvas.set_brush_size(10)
    drag(qtbot, canvas, [(10, 20), (50, 20)])
    recipe = generate_and_capture_recipe(window, qtbot, monkeypatch)
    condition = next(c for c in recipe.conditions if c.kind == "inpaint")
    mask = read_image(condition.mask_data)[..., 0]
    assert mask[20, 30] == 255 and mask[50, 30] == 0
    assert condition.preprocess == "inpaint" and condition.image_data == window.document.layer(layer.id).png
    assert condition.keep_unmasked
    window.layer_panel.keep_unmasked_check.click()
    assert window.document.layer(layer.id).keep_unmasked is False

    painted = window.document.layer(layer.id).mask_operations
    path = tmp_path / "inpaint.cnstudio"
    window.dialogs.next_save = str(path)
    assert window.files.save_as()
    window.document.update_layer(layer.id, mask_operations=())
    assert window.files.open_project(str(path), ask=False)
    reopened = window.document.layer(layer.id)
    assert reopened.mask_operations == painted and reopened.preprocessor == "inpaint"
    assert reopened.keep_unmasked is False and not window.layer_panel.keep_unmasked_check.isChecked()


def test_the_keep_option_shows_only_for_inpaint_layers(window, tmp_path):
    panel = window.layer_panel
    layer = add_photo(window, tmp_path)
    assert not panel.keep_unmasked_check.isVisibleTo(panel)
    panel.preprocessor_combo.setCurrentIndex(panel.preprocessor_combo.findData("inpaint"))
    assert panel.keep_unmasked_check.isVisibleTo(panel)
    scribble = next(l for l in window.document.layers if l.kind == "scribble")
    panel.select_layer(scribble.id)
    assert not panel.keep_unmasked_check.isVisibleTo(panel)
    assert window.document.layer(layer.id).keep_unmasked
