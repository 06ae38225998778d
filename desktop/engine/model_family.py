"""Which family a diffusers folder or a ControlNet config belongs to, from configs alone.

Why configs first: a model of another family, or a folder missing a part, is refused in one
sentence before gigabytes of weights are read.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from desktop.domain.errors import ModelDamaged, UnsupportedModel
from desktop.domain.family import EPSILON, Family, ModelInfo, native_size
from desktop.domain.model_card import read_model_card


def read_json(path: Path) -> dict[str, Any] | None:
    """A small JSON config, or None when it is absent or not a JSON object."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def family_of_unet_config(config: dict[str, Any]) -> Family:
    """SD 1.x reads 768-wide text, SD 2.x 1024, SDXL 2048 plus its `text_time` embedding. UNets of other
    widths (small custom models such as the built-in demo, test models) are told apart by structure:
    SDXL's text-time embedding, SD 2.x's linear projections in its transformers, else SD 1.x."""
    text_time = config.get("addition_embed_type") == "text_time"
    by_width = Family.from_context_dim(config.get("cross_attention_dim"), text_time=text_time)
    if by_width is not None:
        return by_width
    return Family.SD2 if config.get("use_linear_projection") else Family.SD1


def describe_unet_config(config: dict[str, Any]) -> str:
    """How a refusal names the family a UNet or ControlNet was made for."""
    return family_of_unet_config(config).label


def info_from_folder(folder: Path) -> ModelInfo:
    """The family, prediction type, native size and model card of a diffusers base-model folder. A card's
    size is the model's native size: the demo model was trained at 64 px, not its family's 512."""
    unet = read_json(folder / "unet" / "config.json")
    if unet is None:
        raise ModelDamaged(f"model file is damaged: {folder}/unet/config.json cannot be read")
    index = read_json(folder / "model_index.json") or {}
    first_encoder = (index.get("text_encoder") or [None])[0]  # a saved refiner lists it as [null, null]
    if unet.get("addition_embed_type") == "text_time" and (
        unet.get("cross_attention_dim") == 1280 or (first_encoder is None and "text_encoder_2" in index)
    ):
        raise UnsupportedModel(f"{folder.name} is an SDXL refiner; it only refines, pick an SDXL base model")
    channels = unet.get("in_channels", 4)
    if channels not in (4, 9):
        raise UnsupportedModel(
            f"{folder.name} has a UNet with {channels} input channels (an instruct-pix2pix, depth-to-image or "
            "upscaler model); ControlNet Studio runs text-to-image models"
        )
    family = family_of_unet_config(unet)
    scheduler = read_json(folder / "scheduler" / "scheduler_config.json") or {}
    prediction = scheduler.get("prediction_type") or EPSILON
    inpainting = unet.get("in_channels") == 9
    card = read_model_card(folder)
    size = native_size(family, prediction)
    if card is not None:
        size = int(card.defaults.get("width", card.defaults.get("height", size)))  # cards name square sizes
    return ModelInfo(family, prediction, size, inpainting, card)


def zero_empty_negative(folder: Path, family: Family) -> bool:
    """SDXL pipelines encode an empty negative prompt as zeros unless the model says otherwise."""
    index = read_json(folder / "model_index.json") or {}
    return family is Family.SDXL and bool(index.get("force_zeros_for_empty_prompt", True))
