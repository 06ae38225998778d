"""What a LoRA file was made for, read from its header's names and shapes, before it touches a model.

Why: diffusers would inject a LoRA of another family into whichever layers happen to match, or
fail half way with a shape error. Kohya files (`lora_unet_*`, `lora_te_*`, SDXL's `lora_te1_*` and
`lora_te2_*`) and diffusers/peft files (`unet.*`, `text_encoder.*`, `text_encoder_2.*`) both show
their text encoders by prefix and their widths in the down projections' shapes, so another family
is refused by name first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from desktop.domain.errors import ArchitectureMismatch, UnsupportedModel, WrongFamily
from desktop.domain.family import Family

from .components import BaseModel

_DOWN = (".lora_down.weight", ".lora_A.weight", ".lora.down.weight", "_lora.down.weight",
         ".lora_linear_layer.down.weight")
_FIRST_TEXT = ("lora_te_", "lora_te1_", "text_encoder.")
_SECOND_TEXT = ("lora_te2_", "text_encoder_2.")
_TWO_ENCODER_NAMES = ("lora_te1_", "lora_te2_", "text_encoder_2.")
_LYCORIS = ("hada_w1_a", "lokr_w1", "oft_blocks", ".oft_r")


@dataclass(frozen=True)
class LoraLayout:
    two_encoders: bool  # named for SDXL's pair of text encoders
    text_encoders: int  # how many text encoders it has weights for
    context_width: int | None  # the UNet's text width, read from a cross-attention key or value
    text_widths: tuple[int | None, int | None]  # hidden width of the first and second text encoder

    @property
    def family_label(self) -> str | None:
        family = Family.from_context_dim(self.context_width)
        if family is not None:
            return family.label
        if self.two_encoders:
            return Family.SDXL.label
        by_text = Family.from_context_dim(self.text_widths[0])  # a text-encoder-only LoRA: its encoder's width
        if by_text is not None:
            return by_text.label
        return f"{Family.SD1.label} or {Family.SD2.label}" if self.text_encoders == 1 else None


def lora_layout(name: str, header: dict[str, Any]) -> LoraLayout:
    """The layout of a LoRA file from its tensor table; a file that is no LoRA is refused."""
    keys = list(header)
    if any(marker in key for key in keys for marker in _LYCORIS):
        raise UnsupportedModel(f"{name} is a LyCORIS network (LoHa, LoKr or OFT); this version loads LoRAs only")
    downs = {key: header[key].get("shape", []) for key in keys if key.endswith(_DOWN)}
    if not downs:
        raise ArchitectureMismatch(f"{name} is not a LoRA: it has no LoRA down projections "
                                   "(kohya `.lora_down.weight` or diffusers `.lora_A.weight`)")
    first = [key for key in downs if key.startswith(_FIRST_TEXT)]
    second = [key for key in downs if key.startswith(_SECOND_TEXT)]
    cross = [key for key in downs if "attn2" in key and ("to_k" in key or "to_v" in key)]
    return LoraLayout(
        two_encoders=any(key.startswith(_TWO_ENCODER_NAMES) for key in downs),
        text_encoders=bool(first) + bool(second),
        context_width=_input_width(downs, cross),
        text_widths=(_input_width(downs, [k for k in first if "self_attn" in k]),
                     _input_width(downs, [k for k in second if "self_attn" in k])),
    )


def check_lora_fits(name: str, layout: LoraLayout, base: BaseModel) -> None:
    """WrongFamily naming both families when `layout` cannot apply to `base`."""
    unet_width = base.unet.config.cross_attention_dim
    encoders = base.text_encoders
    widths = [encoder.config.hidden_size for encoder in encoders]
    mismatches = []
    if layout.two_encoders and len(encoders) < 2:
        mismatches.append(f"it has weights for two text encoders, the base model has {len(encoders)}")
    if layout.context_width not in (None, unet_width):
        mismatches.append(f"its UNet reads {layout.context_width}-wide text, the base model's {unet_width}-wide")
    for index, width in enumerate(layout.text_widths):
        if width is not None and (index >= len(widths) or width != widths[index]):
            mismatches.append(f"text encoder {index + 1} is {width} wide in the LoRA")
    if not mismatches:
        return
    base_label = base.family.label
    lora_label = layout.family_label
    if lora_label is not None and lora_label != base_label:
        raise WrongFamily(f"LoRA {name} is for {lora_label} models, but the base model is {base_label}; "
                          f"pick a LoRA made for {base_label}", detail="; ".join(mismatches))
    raise WrongFamily(f"LoRA {name} does not fit the base model ({base_label}): {'; '.join(mismatches)}; "
                      "it was made for another model")


def _input_width(downs: dict[str, list[int]], keys: list[str]) -> int | None:
    """A down projection is (rank, input width): the input width of the layer it adapts."""
    for key in keys:
        shape = downs[key]
        if len(shape) == 2:
            return int(shape[1])
    return None
