"""Undo/redo of every kind of edit, project save and reopen, recovery after a crash, and
corrupt project files answered with a message."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from desktop.domain.project import project_to_dict

ROOT = Path(__file__).resolve().parents[2]


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
    check(lambda: window.add_layer("scribble"))  # add
    check(lambda: window.document.duplicate_layer(_scribble(window).id))
    check(lambda: window.document.move_layer(_scribble(window).id, -1))  # reorder
    check(lambda: window.document.update_layer(_scribble(window).id, "Rename", name="Sketch"))
    check(lambda: window.document.remove_layer(window.document.layers[-1].id))
    check(lambda: window.layer_panel.mode_combo.setCurrentIndex(3))
    pose = next(layer for layer in window.document.layers if layer.kind == "pose")
    window.layer_panel.select_layer(pose.id)
    raised = pose.people[0].with_joint(4, (5.0, 5.0))
    check(lambda: window.document.update_layer(pose.id, "Move joint", people=(raised,)))  # joint drag
    check(lambda: window.pose_action("mirror"))
    check(lambda: window.pose_action("add"))
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
        window.generate()
    path = tmp_path / "scene.cnstudio"
    window.dialogs.next_save = str(path)
    assert window.save_as()
    assert "scene.cnstudio" in window.windowTitle() and "•" not in window.windowTitle()
    saved = project_to_dict(window.document)
    window.new_document(ask=False)
    assert window.open_project(path)
    assert project_to_dict(window.document) == saved
    assert window.preview_pane.history.count() == 1
    window.prompt_panel.prompt_edit.setPlainText("changed")
    assert "•" in window.windowTitle()


def test_corrupt_and_foreign_project_files_give_a_message(window, tmp_path):
    before = window.document.snapshot()
    for name, content in (("bad.cnstudio", "{not json"), ("other.cnstudio", '{"format": "x"}'),
                          ("empty.cnstudio", "")):
        (tmp_path / name).write_text(content)
        assert not window.open_project(tmp_path / name, ask=False)
    assert len(window.dialogs.errors) == 3
    assert window.document.snapshot() == before


def test_damaged_layer_and_newer_version_open_what_they_can(window, tmp_path):
    data = project_to_dict(window.document)
    data["version"] = 99
    data["layers"].append({"kind": "image", "name": "Photo", "png": ""})
    path = tmp_path / "partial.cnstudio"
    path.write_text(json.dumps(data))
    assert window.open_project(path, ask=False)
    assert [layer.name for layer in window.document.layers] == ["Pose", "Scribble"]
    message = window.dialogs.infos[-1][1]
    assert "newer version" in message and "Photo" in message


def test_recovery_after_a_killed_process_is_offered_at_the_next_start(qtbot, tmp_path, app_files, tiny_models):
    script = (
        "import os, sys; sys.path.insert(0, %r)\n"
        "from desktop.ui import paths\n"
        "from pathlib import Path\n"
        "paths.app_data_dir = lambda: Path(%r)\n"
        "from desktop.ui.launch import create_app\n"
        "from desktop.ui.main_window import MainWindow\n"
        "app = create_app()\n"
        "w = MainWindow(device='cpu')\n"
        "w.document.set_settings(prompt='unsaved masterpiece')\n"
        "w.autosave()\n"
        "os._exit(9)  # killed: no clean shutdown\n"
    ) % (str(ROOT), str(app_files))
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                            env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"})
    assert result.returncode == 9, result.stderr
    assert (app_files / "recovery.cnstudio").exists()

    from desktop.ui.launch import offer_recovery
    from desktop.ui.main_window import MainWindow

    from .conftest import FakeDialogs

    window = MainWindow(device="cpu")
    window.dialogs = FakeDialogs()
    qtbot.addWidget(window)
    assert offer_recovery(window)
    assert window.document.settings.prompt == "unsaved masterpiece"
    assert window.document.dirty
    window.close_without_asking()


def test_declining_recovery_removes_it(qtbot, app_files):
    from desktop.ui.launch import offer_recovery
    from desktop.ui.main_window import MainWindow

    from .conftest import FakeDialogs

    (app_files / "recovery.cnstudio").write_text("{}")
    window = MainWindow(device="cpu")
    window.dialogs = FakeDialogs()
    window.dialogs.restore_answer = False
    qtbot.addWidget(window)
    assert not offer_recovery(window)
    assert not (app_files / "recovery.cnstudio").exists()
    window.close_without_asking()


def test_closing_with_unsaved_changes_asks(window, app_files):
    window.prompt_panel.prompt_edit.setPlainText("edited")
    window.dialogs.save_answer = "cancel"
    window.close()
    assert window.isVisible()
    window.dialogs.save_answer = "discard"
    window.close()
    assert not window.isVisible()
    assert not (app_files / "recovery.cnstudio").exists()
