"""Errors where they happen, and a preview pane that says what it shows: a failed run is told in the bar on
the preview pane with the action that fixes it (never a modal dialog), a cancelled run's preview is marked,
a reopened project shows its last result, and at the smallest window the image stays inside its pane."""

from __future__ import annotations

import json
import shutil

import pytest
from PySide6.QtCore import QRect, Qt

from desktop.domain.errors import OutOfMemory
from desktop.domain.model_card import CARD_FILE


def _bar(window):
    return window.preview_pane.error_bar


def _click(qtbot, button) -> None:
    assert button is not None and button.isVisible()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def _fail_render_with(monkeypatch, error) -> list:
    """The engine's render raises `error` (it runs on the worker thread, as a real out-of-memory would)."""
    import desktop.engine.render as render_module

    calls: list = []

    def failing(*args, **kwargs):
        calls.append(args)
        raise error

    monkeypatch.setattr(render_module, "render", failing)
    return calls


def test_out_of_memory_offers_a_smaller_size_that_one_undo_takes_back(window, qtbot, monkeypatch):
    window.document.set_settings(width=128, height=96)
    window.document.end_gesture()
    _fail_render_with(monkeypatch, OutOfMemory("out of memory while sampling: lower the image size"))
    with qtbot.waitSignal(window.controller.error, timeout=60000):
        qtbot.mouseClick(window.preview_pane.generate_button, Qt.MouseButton.LeftButton)
    bar = _bar(window)
    assert bar.isVisible() and bar.message_label.text().startswith("Out of memory while sampling")
    assert window.dialogs.errors == []  # no modal dialog
    assert [b.text() for b in bar.action_buttons()] == ["Use 88 × 64"]
    _click(qtbot, bar.button("Use 88 × 64"))
    assert (window.document.settings.width, window.document.settings.height) == (88, 64)
    assert not bar.isVisible()
    window.undo_action.trigger()  # Ctrl+Z, once
    assert (window.document.settings.width, window.document.settings.height) == (128, 96)


def _card_model(tiny_models, tmp_path):
    """The tiny base model with a card whose only ControlNet serves scribbles (as the demo's serve their kinds)."""
    folder = tmp_path / "carded"
    shutil.copytree(tiny_models.base, folder)
    shutil.copytree(tiny_models.controlnet, folder / "controlnet_scribble")
    card = {"version": 1, "defaults": {}, "guidance_range": [1, 10], "controlnets": {"controlnet_scribble": ["scribble"]},
            "other_controlnets": False}  # its own ControlNets only: no official one is fetched for another kind
    (folder / CARD_FILE).write_text(json.dumps(card))
    return folder


def test_a_pose_layer_without_a_pose_controlnet_is_named_and_can_be_turned_off(window, qtbot, tiny_models, tmp_path):
    window.speed.set_compile(False)
    doc = window.document
    pose = next(layer for layer in doc.layers if layer.kind == "pose")
    doc.set_settings(base_model=str(_card_model(tiny_models, tmp_path)))
    doc.update_layer(pose.id, enabled=True)
    doc.move_layer(pose.id, +1)  # above the scribble: the pose is the recipe's conditions[1]
    doc.end_gesture()
    with qtbot.waitSignal(window.controller.error, timeout=60000):
        window.runs.generate()
    bar = _bar(window)
    message = bar.message_label.text()
    assert message.startswith("Layer 'Pose': this model has no pose ControlNet (it has scribble)")
    assert "conditions[" not in message and window.dialogs.errors == []
    assert [b.text() for b in bar.action_buttons()] == ["Turn layer off", "Pick ControlNet…"]

    window.layer_panel.select_layer(next(layer.id for layer in doc.layers if layer.kind == "scribble"))
    _click(qtbot, bar.button("Pick ControlNet…"))
    assert window.layer_panel.current_layer_id() == pose.id
    assert window.layer_panel.controlnet_combo.isVisible() and bar.isVisible()

    _click(qtbot, bar.button("Turn layer off"))
    assert doc.layer(pose.id).enabled is False and not bar.isVisible()
    window.undo_action.trigger()
    assert doc.layer(pose.id).enabled is True
    window.redo_action.trigger()
    with qtbot.waitSignal(window.controller.result_ready, timeout=60000):
        window.runs.generate()  # only the scribble runs, on the card's ControlNet
    assert not bar.isVisible()


def test_a_missing_base_model_offers_browse_to_the_model_picker(window, qtbot, tiny_models):
    window.speed.set_compile(False)
    window.document.set_settings(base_model="/nowhere/some-model")
    with qtbot.waitSignal(window.controller.error, timeout=60000):
        window.runs.generate()
    bar = _bar(window)
    assert "/nowhere/some-model" in bar.message_label.text() and window.dialogs.errors == []
    window.dialogs.next_open = str(tiny_models.base)  # the folder the user picks
    _click(qtbot, bar.button("Browse…"))
    assert window.document.settings.base_model == str(tiny_models.base) and not bar.isVisible()


def test_the_close_button_hides_the_bar_and_the_next_failure_shows_it_again(window, qtbot, monkeypatch):
    _fail_render_with(monkeypatch, OutOfMemory("out of memory while sampling: lower the image size"))
    for _ in range(2):
        with qtbot.waitSignal(window.controller.error, timeout=60000):
            window.runs.generate()
        assert _bar(window).isVisible() and _bar(window).action_buttons() == []  # 64 x 64: nothing smaller
        _click(qtbot, _bar(window).close_button)
        assert not _bar(window).isVisible()


def test_cancel_leaves_the_preview_marked_and_the_next_run_clears_it(window, qtbot):
    pane = window.preview_pane
    window.document.set_settings(steps=120)
    window.controller.preview_ready.connect(lambda step, total, image: (step, total) == (3, 120) and window.runs.cancel())
    with qtbot.waitSignal(window.controller.run_cancelled, timeout=60000):
        window.runs.generate()
    assert not pane.view.image().isNull() and pane.view.is_dimmed()
    assert pane.caption.text() == "Cancelled at step 3/120"
    window.document.set_settings(steps=3)
    with qtbot.waitSignal(window.controller.result_ready, timeout=60000):
        window.runs.generate()
    assert not pane.view.is_dimmed() and pane.caption.text().startswith("seed ")


def test_a_reopened_project_shows_its_last_result(window, qtbot, tmp_path):
    for seed in (1, 2):
        window.document.set_settings(seed=seed)
        with qtbot.waitSignal(window.controller.result_ready, timeout=60000):
            window.runs.generate()
    last = window.preview_pane.view.image().copy()
    path = tmp_path / "with-results.cnstudio"
    window.dialogs.next_save = str(path)
    assert window.files.save_as()
    window.files.new_document(ask=False)
    assert window.preview_pane.view.image().isNull()
    assert window.files.open_project(path, ask=False)
    shown = window.preview_pane.view.image()
    assert shown.size() == last.size() and shown.convertToFormat(last.format()) == last
    assert window.preview_pane.caption.text() == "Result 2: a red circle"
    assert window.preview_pane.history.currentRow() == 1


def _inside(outer: QRect, inner: QRect) -> bool:
    return outer.contains(inner.topLeft()) and outer.contains(inner.bottomRight())


def _rect_in(window, widget) -> QRect:
    return QRect(widget.mapTo(window, widget.rect().topLeft()), widget.size())


@pytest.mark.parametrize("error_shown", [False, True])
def test_at_the_smallest_window_the_image_stays_in_its_pane_and_the_canvas_keeps_room(window, qtbot, monkeypatch,
                                                                                    error_shown):
    with qtbot.waitSignal(window.controller.result_ready, timeout=60000):
        window.runs.generate()
    if error_shown:
        window.document.set_settings(width=512, height=512)
        _fail_render_with(monkeypatch, OutOfMemory("out of memory while sampling: lower the image size, use fewer "
                                                   "conditions, or close other programs using the GPU"))
        with qtbot.waitSignal(window.controller.error, timeout=60000):
            window.runs.generate()
    window.resize(1000, 600)
    qtbot.waitUntil(lambda: window.width() == 1000 and window.height() == 600)
    qtbot.wait(50)
    pane = window.preview_pane
    view = pane.view
    image = QRect(view.mapTo(window, view.image_rect().topLeft()), view.image_rect().size())
    assert not image.isEmpty() and _inside(_rect_in(window, pane), image) and _inside(_rect_in(window, view), image)
    for below in (pane.caption, pane.progress, pane.generate_button, pane.history_label, pane.history):
        assert below.isVisible() and not image.intersects(_rect_in(window, below)), below
    parts = [pane.error_bar, pane.view, pane.caption, pane.progress, pane.generate_button, pane.history_label,
             pane.history, window.settings_scroll]
    shown = [_rect_in(window, part) for part in parts if part.isVisible()]
    for i, a in enumerate(shown):  # nothing on the right is drawn over anything else
        assert all(not a.intersects(b) for b in shown[i + 1:]), (parts[i], a)
    assert _rect_in(window, pane).bottom() < _rect_in(window, window.settings_scroll).top()
    assert window.settings_scroll.height() >= 96 and _inside(window.centralWidget().geometry(), _rect_in(window, pane))
    if error_shown:
        assert _bar(window).isVisible() and _bar(window).button("Use 360 × 360").isVisible()
    canvas = window.canvas
    assert min(canvas.width(), canvas.height()) >= 260, canvas.size()
    splitter = window.centralWidget()
    assert splitter.sizes()[0] == window.layer_panel.minimumSizeHint().width()  # the side panes gave way first
