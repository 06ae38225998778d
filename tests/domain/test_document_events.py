"""The document's events, Qt-free: one event per field, the layer stack one row at a time, undo
announced by the same events, the selection kept on a layer that exists, and listeners held weakly."""

from __future__ import annotations

import gc

import pytest

from desktop.domain.document import Document
from desktop.domain.layers import ScribbleLayer
from desktop.domain.observable import Signal


class Listener:
    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def heard(self, *args) -> None:
        self.calls.append(args)


def _document():
    a, b, c = (ScribbleLayer(name=name) for name in "abc")
    return Document(layers=[a, b, c]), a, b, c


def _record(doc, log):
    for name in ("layers_inserted", "layers_removed", "layers_moved", "layers_reset", "layer_changed",
                 "settings_changed"):
        getattr(doc, name).connect(lambda *args, name=name: log.append((name, *args)))
    doc.editor.selection_changed.connect(lambda layer_id: log.append(("selection_changed", layer_id)))


def test_a_listener_whose_object_is_gone_is_dropped_and_never_called():
    signal = Signal()
    listener, kept = Listener(), Listener()
    signal.connect(listener.heard)
    signal.connect(kept.heard)
    signal.emit(1)
    assert listener.calls == [(1,)] and signal.listener_count() == 2
    del listener
    gc.collect()
    signal.emit(2)  # no error, and the dead one is not called
    assert kept.calls == [(1,), (2,)] and signal.listener_count() == 1


def test_plain_functions_are_held_until_disconnected():
    signal, heard = Signal(), []
    signal.connect(lambda value: heard.append(value))
    gc.collect()
    signal.emit(3)
    assert heard == [3]
    listener = Listener()
    signal.connect(listener.heard)
    signal.connect(listener.heard)  # once only
    signal.disconnect(listener.heard)
    signal.emit(4)
    assert listener.calls == [] and heard == [3, 4]


def test_a_field_edit_fires_that_field_only():
    doc, a, _, c = _document()
    log, weights, names, selected = [], Listener(), Listener(), Listener()
    _record(doc, log)
    doc.layer_events.weight.connect(weights.heard)
    doc.layer_events.name.connect(names.heard)
    doc.selected_layer_events.weight.connect(selected.heard)
    assert doc.editor.selected_layer_id == c.id  # a new document selects its top layer
    doc.update_layer(a.id, weight=0.4)
    assert log == [("layer_changed", a.id, ("weight",))]
    assert weights.calls == [(a.id,)] and names.calls == [] and selected.calls == [], "a is not selected"
    doc.update_layer(c.id, weight=0.7)
    assert selected.calls == [(c.id,)]
    doc.set_settings(steps=9, seed=3)
    assert log[-1] == ("settings_changed", ("seed", "steps"))


def test_the_stack_changes_one_row_at_a_time_and_undo_says_the_same():
    doc, a, b, c = _document()
    log = []
    _record(doc, log)
    doc.move_layer(a.id, +1)
    assert [layer.name for layer in doc.layers] == ["b", "a", "c"]
    assert log == [("layers_moved", 1, 0, b.id)]  # the same order, told as one move
    log.clear()
    doc.undo()
    assert [layer.name for layer in doc.layers] == ["a", "b", "c"] and len(log) == 1 and log[0][0] == "layers_moved"
    log.clear()
    new = doc.add_layer(ScribbleLayer(name="d"), index=1)
    assert log == [("layers_inserted", 1, new.id), ("selection_changed", new.id)]
    log.clear()
    doc.remove_layer(new.id)  # the selected layer goes: the top one is selected
    assert log == [("layers_removed", 1, new.id), ("selection_changed", c.id)]
    log.clear()
    doc.undo()
    assert log == [("layers_inserted", 1, new.id)] and doc.editor.selected_layer_id == c.id


def test_replacing_the_document_resets_the_rows_and_keeps_a_valid_selection():
    doc, *_ = _document()
    other, x, _, _ = _document()
    log = []
    _record(doc, log)
    doc.replace_all(other)
    assert ("layers_reset",) in log and doc.editor.selected_layer_id == other.layers[-1].id
    doc.editor.select(x.id)
    log.clear()
    doc.replace_all(Document())
    assert log == [("layers_reset",), ("selection_changed", None)]


def test_the_tool_is_model_state():
    doc = Document()
    tools = Listener()
    doc.editor.tool_changed.connect(tools.heard)
    doc.editor.set_tool("eraser")
    doc.editor.set_tool("eraser")
    assert doc.editor.tool == "eraser" and tools.calls == [("eraser",)]
    with pytest.raises(ValueError):
        doc.editor.set_tool("lasso")
