"""Condition layers: what the user draws or loads, plus how strongly it steers.

Plain data: how a layer becomes a control image lives in `desktop.conditions.layer_images`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace

from .pose import Person
from .settings_schema import ENABLED, END, KEEP_UNMASKED, MODE, OPACITY, RESIZE_MODE, START, WEIGHT

MAX_LAYERS = 64  # every layer is decoded and drawn together: a bound on a stranger's project, far above real use


@dataclass(frozen=True)
class Stroke:
    """A brush or eraser stroke: points (x, y, pressure) in canvas pixels, size in pixels."""

    points: tuple[tuple[float, float, float], ...]
    size: float = 6.0
    erase: bool = False


@dataclass(frozen=True)
class Fill:
    """A bucket fill at (x, y): fills the connected region under the point (erase fills black)."""

    x: float
    y: float
    erase: bool = False


@dataclass
class Layer:
    """What every layer has. `region_operations` paint where the layer steers (white strokes add to the
    region, the eraser takes away); none: it steers the whole image, as an all-white region would."""

    name: str
    kind: str = "scribble"
    enabled: bool = ENABLED.initial
    weight: float = WEIGHT.initial
    start: float = START.initial
    end: float = END.initial
    mode: str = MODE.initial
    controlnet: str | None = None
    opacity: float = OPACITY.initial
    region_operations: tuple[Stroke | Fill, ...] = ()
    id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def copy(self, **changes) -> "Layer":
        return replace(self, **changes)


@dataclass
class ScribbleLayer(Layer):
    kind: str = "scribble"
    operations: tuple[Stroke | Fill, ...] = ()


@dataclass
class PoseLayer(Layer):
    kind: str = "pose"
    people: tuple[Person, ...] = ()


@dataclass
class ImageLayer(Layer):
    """A reference photo: PNG bytes (normalised on load), and the preprocessor that turns it
    into a control image ('none' uses it as it is). With the inpaint preprocessor the brush
    paints `mask_operations`: the area the model repaints, in canvas pixels; `keep_unmasked`
    lays the photo back over the result outside it."""

    kind: str = "image"
    condition_kind: str = "image"
    png: bytes = b""
    preprocessor: str = "none"
    params: dict = field(default_factory=dict)
    resize_mode: str = RESIZE_MODE.initial
    mask_operations: tuple[Stroke | Fill, ...] = ()
    keep_unmasked: bool = KEEP_UNMASKED.initial

    @property
    def paints_mask(self) -> bool:
        return self.preprocessor == "inpaint"


def painted_operations(layer: Layer | None, region: bool = False) -> str | None:
    """The field the brush paints on this layer: its region while the user paints regions (`region`,
    any kind of layer), else a scribble's ink or an inpaint layer's mask."""
    if region and layer is not None:
        return "region_operations"
    if isinstance(layer, ScribbleLayer):
        return "operations"
    if isinstance(layer, ImageLayer) and layer.paints_mask:
        return "mask_operations"
    return None


def new_layer_id() -> str:
    return uuid.uuid4().hex
