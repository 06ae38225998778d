"""The layer panel as a user works it: each widget is bound to one field and is never rebuilt by
an edit, so typing keeps focus, renaming keeps the list, and an edit touches only its own row."""

from __future__ import annotations

import gc

from PySide6.QtCore import QCoreApplication, QEvent, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLineEdit, QSpinBox

from desktop.domain.document import Document
from desktop.domain.layers import ScribbleLayer
from desktop.ui.layer_list import LayerList
from desktop.ui.layer_panel import LayerPanel
from tests.ui.helpers import add_photo


def _layer(window, kind):
    return next(layer for layer in window.document.layers if layer.kind == kind)


def _row_rect(panel, layer_id):
    return panel.list.visualItemRect(panel.list.item(panel.layer_list.row_of(layer_id)))


def _click_row(qtbot, panel, layer_id):
    qtbot.mouseClick(panel.list.viewport(), Qt.MouseButton.LeftButton, pos=_row_rect(panel, layer_id).center())


def _items(panel) -> dict:
    return {panel.list.item(row).data(Qt.ItemDataRole.UserRole): panel.list.item(row) for row in range(panel.list.count())}


def _focus(qtbot, window, widget):
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=2000)
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(widget.hasFocus, timeout=2000)


def test_typing_a_number_in_a_parameter_box_keeps_focus_and_is_one_undo_step(window, qtbot, tmp_path):
    panel = window.layer_panel
    layer = add_photo(window, tmp_path)
    panel.preprocessor_combo.setCurrentIndex(panel.preprocessor_combo.findData("canny"))
    spin = panel.params_box.findChild(QSpinBox, "param_low")
    assert spin.value() == 100
    _focus(qtbot, window, spin)
    qtbot.keyClick(spin, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(spin, "1")
    assert window.document.layer(layer.id).params == {"low": 1}, "each keystroke reaches the model"
    assert spin.hasFocus() and panel.params_box.findChild(QSpinBox, "param_low") is spin
    qtbot.keyClicks(spin, "2")
    assert spin.hasFocus(), "the box being typed in is never replaced"
    assert panel.params_box.findChild(QSpinBox, "param_low") is spin
    assert spin.value() == 12 and spin.text() == "12"
    assert window.document.layer(layer.id).params == {"low": 12}
    window.undo_action.trigger()  # Edit > Undo: the typed number was one step
    assert window.document.layer(layer.id).params == {}
    assert spin.value() == 100 and panel.params_box.findChild(QSpinBox, "param_low") is spin


def test_the_parameter_form_is_rebuilt_only_when_the_preprocessor_changes(window, tmp_path):
    panel = window.layer_panel
    add_photo(window, tmp_path)
    combo = panel.preprocessor_combo
    combo.setCurrentIndex(combo.findData("canny"))
    low = panel.params_box.findChild(QSpinBox, "param_low")
    low.setValue(30)
    panel.params_box.findChild(QSpinBox, "param_high").setValue(150)
    assert panel.params_box.findChild(QSpinBox, "param_low") is low
    combo.setCurrentIndex(combo.findData("scribble"))
    assert panel.params_box.findChild(QSpinBox, "param_low") is None
    assert panel.params_box.findChild(QSpinBox, "param_threshold") is not None


def test_renaming_a_layer_keeps_every_row_and_the_selection(window, qtbot):
    panel, doc = window.layer_panel, window.document
    scribble = _layer(window, "scribble")
    _click_row(qtbot, panel, scribble.id)
    assert doc.editor.selected_layer_id == scribble.id and window.canvas.current_layer().id == scribble.id
    before = _items(panel)
    qtbot.mouseDClick(panel.list.viewport(), Qt.MouseButton.LeftButton, pos=_row_rect(panel, scribble.id).center())
    editor = panel.list.viewport().findChild(QLineEdit)
    qtbot.waitUntil(lambda: editor is not None and editor.isVisible(), timeout=2000)
    qtbot.keyClick(editor, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(editor, "Sketch")
    qtbot.keyClick(editor, Qt.Key.Key_Return)  # the list commits the editor's text a moment later
    qtbot.waitUntil(lambda: doc.layer(scribble.id).name == "Sketch", timeout=2000)
    assert panel.list.count() == len(doc.layers) == 2
    assert [panel.list.item(r).text() for r in range(2)] == [layer.name for layer in reversed(doc.layers)]
    assert _items(panel) == before, "the same rows, not a rebuilt list"
    assert panel.list.currentItem() is before[scribble.id] and doc.editor.selected_layer_id == scribble.id
    assert panel.properties.title() == "Layer: Sketch"
    window.undo_action.trigger()
    assert before[scribble.id].text() == "Scribble" and panel.list.currentItem() is before[scribble.id]


def test_an_edit_of_one_layer_touches_only_its_row_and_its_field(window, qtbot, monkeypatch):
    panel, doc = window.layer_panel, window.document
    scribble, pose = _layer(window, "scribble"), _layer(window, "pose")
    _click_row(qtbot, panel, pose.id)
    made, layer_list = [], panel.layer_list
    monkeypatch.setattr(layer_list, "_make_item",
                        lambda layer: made.append(layer) or LayerList._make_item(layer_list, layer))
    rows, icons = _items(panel), {i: item.icon().cacheKey() for i, item in _items(panel).items()}
    widgets = (panel.weight_slider, panel.start_spin, panel.mode_combo, panel.opacity_slider)
    moved = []
    for widget in widgets:
        (widget.valueChanged if hasattr(widget, "valueChanged") else widget.currentIndexChanged).connect(
            lambda *_, w=widget: moved.append(w))

    doc.update_layer(scribble.id, "Weight", weight=0.3)  # another layer than the selected one
    assert moved == [] and panel.weight_slider.value() == 100 and panel.weight_label.text() == "1.00"
    assert _items(panel) == rows and made == []
    assert {i: item.icon().cacheKey() for i, item in _items(panel).items()} == icons, "a weight changes no thumbnail"

    panel.weight_slider.setFocus()
    for _ in range(5):
        QTest.keyClick(panel.weight_slider, Qt.Key.Key_Left)  # the selected layer, by the user
    assert doc.layer(pose.id).weight == 0.95 and panel.weight_label.text() == "0.95"
    assert moved == [panel.weight_slider] * 5, "no other property widget was written"
    assert _items(panel) == rows and made == [] and panel.list.currentItem() is rows[pose.id]

    window.undo_action.trigger()
    assert panel.weight_slider.value() == 100 and doc.layer(scribble.id).weight == 0.3


def test_selection_and_tool_live_in_the_model(window, qtbot):
    panel, doc, canvas = window.layer_panel, window.document, window.canvas
    scribble, pose = _layer(window, "scribble"), _layer(window, "pose")
    doc.editor.select(pose.id)
    assert panel.list.currentItem().data(Qt.ItemDataRole.UserRole) == pose.id
    assert canvas.current_layer().id == pose.id and panel.properties.title() == "Layer: Pose"
    assert panel.tools.currentIndex() == 2
    _click_row(qtbot, panel, scribble.id)
    assert doc.editor.selected_layer_id == scribble.id and panel.tools.currentIndex() == 1
    doc.editor.set_tool("fill")
    assert panel.tool_buttons["fill"].isChecked() and canvas.tool == "fill"
    panel.tool_buttons["eraser"].click()
    assert doc.editor.tool == "eraser"
    doc.remove_layer(scribble.id)  # the selected layer goes: the top one is selected
    assert doc.editor.selected_layer_id == pose.id and panel.list.count() == 1
    assert panel.list.currentItem().data(Qt.ItemDataRole.UserRole) == pose.id
    window.undo_action.trigger()
    assert panel.list.count() == 2 and panel.layer_list.row_of(scribble.id) == 0


def test_a_closed_panel_is_collected_and_never_called(qtbot):
    doc = Document(layers=[ScribbleLayer(name="a")])
    panel = LayerPanel(doc)
    assert doc.layer_changed.listener_count() == 1
    panel.close()
    panel.deleteLater()
    del panel
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()
    assert doc.layer_changed.listener_count() == 0
    assert doc.selected_layer_events.weight.listener_count() == 0
    doc.update_layer(doc.layers[0].id, weight=0.5)  # nothing left to call: no error
    doc.add_layer(ScribbleLayer(name="b"))
    assert QApplication.instance() is not None


def test_typing_an_end_near_start_keeps_it_and_crossing_moves_the_other_bound(window, qtbot):
    """End typed as 0.35 beside Start 0.3 used to jump back after its first digit (0 < start: refused)."""
    from PySide6.QtCore import Qt

    panel = window.layer_panel
    layer = window.document.layers[-1]
    panel.select_layer(layer.id)
    window.document.update_layer(layer.id, start=0.3, end=1.0)
    def type_into(spin, text):
        spin.setFocus()
        spin.selectAll()
        qtbot.keyClicks(spin, text)
        qtbot.keyClick(spin, Qt.Key.Key_Return)

    type_into(panel.end_spin, "0.35")
    edited = window.document.layer(layer.id)
    assert (edited.start, edited.end) == (0.3, 0.35) and panel.end_spin.value() == 0.35
    type_into(panel.start_spin, "0.6")
    edited = window.document.layer(layer.id)
    assert (edited.start, edited.end) == (0.6, 0.61)  # start typed past end: end moved up to keep them apart
    assert (panel.start_spin.value(), panel.end_spin.value()) == (0.6, 0.61)


def test_a_keystroke_in_the_prompt_writes_no_other_settings_widget(window, qtbot, monkeypatch):
    """One field, one event: the prompt panel used to write every widget (size, seed, steps, sampler, model)
    again on each keystroke in the prompt."""
    from desktop.ui import bindings

    panel = window.prompt_panel
    names = {id(getattr(panel, n)): n for n in ("steps_spin", "seed_spin", "random_check", "scheduler_combo",
                                                 "guidance_slider", "negative_edit")}
    writes: list[str] = []
    blocker = bindings.QSignalBlocker
    monkeypatch.setattr(bindings, "QSignalBlocker", lambda widget: writes.append(names.get(id(widget), "prompt"))
                        or blocker(widget))  # a binding blocks its widget's signals while it writes
    for name in ("width_spin", "height_spin"):
        monkeypatch.setattr(getattr(panel, name), "setValue", lambda value, n=name: writes.append(n))
    monkeypatch.setattr(panel.model_picker, "show_reference", lambda reference: writes.append("model"))
    before = window.document.settings.prompt
    panel.prompt_edit.setFocus()
    qtbot.keyClicks(panel.prompt_edit, "dusk, ")  # the cursor is at the start: each key lands after the last
    assert window.document.settings.prompt == "dusk, " + before and writes == []
    window.document.set_settings(steps=9)  # an edit elsewhere reaches its own widget only
    assert writes == ["steps_spin"] and panel.steps_spin.value() == 9
