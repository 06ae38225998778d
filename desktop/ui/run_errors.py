"""A failed run as the user reads it: layers named by their names, never `conditions[0]`, and the
actions that fix it (Krita AI Diffusion's typed errors shown inline).

Pure Python, no Qt: the error bar shows what `explain` returns; the main window performs the actions.
The conditions of a run are its enabled layers, bottom-up, in the order the document builds the
recipe (`desktop.domain.document.build_recipe`): condition i is `condition_layers(layers)[i]`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from desktop.domain.errors import BROWSE_MODEL, CHOOSE_CONTROLNET, SMALLER_SIZE, RunError
from desktop.domain.layers import Layer
from desktop.domain.recipe import SIZE_MIN

# Action names: what a button on the error bar does.
USE_SIZE = "use_size"  # set the document's size to `size` (one undo step)
BROWSE_BASE = "browse_base"  # the model picker's Browse (a folder, or a .safetensors file)
BROWSE_CONTROLNET = "browse_controlnet"  # choose a ControlNet file for the layer
TURN_LAYER_OFF = "turn_layer_off"  # disable the layer (one undo step)
PICK_CONTROLNET = "pick_controlnet"  # select the layer, so its ControlNet box is in view
SELECT_LAYER = "select_layer"

_CONDITION = re.compile(r"conditions\[(\d+)\](?:\.([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*))?")
_LAYER_FIELD = re.compile(r"^layer (.+)$")  # build_recipe's own fields: "layer Scribble"
_PLAIN_TAILS = {"controlnet", "image", "image_data", "pose", "mask_data"}  # the message already says what it is
_MODEL_KINDS = ("ModelNotFound", "ArchitectureMismatch", "ModelDamaged", "ModelRejected", "UnsupportedModel",
                "MissingModelPart")


@dataclass(frozen=True)
class ErrorAction:
    name: str
    label: str
    layer_id: str | None = None
    size: tuple[int, int] | None = None
    reference: str | None = None  # the model a Browse replaces


@dataclass(frozen=True)
class ShownError:
    kind: str
    message: str  # one sentence, layers named (the bar starts it with a capital; a CLI line does not)
    actions: tuple[ErrorAction, ...] = ()


def condition_layers(layers: Iterable[Layer]) -> list[Layer]:
    """The layers that became the recipe's conditions, in order (build_recipe skips disabled ones)."""
    return [layer for layer in layers if layer.enabled]


def smaller_size(width: int, height: int) -> tuple[int, int] | None:
    """Half the pixels (or fewer), the same shape, each side a multiple of 8 and at least SIZE_MIN;
    None when the size cannot get smaller."""
    scale = 1 / math.sqrt(2)
    smaller = tuple(max(SIZE_MIN, int(side * scale) // 8 * 8) for side in (width, height))
    return None if smaller == (width, height) else smaller


def name_layers(message: str, layers: Sequence[Layer]) -> str:
    """`message` with each `conditions[i]...` replaced by the name of the layer that made condition i:
    "conditions[0].controlnet: the demo model has no pose ControlNet" -> "Layer 'Pose': the demo model...".
    An index with no layer (a stranger's recipe) becomes "condition i+1"."""

    def name(match: re.Match, at_start: bool) -> str:
        index, tail = int(match.group(1)), match.group(2)
        who = f"layer '{layers[index].name}'" if index < len(layers) else f"condition {index + 1}"
        if tail and tail not in _PLAIN_TAILS:
            who += f" ({tail.removeprefix('params.').replace('_', ' ')})"
        return who[:1].upper() + who[1:] if at_start else who

    return _CONDITION.sub(lambda m: name(m, m.start() == 0), message)


def explain(error: RunError, layers: Sequence[Layer], size: tuple[int, int], base_model: str | None = None,
            lora_paths: Sequence[str] = ()) -> ShownError:
    """What the error bar shows for `error`, from a run of condition `layers` (see `condition_layers`) at
    `size` on `base_model`: the message with layers named, and one action per way out."""
    message = name_layers(error.message, layers)
    by_name = _LAYER_FIELD.match(error.field)
    if by_name:  # "layer Scribble: is empty: ..." -> "Layer 'Scribble' is empty: ..."
        message = f"Layer '{by_name.group(1)}' {error.reason}"
    actions: list[ErrorAction] = []
    index = _condition_index(error.field)
    layer = layers[index] if index is not None and index < len(layers) else None
    if by_name and layer is None:
        layer = next((candidate for candidate in layers if candidate.name == by_name.group(1)), None)
    if error.action == SMALLER_SIZE:
        smaller = smaller_size(*size)
        if smaller is not None:
            actions.append(ErrorAction(USE_SIZE, f"Use {smaller[0]} × {smaller[1]}", size=smaller))
    elif error.action == CHOOSE_CONTROLNET and layer is not None:
        actions += [ErrorAction(TURN_LAYER_OFF, "Turn layer off", layer.id),
                    ErrorAction(PICK_CONTROLNET, "Pick ControlNet…", layer.id)]
    elif any(error.is_a(kind) for kind in _MODEL_KINDS):
        owner = _controlnet_owner(error.message, layers)
        if owner is not None:
            if not message.lower().startswith(f"layer '{owner.name.lower()}'"):
                message = f"Layer '{owner.name}': {message}"
            if error.action == BROWSE_MODEL:
                actions.append(ErrorAction(BROWSE_CONTROLNET, "Browse…", owner.id, reference=owner.controlnet))
            else:
                actions.append(ErrorAction(PICK_CONTROLNET, "Pick ControlNet…", owner.id))
            actions.append(ErrorAction(TURN_LAYER_OFF, "Turn layer off", owner.id))
        elif error.action == BROWSE_MODEL and _about_base_model(error.message, base_model, lora_paths):
            actions.append(ErrorAction(BROWSE_BASE, "Browse…", reference=base_model))
    elif layer is not None:
        actions.append(ErrorAction(SELECT_LAYER, "Select layer", layer.id))
        if by_name:  # an empty layer, or one without its mask: it can also be left out
            actions.append(ErrorAction(TURN_LAYER_OFF, "Turn layer off", layer.id))
    return ShownError(error.kind, message, tuple(actions))


def _condition_index(field: str) -> int | None:
    match = _CONDITION.match(field)
    return int(match.group(1)) if match else None


def _controlnet_owner(message: str, layers: Sequence[Layer]) -> Layer | None:
    """The layer whose ControlNet the message names (the longest name first: one path may hold another)."""
    named = [layer for layer in layers if layer.controlnet and layer.controlnet.rstrip("/\\") in message]
    return max(named, key=lambda layer: len(layer.controlnet), default=None)


def _about_base_model(message: str, base_model: str | None, lora_paths: Sequence[str]) -> bool:
    """A missing model that is not a LoRA or a preprocessor's network: the base model, which Browse replaces."""
    if any(path and path in message for path in lora_paths):
        return False
    if base_model and base_model.rstrip("/\\") in message:
        return True
    lowered = message.lower()
    return not any(word in lowered for word in ("lora", "preprocessor", "embedding", "vae"))
