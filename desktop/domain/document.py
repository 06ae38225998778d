"""The document an artist edits: generation settings, condition layers, and results history.

Qt-free and observable: every change goes through a method here and is undoable. A widget
subscribes to the one field it shows (napari's `layer.events.<field>`):

- `settings_changed(field_names)` and `settings_events.<field>()`;
- `layer_changed(layer_id, field_names)` and `layer_events.<field>(layer_id)`;
- `layers_inserted(index, layer_id)`, `layers_removed(index, layer_id)`,
  `layers_moved(old_index, new_index, layer_id)` (indices bottom-up, as in `layers`), and
  `layers_reset()` when the whole document is replaced (open, new, recovery);
- `selected_layer_events.<field>(layer_id)`: a field of the selected layer changed, or another
  layer was selected (then every field fires);
- `editor` (EditorState): the selected layer, the current tool and whether the brush paints the
  layer's region, with their own events.

Undo and redo announce exactly what differs, by the same events. The coarse
`changed(reason, layer_id)` still follows every change, last, for listeners that redo their
whole view (title, autosave, live mode). Workers get snapshots (`snapshot`, `build_recipe`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

from .undo_stack import UndoStack
from .layers import MAX_LAYERS, ImageLayer, Layer, PoseLayer, ScribbleLayer, new_layer_id
from .observable import EventGroup, Signal
from .errors import InvalidRecipe
from .recipe import Condition, LoraEntry, Recipe
from .settings_schema import (
    GUIDANCE_SCALE, HEIGHT, NEGATIVE_PROMPT, PROMPT, RANDOM_SEED, SCHEDULER, SEED, STEPS, WIDTH,
)

LoraPick = tuple[str, float]  # a LoRA file and its weight, as the LoRA list holds them


@dataclass
class GenerationSettings:
    prompt: str = PROMPT.initial
    negative_prompt: str = NEGATIVE_PROMPT.initial
    seed: int = SEED.initial
    random_seed: bool = RANDOM_SEED.initial
    steps: int = STEPS.initial
    guidance_scale: float = GUIDANCE_SCALE.initial
    width: int = WIDTH.initial
    height: int = HEIGHT.initial
    scheduler: str = SCHEDULER.initial
    base_model: str | None = None
    loras: tuple[LoraPick, ...] = ()  # a tuple, so snapshots share it and compare by value


@dataclass
class HistoryItem:
    """A finished result: its full recipe (control images embedded) and the image as PNG, which holds
    no copy of the recipe (`result_png.with_recipe` puts it back for an export)."""

    recipe: dict[str, Any]
    image_png: bytes = b""


@dataclass(frozen=True)
class DocState:
    settings: GenerationSettings
    layers: tuple[Layer, ...]


TOOLS = ("brush", "eraser", "fill")
LAYER_FIELDS = tuple(dict.fromkeys(
    f.name for cls in (Layer, ScribbleLayer, PoseLayer, ImageLayer) for f in fields(cls)))


class EditorState:
    """What the user is working on, beside the document: the selected layer, the current tool, and
    whether the tools paint the layer's region instead of its content (`painting_region`, which
    widgets hand to `painted_operations`).

    Not saved and not undoable. Widgets change it through `select`, `set_tool` and
    `set_painting_region` and follow it through `selection_changed(layer_id)`, `tool_changed(tool)`
    and `painting_region_changed(on)`; the document keeps the selection on a layer that exists
    (see `Document._valid_selection`)."""

    def __init__(self) -> None:
        self.selected_layer_id: str | None = None
        self.tool = "brush"
        self.painting_region = False
        self.selection_changed = Signal()
        self.tool_changed = Signal()
        self.painting_region_changed = Signal()

    def select(self, layer_id: str | None) -> None:
        if layer_id != self.selected_layer_id:
            self.selected_layer_id = layer_id
            self.selection_changed.emit(layer_id)

    def set_tool(self, tool: str) -> None:
        if tool not in TOOLS:
            raise ValueError(f"unknown tool {tool!r}")
        if tool != self.tool:
            self.tool = tool
            self.tool_changed.emit(tool)

    def set_painting_region(self, on: bool) -> None:
        if on != self.painting_region:
            self.painting_region = on
            self.painting_region_changed.emit(on)


@dataclass
class Document:
    settings: GenerationSettings = field(default_factory=GenerationSettings)
    layers: list[Layer] = field(default_factory=list)
    history: list[HistoryItem] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.changed = Signal()
        self.settings_changed = Signal()
        self.settings_events = EventGroup()
        self.layer_changed = Signal()
        self.layer_events = EventGroup()
        self.layers_inserted = Signal()
        self.layers_removed = Signal()
        self.layers_moved = Signal()
        self.layers_reset = Signal()
        self.selected_layer_events = EventGroup()
        self.editor = EditorState()
        self.editor.selection_changed.connect(self._on_selection_changed)
        self.editor.selected_layer_id = self._valid_selection(None)
        self.undo_stack = UndoStack()
        self.dirty = False

    # -- state -------------------------------------------------------------------------
    def snapshot(self) -> DocState:
        return DocState(replace(self.settings), tuple(layer.copy() for layer in self.layers))

    def _restore(self, state: DocState) -> None:
        old_settings, old_layers = self.settings, list(self.layers)
        self.settings = replace(state.settings)
        self.layers = [layer.copy() for layer in state.layers]
        self.dirty = True
        self._announce(old_settings, old_layers)
        self.changed.emit("restore", None)

    def _edit(self, label: str, apply, reason: str, layer_id: str | None = None, merge_key: str | None = None,
              select: str | None = None) -> None:
        before = self.snapshot()
        old_settings, old_layers = self.settings, list(self.layers)
        apply()
        after = self.snapshot()
        if before == after:
            return
        self.undo_stack.push(label, before, after, merge_key)
        self.dirty = True
        self._announce(old_settings, old_layers, select)
        self.changed.emit(reason, layer_id)

    # -- events ------------------------------------------------------------------------------
    def _announce_settings(self, old_settings: GenerationSettings) -> None:
        changed = _changed_fields(old_settings, self.settings)
        if changed:
            self.settings_changed.emit(changed)
            for name in changed:
                self.settings_events.emit(name)

    def _announce(self, old_settings: GenerationSettings, old_layers: list[Layer], select: str | None = None) -> None:
        """Tell listeners what differs from `old_*`: settings fields, then the layer stack (one
        insert, removal or move at a time), then layer fields, then the selection."""
        self._announce_settings(old_settings)
        previous = self.editor.selected_layer_id
        selected = self._valid_selection(select or previous)
        self.editor.selected_layer_id = selected  # announced below, once the stack is told
        self._announce_stack([layer.id for layer in old_layers], [layer.id for layer in self.layers])
        old = {layer.id: layer for layer in old_layers}
        for layer in self.layers:
            before = old.get(layer.id)
            if before is None or before is layer:
                continue
            names = _changed_fields(before, layer)
            if not names:
                continue
            self.layer_changed.emit(layer.id, names)
            for name in names:
                self.layer_events.emit(name, layer.id)
            if layer.id == selected == previous:
                for name in names:
                    self.selected_layer_events.emit(name, layer.id)
        if selected != previous:
            self.editor.selected_layer_id = previous
            self.editor.select(selected)

    def _announce_stack(self, old_ids: list[str], new_ids: list[str]) -> None:
        if old_ids == new_ids:
            return
        kept = set(new_ids)
        current = list(old_ids)
        for index in reversed(range(len(current))):
            if current[index] not in kept:
                self.layers_removed.emit(index, current.pop(index))
        remaining = set(current)
        order = [layer_id for layer_id in new_ids if layer_id in remaining]
        for index, layer_id in enumerate(order):
            if current[index] != layer_id:
                source = current.index(layer_id)
                current.insert(index, current.pop(source))
                self.layers_moved.emit(source, index, layer_id)
        for index, layer_id in enumerate(new_ids):
            if layer_id not in remaining:
                current.insert(index, layer_id)
                self.layers_inserted.emit(index, layer_id)

    def _valid_selection(self, layer_id: str | None) -> str | None:
        """`layer_id` if it is a layer here, else the top layer (None when there is none)."""
        if layer_id is not None and any(layer.id == layer_id for layer in self.layers):
            return layer_id
        return self.layers[-1].id if self.layers else None

    def _on_selection_changed(self, layer_id: str | None) -> None:
        for name in LAYER_FIELDS:
            self.selected_layer_events.emit(name, layer_id)

    def selected_layer(self) -> Layer | None:
        layer_id = self.editor.selected_layer_id
        if layer_id is None:
            return None
        try:
            return self.layer(layer_id)
        except KeyError:
            return None

    def undo(self) -> bool:
        state = self.undo_stack.undo()
        if state is not None:
            self._restore(state)
        return state is not None

    def redo(self) -> bool:
        state = self.undo_stack.redo()
        if state is not None:
            self._restore(state)
        return state is not None

    def end_gesture(self) -> None:
        """A drag or slider move finished: its edits stop merging with the next ones."""
        self.undo_stack.close_merge()

    # -- settings --------------------------------------------------------------------------
    def set_settings(self, merge_key: str | None = None, **changes: Any) -> None:
        label = "Change " + ", ".join(k.replace("_", " ") for k in changes)

        def apply() -> None:
            self.settings = replace(self.settings, **changes)

        self._edit(label, apply, "settings", None, merge_key or "settings:" + ",".join(sorted(changes)))

    # -- layers ------------------------------------------------------------------------------
    def layer(self, layer_id: str) -> Layer:
        for layer in self.layers:
            if layer.id == layer_id:
                return layer
        raise KeyError(layer_id)

    def index_of(self, layer_id: str) -> int:
        return next(i for i, layer in enumerate(self.layers) if layer.id == layer_id)

    @property
    def is_full(self) -> bool:
        """No room for another layer (MAX_LAYERS): the app says so instead of adding one."""
        return len(self.layers) >= MAX_LAYERS

    def add_layer(self, layer: Layer, index: int | None = None) -> Layer:
        if self.is_full:
            raise InvalidRecipe("layers", f"a project holds at most {MAX_LAYERS} layers; remove one first")

        def apply() -> None:
            self.layers.insert(len(self.layers) if index is None else index, layer)

        self._edit(f"Add {layer.name}", apply, "layers", layer.id, select=layer.id)
        return layer

    def remove_layer(self, layer_id: str) -> None:
        name = self.layer(layer_id).name
        self._edit(f"Remove {name}", lambda: self.layers.pop(self.index_of(layer_id)), "layers", layer_id)

    def duplicate_layer(self, layer_id: str) -> Layer:
        source = self.layer(layer_id)
        copy = source.copy(id=new_layer_id(), name=f"{source.name} copy")
        return self.add_layer(copy, self.index_of(layer_id) + 1)

    def move_layer(self, layer_id: str, delta: int) -> None:
        index = self.index_of(layer_id)
        target = max(0, min(len(self.layers) - 1, index + delta))

        def apply() -> None:
            self.layers.insert(target, self.layers.pop(index))

        self._edit("Reorder layers", apply, "layers", layer_id)

    def update_layer(self, layer_id: str, label: str = "", merge_key: str | None = None, **changes: Any) -> None:
        index = self.index_of(layer_id)

        def apply() -> None:
            self.layers[index] = self.layers[index].copy(**changes)

        key = merge_key if merge_key is not None else f"{layer_id}:" + ",".join(sorted(changes))
        self._edit(label or "Change " + ", ".join(changes), apply, "layer", layer_id, key)

    # -- history -----------------------------------------------------------------------------
    def add_result(self, item: HistoryItem) -> None:
        self.history.append(item)
        self.dirty = True
        self.changed.emit("history", None)

    def replace_all(self, other: "Document") -> None:
        """Take another document's content (open, new, restore): one change, history cleared.
        The selection stays on the same layer id if the new content has it, else the top layer."""
        old_settings = self.settings
        self.settings, self.layers, self.history = other.settings, other.layers, other.history
        self.undo_stack.clear()
        self.dirty = False
        self._announce_settings(old_settings)
        previous = self.editor.selected_layer_id
        selected = self._valid_selection(previous)
        self.editor.selected_layer_id = selected
        self.layers_reset.emit()
        if selected != previous:
            self.editor.selected_layer_id = previous
            self.editor.select(selected)
        else:
            self._on_selection_changed(selected)  # the same id may now name different content
        self.changed.emit("restore", None)


def _changed_fields(before: Any, after: Any) -> tuple[str, ...]:
    """The dataclass fields whose values differ (all of `after`'s when the types differ)."""
    if type(before) is not type(after):
        return tuple(f.name for f in fields(after))
    names = []
    for f in fields(after):
        a, b = getattr(before, f.name), getattr(after, f.name)
        if a is not b and a != b:
            names.append(f.name)
    return tuple(names)


def condition_kind(layer: Layer) -> str:
    if isinstance(layer, ImageLayer):
        return layer.condition_kind
    return "pose" if isinstance(layer, PoseLayer) else "scribble"


def is_layer_empty(layer: Layer) -> bool:
    if isinstance(layer, ScribbleLayer):
        return not layer.operations
    if isinstance(layer, PoseLayer):
        return not any(p is not None for person in layer.people for p in person.visible_body())
    if isinstance(layer, ImageLayer):
        return not layer.png
    return True


def build_recipe(state: DocState, control_images: dict[str, bytes], seed: int | None = None,
                 masks: dict[str, bytes] | None = None, regions: dict[str, bytes] | None = None) -> Recipe:
    """The recipe a render needs; `control_images` maps layer id -> control PNG bytes, `masks`
    layer id -> painted inpaint mask PNG bytes, `regions` layer id -> painted region PNG bytes (a layer
    without one steers the whole image).

    An enabled layer with nothing on it is refused by name: it would silently steer nothing.
    """
    s = state.settings
    masks, regions = masks or {}, regions or {}
    conditions = []
    for layer in state.layers:
        if not layer.enabled:
            continue
        if layer.id not in control_images:
            raise InvalidRecipe(f"layer {layer.name}", "is empty: draw on it, or hide it with its eye")
        if isinstance(layer, ImageLayer) and layer.paints_mask and layer.id not in masks:
            raise InvalidRecipe(f"layer {layer.name}", "has no inpaint mask: paint the area to repaint with the brush")
        photo = isinstance(layer, ImageLayer) and layer.preprocessor != "none"
        conditions.append(Condition(
            kind=condition_kind(layer), image=f"{layer.name}.png", image_data=control_images[layer.id],
            controlnet=layer.controlnet, weight=layer.weight, start=layer.start, end=layer.end,
            mode=layer.mode, enabled=layer.enabled, extra={"layer": layer.name},
            preprocess=layer.preprocessor if photo else None, params=dict(layer.params) if photo else {},
            resize_mode=layer.resize_mode if isinstance(layer, ImageLayer) else "just_resize",
            mask_data=masks.get(layer.id), region_mask_data=regions.get(layer.id),
            keep_unmasked=isinstance(layer, ImageLayer) and layer.paints_mask and layer.keep_unmasked,
        ))
    return Recipe(
        prompt=s.prompt, negative_prompt=s.negative_prompt, seed=s.seed if seed is None else seed,
        steps=s.steps, guidance_scale=s.guidance_scale, width=s.width, height=s.height,
        scheduler=s.scheduler, base_model=s.base_model, conditions=conditions,
        loras=[LoraEntry(path, weight) for path, weight in s.loras],
        self_contained=True,  # a project may be a stranger's: its images are embedded, it reads no local file
    ).validate()
