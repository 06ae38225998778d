"""Reference photos: open, choose a preprocessor and its parameters, see what the model sees,
and turn the people in a photo into an editable pose layer."""

from __future__ import annotations

import numpy as np

from desktop.conditions.layer_images import control_image
from desktop.domain.layers import PoseLayer
from tests.conditions.tiny_networks import build_detector, build_pose
from tests.ui.helpers import add_photo, generate_and_capture_recipe


def test_choosing_canny_sets_the_kind_and_the_model_sees_edges(window, tmp_path, qtbot):
    layer = add_photo(window, tmp_path)
    combo = window.layer_panel.preprocessor_combo
    combo.setCurrentIndex(combo.findData("canny"))
    layer = window.document.layer(layer.id)
    assert layer.preprocessor == "canny" and layer.condition_kind == "canny"
    low = window.layer_panel.params_box.findChild(object, "param_low")
    low.setValue(30)
    layer = window.document.layer(layer.id)
    assert layer.params == {"low": 30}
    edges = control_image(layer, 64, 64)
    assert set(np.unique(edges)) <= {0, 255} and edges.max() == 255
    window.layer_panel.model_view_check.setChecked(True)
    assert window.canvas.show_model_view
    window.document.undo()
    assert window.document.layer(layer.id).params == {}


def test_image_layer_recipe_carries_photo_and_preprocessor(window, tmp_path, monkeypatch, qtbot):
    layer = add_photo(window, tmp_path)
    combo = window.layer_panel.preprocessor_combo
    combo.setCurrentIndex(combo.findData("canny"))
    window.document.update_layer(layer.id, controlnet=window.document.layers[1].controlnet)
    recipe = generate_and_capture_recipe(window, qtbot, monkeypatch)
    condition = next(c for c in recipe.conditions if c.kind == "canny")
    assert condition.preprocess == "canny" and condition.resize_mode == "crop_and_resize"
    assert condition.image_data == window.document.layer(layer.id).png


def test_detect_pose_makes_an_editable_pose_layer(window, tmp_path, qtbot):
    detector, pose = build_detector(tmp_path / "detector"), build_pose(tmp_path / "pose")
    layer = add_photo(window, tmp_path)
    window.document.update_layer(layer.id, preprocessor="pose", params={
        "detector": str(detector), "pose_model": str(pose), "box_threshold": 0.0, "keypoint_threshold": 0.0})
    with qtbot.waitSignal(window.controller.worker.people_found, timeout=60000):
        window.layer_commands.detect_pose()
    qtbot.waitUntil(lambda: isinstance(window.document.layers[-1], PoseLayer), timeout=5000)
    new = window.document.layers[-1]
    assert new.name == "Pose from photo" and len(new.people) >= 1
    assert window.layer_panel.current_layer_id() == new.id
    window.document.undo()
    assert not isinstance(window.document.layers[-1], PoseLayer)


def test_unreadable_image_gives_one_message_and_no_layer(window, tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_text("not an image")
    window.dialogs.next_open = str(bad)
    count = len(window.document.layers)
    window.layer_commands.add_layer("image")
    assert len(window.document.layers) == count
    assert window.dialogs.errors and "cannot read image" in window.dialogs.errors[0][1]
