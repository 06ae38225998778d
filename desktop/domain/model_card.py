"""A model card: `model_card.json` beside a base model's weights, saying how the model wants to be run.

The built-in demo model carries one (written by `train demo`): the size, guidance, steps and sampler
it was made for, the guidance range where it works, and which kinds of condition each of its
ControlNets serves. Recipes that do not set a value take the card's; the app's guidance slider shows
the range. A card is read as data only (JSON, checked field by field): a damaged or foreign card is
ignored with a reason, never trusted.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from .recipe import (
    CARD_DEFAULTABLE, CONDITION_KINDS, GUIDANCE_MAX, SCHEDULERS, SIZE_MAX, SIZE_MIN, STEPS_MAX, STEPS_MIN, parse_json,
)

log = logging.getLogger(__name__)
CARD_FILE = "model_card.json"
CARD_VERSION = 1
MAX_CARD_BYTES = 64 * 1024


class ModelCardError(ValueError):
    """The card is not one this version can use; the message says which field and why."""


@dataclass(frozen=True)
class ModelCard:
    defaults: dict[str, float | int | str]  # recipe key -> value, keys from CARD_DEFAULTABLE
    guidance_range: tuple[float, float]  # where the model works; the UI shows it, users may go beyond
    controlnets: dict[str, tuple[str, ...]] = field(default_factory=dict)  # sub-folder -> condition kinds
    # False: no ControlNet but the card's fits this model (the demo's own shape); True: a kind the card does
    # not serve gets the family's official ControlNet, as for a model without a card.
    other_controlnets: bool = True

    def controlnet_for(self, kind: str) -> str | None:
        """The sub-folder of the ControlNet serving `kind`, if the card names one."""
        return next((folder for folder, kinds in self.controlnets.items() if kind in kinds), None)

    def to_json(self) -> str:
        return json.dumps({"version": CARD_VERSION, "defaults": self.defaults,
                           "guidance_range": list(self.guidance_range),
                           "controlnets": {k: list(v) for k, v in self.controlnets.items()},
                           "other_controlnets": self.other_controlnets}, indent=1) + "\n"


def read_model_card(folder: str | Path) -> ModelCard | None:
    """The card of the model in `folder`, or None (no card, or one that cannot be used: logged)."""
    path = Path(folder) / CARD_FILE
    try:
        if not path.is_file():
            return None
        if path.stat().st_size > MAX_CARD_BYTES:
            raise ModelCardError(f"larger than {MAX_CARD_BYTES // 1024} KB")
        return parse_model_card(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ModelCardError) as err:
        log.warning("model card %s ignored: %s", path, err)
        return None


def parse_model_card(text: str) -> ModelCard:
    try:
        data = parse_json(text)  # bounded like a recipe: any depth or digit count is a ValueError, not a crash
    except ValueError as err:
        raise ModelCardError(f"not JSON: it {err}") from err
    if not isinstance(data, dict) or data.get("version") != CARD_VERSION:
        raise ModelCardError(f"not a version {CARD_VERSION} model card")
    defaults = data.get("defaults", {})
    if not isinstance(defaults, dict):
        raise ModelCardError("defaults: must be an object")
    checked = {key: _default(key, value) for key, value in defaults.items()}
    low_high = data.get("guidance_range", [1.0, GUIDANCE_MAX])
    if (not isinstance(low_high, list) or len(low_high) != 2 or not all(_number(v) for v in low_high)
            or not 0.0 <= low_high[0] < low_high[1] <= GUIDANCE_MAX):
        raise ModelCardError(f"guidance_range: must be [low, high] within 0..{GUIDANCE_MAX:g}")
    nets = data.get("controlnets", {})
    if not isinstance(nets, dict):
        raise ModelCardError("controlnets: must be an object")
    controlnets = {}
    for folder, kinds in nets.items():
        if not isinstance(folder, str) or not folder or Path(folder).name != folder or folder.startswith("."):
            raise ModelCardError(f"controlnets: {folder!r} is not a sub-folder name")
        if not isinstance(kinds, list) or not all(k in CONDITION_KINDS for k in kinds):
            raise ModelCardError(f"controlnets.{folder}: must list condition kinds ({', '.join(CONDITION_KINDS)})")
        controlnets[folder] = tuple(kinds)
    other = data.get("other_controlnets", True)
    if not isinstance(other, bool):
        raise ModelCardError("other_controlnets: must be true or false")
    return ModelCard(checked, (float(low_high[0]), float(low_high[1])), controlnets, other)


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value


def _default(key: str, value):
    limits = {"width": (SIZE_MIN, SIZE_MAX), "height": (SIZE_MIN, SIZE_MAX), "steps": (STEPS_MIN, STEPS_MAX)}
    if key in limits:
        low, high = limits[key]
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise ModelCardError(f"defaults.{key}: must be a whole number {low}..{high}")
        if key in ("width", "height") and value % 8:
            raise ModelCardError(f"defaults.{key}: must be a multiple of 8")
        return value
    if key == "guidance_scale":
        if not _number(value) or not 0.0 <= value <= GUIDANCE_MAX:
            raise ModelCardError(f"defaults.guidance_scale: must be a number 0..{GUIDANCE_MAX:g}")
        return float(value)
    if key == "scheduler":
        if value not in SCHEDULERS:
            raise ModelCardError(f"defaults.scheduler: must be one of {', '.join(SCHEDULERS)}")
        return value
    raise ModelCardError(f"defaults: {key!r} is not one of {', '.join(CARD_DEFAULTABLE)}")
