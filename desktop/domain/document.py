"""The document an artist edits: generation settings, condition layers, and results history.

Qt-free and observable: every change goes through a method here, is undoable, and emits
`changed(reason, layer_id)`. Widgets subscribe; workers get snapshots (`to_recipe`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from .history import UndoStack
from .layers import MAX_LAYERS, ImageLayer, Layer, PoseLayer, ScribbleLayer, new_layer_id
from .observable import Signal
from .errors import InvalidRecipe
from .recipe import Condition, LoraEntry, Recipe

LoraPick = tuple[str, float]  # a LoRA file and its weight, as the LoRA list holds them


@dataclass
class GenerationSettings:
    prompt: str = "a cosy cottage in a meadow, watercolour"
    negative_prompt: str = ""
    seed: int = 42
    random_seed: bool = False
    steps: int = 20
    guidance_scale: float = 7.5
    width: int = 512
    height: int = 512
    scheduler: str = "unipc"
    base_model: str | None = None
    loras: tuple[LoraPick, ...] = ()  # a tuple, so snapshots share it and compare by value


@dataclass
class HistoryItem:
    """A finished result: its full recipe (control images embedded) and the image as PNG."""

    recipe: dict[str, Any]
    image_png: bytes = b""


@dataclass(frozen=True)
class DocState:
    settings: GenerationSettings
    layers: tuple[Layer, ...]


@dataclass
class Document:
    settings: GenerationSettings = field(default_factory=GenerationSettings)
    layers: list[Layer] = field(default_factory=list)
    history: list[HistoryItem] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.changed = Signal()
        self.undo_stack = UndoStack()
        self.dirty = False

    # -- state -------------------------------------------------------------------------
    def snapshot(self) -> DocState:
        return DocState(replace(self.settings), tuple(layer.copy() for layer in self.layers))

    def _restore(self, state: DocState) -> None:
        self.settings = replace(state.settings)
        self.layers = [layer.copy() for layer in state.layers]
        self.dirty = True
        self.changed.emit("restore", None)

    def _edit(self, label: str, apply, reason: str, layer_id: str | None = None, merge_key: str | None = None) -> None:
        before = self.snapshot()
        apply()
        after = self.snapshot()
        if before == after:
            return
        self.undo_stack.push(label, before, after, merge_key)
        self.dirty = True
        self.changed.emit(reason, layer_id)

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

        self._edit(f"Add {layer.name}", apply, "layers", layer.id)
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

    # -- recipe --------------------------------------------------------------------------------
    def to_recipe(self, control_images: dict[str, bytes], seed: int | None = None,
                  masks: dict[str, bytes] | None = None) -> Recipe:
        return build_recipe(self.snapshot(), control_images, seed, masks)

    def replace_all(self, other: "Document") -> None:
        """Take another document's content (open, new, restore): one change, history cleared."""
        self.settings, self.layers, self.history = other.settings, other.layers, other.history
        self.undo_stack.clear()
        self.dirty = False
        self.changed.emit("restore", None)


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
                 masks: dict[str, bytes] | None = None) -> Recipe:
    """The recipe a render needs; `control_images` maps layer id -> control PNG bytes, `masks`
    layer id -> painted inpaint mask PNG bytes.

    An enabled layer with nothing on it is refused by name: it would silently steer nothing.
    """
    s = state.settings
    masks = masks or {}
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
            mask_data=masks.get(layer.id),
            keep_unmasked=isinstance(layer, ImageLayer) and layer.paints_mask and layer.keep_unmasked,
        ))
    return Recipe(
        prompt=s.prompt, negative_prompt=s.negative_prompt, seed=s.seed if seed is None else seed,
        steps=s.steps, guidance_scale=s.guidance_scale, width=s.width, height=s.height,
        scheduler=s.scheduler, base_model=s.base_model, conditions=conditions,
        loras=[LoraEntry(path, weight) for path, weight in s.loras],
        self_contained=True,  # a project may be a stranger's: its images are embedded, it reads no local file
    ).validate()
