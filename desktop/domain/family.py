"""Model families: SD 1.x, SD 2.x and SDXL, decided once from a model's configs or file keys.

Why a family: each one turns prompts into conditioning differently, has its own native size and
its own ControlNets, and a ControlNet of one family cannot steer another's UNet. Qt-free and
torch-free, so the UI, the recipe and the engine all read the same facts (Krita AI Diffusion's
`Arch` is the model).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .model_card import ModelCard


class Family(str, Enum):
    SD1 = "sd1"
    SD2 = "sd2"
    SDXL = "sdxl"

    @property
    def label(self) -> str:
        return _LABELS[self]

    @property
    def context_dim(self) -> int:
        """Width of the text conditioning the UNet's cross-attention reads."""
        return _CONTEXT_DIMS[self]

    @property
    def text_encoders(self) -> int:
        return 2 if self is Family.SDXL else 1

    @property
    def size_presets(self) -> tuple[tuple[int, int], ...]:
        """Width x height choices offered when a model of this family is picked (native first)."""
        return _SIZE_PRESETS[self]

    @classmethod
    def from_context_dim(cls, dim: int | None, *, text_time: bool = False) -> Family | None:
        """The family whose UNet reads `dim`-wide text; SDXL also by its `text_time` embedding."""
        if text_time:
            return cls.SDXL
        return next((family for family, width in _CONTEXT_DIMS.items() if width == dim), None)


_LABELS = {Family.SD1: "SD 1.x", Family.SD2: "SD 2.x", Family.SDXL: "SDXL"}
_CONTEXT_DIMS = {Family.SD1: 768, Family.SD2: 1024, Family.SDXL: 2048}
_SIZE_PRESETS = {
    Family.SD1: ((512, 512), (512, 768), (768, 512), (640, 640), (768, 768), (256, 256)),
    Family.SD2: ((768, 768), (512, 512), (640, 896), (896, 640), (1024, 1024)),
    Family.SDXL: ((1024, 1024), (896, 1152), (1152, 896), (832, 1216), (1216, 832), (768, 1344), (1344, 768)),
}

EPSILON = "epsilon"
V_PREDICTION = "v_prediction"


@dataclass(frozen=True)
class ModelInfo:
    """What a base model is, known before its weights load."""

    family: Family
    prediction: str = EPSILON  # "epsilon" or "v_prediction"
    native_size: int = 512
    inpainting: bool = False  # a 9-channel UNet (latents + mask + masked image)
    # The card beside a folder model's weights (the demo's): its defaults and guidance range. Not compared:
    # two peeks at one model are the same model, and a card holds dicts, which cannot be hashed.
    card: ModelCard | None = field(default=None, compare=False)

    @property
    def label(self) -> str:
        """'SD 2.x, v-prediction, 768 px': how the app and the CLI name the model's kind."""
        extras = []
        if self.prediction == V_PREDICTION:
            extras.append("v-prediction")
        if self.inpainting:
            extras.append("inpainting")
        extras.append(f"{self.native_size} px")
        return ", ".join([self.family.label, *extras])


def native_size(family: Family, prediction: str = EPSILON) -> int:
    """SD 1.x 512; SD 2.x 768 when v-prediction (2.0-v, 2.1), else 512 (the -base models); SDXL 1024."""
    if family is Family.SDXL:
        return 1024
    if family is Family.SD2 and prediction == V_PREDICTION:
        return 768
    return 512
