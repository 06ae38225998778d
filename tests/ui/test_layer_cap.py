"""A project holds at most MAX_LAYERS layers: the app says so instead of failing, and a project it
saved always opens whole."""

from __future__ import annotations

from desktop.domain.layers import MAX_LAYERS, ScribbleLayer


def test_a_full_project_says_so_and_adds_nothing(window):
    doc = window.document
    while not doc.is_full:
        doc.add_layer(ScribbleLayer(name=f"s{len(doc.layers)}"))
    window.layer_commands.add_layer("scribble")
    assert len(doc.layers) == MAX_LAYERS
    assert window.statusBar().currentMessage() == f"A project holds at most {MAX_LAYERS} layers: remove one first"
    panel = window.layer_panel
    assert not panel.duplicate_button.isEnabled() and not panel.add_button.isEnabled()
    doc.remove_layer(doc.layers[0].id)
    assert panel.duplicate_button.isEnabled() and panel.add_button.isEnabled()
