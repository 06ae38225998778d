"""Opening a project bounds what it holds, like a recipe does: a stranger's file cannot ask for
more layers than a render may have."""

from __future__ import annotations

import pytest

from desktop.domain.project import project_from_dict
from desktop.domain.layers import MAX_LAYERS


def _scribble(index: int) -> dict:
    return {"id": f"layer{index}", "name": f"Layer {index}", "kind": "scribble", "operations": []}


def test_a_project_opens_its_first_layers_up_to_the_cap_and_says_how_many_were_left_out():
    loaded = project_from_dict({"format": "controlnet-studio-project", "version": 1, "settings": {},
                                "layers": [_scribble(i) for i in range(MAX_LAYERS + 184)]})
    assert [layer.id for layer in loaded.document.layers] == [f"layer{i}" for i in range(MAX_LAYERS)]
    assert loaded.warnings == [f"only the first {MAX_LAYERS} layers were opened; 184 more were left out"]


def test_a_project_at_the_cap_opens_whole():
    loaded = project_from_dict({"format": "controlnet-studio-project", "version": 1, "settings": {},
                                "layers": [_scribble(i) for i in range(MAX_LAYERS)]})
    assert len(loaded.document.layers) == MAX_LAYERS and loaded.warnings == []


def test_a_full_document_refuses_another_layer_in_one_sentence():
    """The cap a project is opened with is the cap the app edits with, so no saved project loses layers."""
    from desktop.domain.document import Document
    from desktop.domain.errors import InvalidRecipe
    from desktop.domain.layers import ScribbleLayer

    doc = Document()
    while not doc.is_full:
        doc.add_layer(ScribbleLayer(name=f"s{len(doc.layers)}"))
    assert len(doc.layers) == MAX_LAYERS
    with pytest.raises(InvalidRecipe, match=f"at most {MAX_LAYERS} layers"):
        doc.add_layer(ScribbleLayer(name="one more"))
    with pytest.raises(InvalidRecipe):
        doc.duplicate_layer(doc.layers[0].id)
    assert len(doc.layers) == MAX_LAYERS


def _project(*layers: dict) -> dict:
    return {"format": "controlnet-studio-project", "version": 1, "settings": {}, "layers": list(layers)}


def test_a_layers_region_saves_and_opens_again_and_an_older_project_has_none():
    from desktop.domain.document import Document
    from desktop.domain.layers import Fill, PoseLayer, ScribbleLayer, Stroke
    from desktop.domain.project import project_to_dict

    region = (Stroke(((4.0, 50.0, 1.0), (60.0, 50.0, 0.5)), 10.0), Fill(30.0, 50.0, erase=True))
    doc = Document(layers=[ScribbleLayer(name="Ink", region_operations=region), PoseLayer(name="Pose")])
    loaded = project_from_dict(project_to_dict(doc))
    assert [layer.region_operations for layer in loaded.document.layers] == [region, ()] and loaded.warnings == []

    older = _scribble(0)  # written before regions: no key
    assert "region_operations" not in older
    loaded = project_from_dict(_project(older))
    assert loaded.document.layers[0].region_operations == () and loaded.warnings == []


def test_a_damaged_region_is_dropped_and_said_but_its_layer_opens():
    for damaged in ([{"type": "stroke", "points": [["x", 2]]}], "not a list", [7]):
        loaded = project_from_dict(_project({**_scribble(0), "region_operations": damaged}))
        assert [layer.id for layer in loaded.document.layers] == ["layer0"]
        assert loaded.document.layers[0].region_operations == ()
        assert loaded.warnings == ["layer Layer 0: its region was damaged and was cleared"]
