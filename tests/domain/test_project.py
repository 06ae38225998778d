"""Opening a project bounds what it holds, like a recipe does: a stranger's file cannot ask for
more layers than a render may have."""

from __future__ import annotations

from desktop.domain.project import project_from_dict
from desktop.domain.recipe import MAX_CONDITIONS


def _scribble(index: int) -> dict:
    return {"id": f"layer{index}", "name": f"Layer {index}", "kind": "scribble", "operations": []}


def test_a_project_opens_its_first_layers_up_to_the_cap_and_says_how_many_were_left_out():
    loaded = project_from_dict({"format": "controlnet-studio-project", "version": 1, "settings": {},
                                "layers": [_scribble(i) for i in range(MAX_CONDITIONS + 184)]})
    assert [layer.id for layer in loaded.document.layers] == [f"layer{i}" for i in range(MAX_CONDITIONS)]
    assert loaded.warnings == [f"only the first {MAX_CONDITIONS} layers were opened; 184 more were left out"]


def test_a_project_at_the_cap_opens_whole():
    loaded = project_from_dict({"format": "controlnet-studio-project", "version": 1, "settings": {},
                                "layers": [_scribble(i) for i in range(MAX_CONDITIONS)]})
    assert len(loaded.document.layers) == MAX_CONDITIONS and loaded.warnings == []
