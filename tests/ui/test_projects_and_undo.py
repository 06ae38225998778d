"""Undo/redo of every kind of edit, project save and reopen, and corrupt project files answered
with a message (recovery after a crash: test_recovery.py)."""

from __future__ import annotations

import base64
import json
import struct
import zlib

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from desktop.conditions.image_io import encode_png
from desktop.domain.project import project_to_dict, save_project
from desktop.ui.example import example_document


def _scribble(window):
    return next(layer for layer in window.document.layers if layer.kind == "scribble")


def test_undo_redo_each_kind_of_edit(window, qtbot):
    doc = window.document
    edits = []

    def check(action):
        before = doc.snapshot()
        action()
        after = doc.snapshot()
        assert after != before
        QTest.keySequence(window, "Ctrl+Z")
        assert doc.snapshot() == before
        QTest.keySequence(window, "Ctrl+Shift+Z")
        assert doc.snapshot() == after
        edits.append(action)

    layer = _scribble(window)
    window.layer_panel.select_layer(layer.id)
    check(lambda: window.layer_panel.weight_slider.setValue(40))  # slider
    check(lambda: window.prompt_panel.guidance_slider.setValue(20))
    check(lambda: window.prompt_panel.prompt_edit.setPlainText("a blue square"))  # typing
    check(lambda: window.layer_commands.add_layer("scribble"))  # add
    check(lambda: window.document.duplicate_layer(_scribble(window).id))
    check(lambda: window.document.move_layer(_scribble(window).id, -1))  # reorder
    check(lambda: window.document.update_layer(_scribble(window).id, "Rename", name="Sketch"))
    check(lambda: window.document.remove_layer(window.document.layers[-1].id))
    check(lambda: window.layer_panel.mode_combo.setCurrentIndex(3))
    pose = next(layer for layer in window.document.layers if layer.kind == "pose")
    window.layer_panel.select_layer(pose.id)
    raised = pose.people[0].with_joint(4, (5.0, 5.0))
    check(lambda: window.document.update_layer(pose.id, "Move joint", people=(raised,)))  # joint drag
    check(lambda: window.layer_commands.pose_action("mirror"))
    check(lambda: window.layer_commands.pose_action("add"))
    check(lambda: window.layer_panel.list.item(0).setCheckState(Qt.CheckState.Unchecked))  # eye
    assert len(edits) == 13


def test_a_slider_drag_is_one_undo_step(window):
    layer = _scribble(window)
    window.layer_panel.select_layer(layer.id)
    slider = window.layer_panel.weight_slider
    for value in (90, 80, 70, 60):
        slider.setValue(value)
    window.document.undo()
    assert window.document.layer(layer.id).weight == 1.0


def test_save_reopen_gives_the_same_project(window, qtbot, tmp_path):
    with qtbot.waitSignal(window.controller.result_ready, timeout=60000):
        window.runs.generate()
    path = tmp_path / "scene.cnstudio"
    window.dialogs.next_save = str(path)
    assert window.files.save_as()
    assert "scene.cnstudio" in window.windowTitle() and "•" not in window.windowTitle()
    saved = project_to_dict(window.document)
    window.files.new_document(ask=False)
    assert window.files.open_project(path)
    assert project_to_dict(window.document) == saved
    assert window.preview_pane.history.count() == 1
    window.prompt_panel.prompt_edit.setPlainText("changed")
    assert "•" in window.windowTitle()


def test_corrupt_and_foreign_project_files_give_a_message(window, tmp_path):
    before = window.document.snapshot()
    for name, content in (("bad.cnstudio", "{not json"), ("other.cnstudio", '{"format": "x"}'),
                          ("empty.cnstudio", "")):
        (tmp_path / name).write_text(content)
        assert not window.files.open_project(tmp_path / name, ask=False)
    assert len(window.dialogs.errors) == 3
    assert window.document.snapshot() == before


def test_damaged_layer_and_newer_version_open_what_they_can(window, tmp_path):
    data = project_to_dict(window.document)
    data["version"] = 99
    data["layers"].append({"kind": "image", "name": "Photo", "png": ""})
    path = tmp_path / "partial.cnstudio"
    path.write_text(json.dumps(data))
    assert window.files.open_project(path, ask=False)
    assert [layer.name for layer in window.document.layers] == ["Pose", "Scribble"]
    message = window.dialogs.infos[-1][1]
    assert "newer version" in message and "Photo" in message


def test_closing_with_unsaved_changes_asks(window, app_files):
    window.prompt_panel.prompt_edit.setPlainText("edited")
    window.dialogs.save_answer = "cancel"
    window.close()
    assert window.isVisible()
    window.dialogs.save_answer = "discard"
    window.close()
    assert not window.isVisible()
    assert not list((app_files / "recovery").glob("*.cnstudio"))


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims `width` x `height` pixels and holds none."""
    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


def _image_layer(name: str, png: bytes) -> dict:
    return {"kind": "image", "name": name, "png": base64.b64encode(png).decode("ascii")}


def test_damaged_over_cap_and_non_raster_image_layers_are_left_out_by_name(window, qtbot, tmp_path):
    data = project_to_dict(window.document)
    data["layers"] += [
        _image_layer("Photo", encode_png(np.full((32, 32, 3), 128, np.uint8))),
        _image_layer("Damaged", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64),
        _image_layer("Huge", _png_header_only(30000, 30000)),
        _image_layer("PostScript", b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 8 8\nshowpage\n"),
    ]
    path = tmp_path / "from-a-stranger.cnstudio"
    path.write_text(json.dumps(data))
    assert window.files.open_project(path, ask=False)
    assert [layer.name for layer in window.document.layers] == ["Pose", "Scribble", "Photo"]
    assert len(window.dialogs.infos) == 1
    message = window.dialogs.infos[0][1]
    assert all(f"layer {name} could not be read" in message for name in ("Damaged", "Huge", "PostScript"))
    window.canvas.repaint()  # the rest of the project paints


def test_the_models_a_project_asks_for_are_named_when_it_opens(window, tmp_path, monkeypatch):
    started = []
    monkeypatch.setattr(window.controller, "start", lambda *args: started.append(args))
    data = project_to_dict(window.document)
    data["settings"]["base_model"] = "someone/their-model"
    data["layers"][1]["controlnet"] = "/home/someone/nets/edge.safetensors"
    path = tmp_path / "theirs.cnstudio"
    path.write_text(json.dumps(data))
    assert window.files.open_project(path, ask=False)
    assert window.statusBar().currentMessage() == (
        "This project uses base model someone/their-model and ControlNet edge.safetensors.")
    assert started == []  # named before anything loads or downloads

    demo = tmp_path / "demo.cnstudio"
    save_project(example_document(), demo)
    window.statusBar().clearMessage()
    assert window.files.open_project(demo, ask=False)
    assert "uses" not in window.statusBar().currentMessage()


def test_the_preprocessor_models_of_image_layers_are_named_before_they_load(window, tmp_path, monkeypatch):
    shown_when_requested = []
    monkeypatch.setattr(window.controller, "request_preprocess",
                        lambda *args: shown_when_requested.append(window.statusBar().currentMessage()))
    data = project_to_dict(window.document)
    photo = encode_png(np.full((32, 32, 3), 128, np.uint8))
    data["layers"] += [
        {**_image_layer("Depth", photo), "preprocessor": "depth", "params": {"model": "someone/depth-net"}},
        {**_image_layer("Pose", photo), "preprocessor": "pose",
         "params": {"detector": "/home/someone/detector", "pose_model": "", "box_threshold": 0.3}},
    ]
    path = tmp_path / "theirs.cnstudio"
    path.write_text(json.dumps(data))
    assert window.files.open_project(path, ask=False)
    expected = ("This project uses base model base, ControlNet controlnet and preprocessor models "
                "someone/depth-net, detector.")
    assert window.statusBar().currentMessage() == expected
    assert shown_when_requested and set(shown_when_requested) == {expected}


def test_a_model_name_no_path_can_be_made_of_is_named_without_a_crash():
    """Path.resolve raised ValueError on a NUL, expanduser RuntimeError on an unknown user: the app aborted."""
    from desktop.domain.document import Document, GenerationSettings
    from desktop.ui.opening import models_sentence

    for name, shown in (("evil\x00x", "evil\x00x"), ("~no-such-user-here/model", "model")):
        assert models_sentence(Document(GenerationSettings(base_model=name))) == f"This project uses base model {shown}."
