"""A loaded base model brought to a recipe's LoRAs, embeddings and VAE, changing only what differs.

Why: the base's weights are the slow part; these are small and change often (a LoRA weight
slider, an embedding dropped). Prompt embeddings are cached per text on the base, so the cache
key `base.extras["text_adapters"]` names everything here that changes text encoding.
"""

from __future__ import annotations

from pathlib import Path

from desktop.domain.errors import WrongFamily
from desktop.domain.family import Family
from desktop.domain.model_extras import ModelExtras

from .components import BaseModel
from .device import DeviceChoice
from .embeddings import EmbeddingSet
from .extra_files import FileId, file_id, read_header
from .lora import LoraSet
from .lora_layout import lora_layout
from .vae_override import load_vae_override

TEXT_ADAPTERS_KEY = "text_adapters"  # read by prompt.py's embedding cache


class AppliedExtras:
    """What is applied to one loaded base, and its own VAE to go back to."""

    def __init__(self, base: BaseModel, device: DeviceChoice, bake_loras: bool = False) -> None:
        self._base = base
        self._device = device
        self.own_vae = base.vae
        self._vae: FileId | None = None  # the override in place, or None for the base's own
        self.loras = LoraSet(base, bake_loras)  # baked into the UNet when it runs compiled
        self.embeddings = EmbeddingSet(base)

    def apply(self, extras: ModelExtras) -> tuple[str, str]:
        """Apply `extras`; returns the prompt and negative prompt as the text encoder(s) should read them."""
        self._use_vae(extras.vae)
        try:
            self.loras.apply(extras.loras)
            self.embeddings.apply(extras.embeddings)
        finally:  # even after a failure the key names what the modules now hold
            self._base.extras[TEXT_ADAPTERS_KEY] = self.loras.text_key() + self.embeddings.text_key()
        return self.embeddings.spell_out(extras.prompt), self.embeddings.spell_out(extras.negative_prompt)

    def _use_vae(self, reference: str | None) -> None:
        wanted = None if reference is None else file_id(reference, "VAE")
        if wanted == self._vae:
            return
        self._base.vae = self.own_vae if reference is None else load_vae_override(reference, self.own_vae, self._device)
        self._vae = wanted


def check_extra_files(extras: ModelExtras, family: Family | None) -> None:
    """Every LoRA, embedding and VAE file exists and is what it claims, and a LoRA made for another family
    is refused, before the base model loads (which may take a minute): from their headers only."""
    for choice in extras.loras:
        name = Path(choice.path).name
        layout = lora_layout(name, read_header(choice.path, "LoRA"))
        made_for = layout.family_label
        if family is not None and made_for in {f.label for f in Family} and made_for != family.label:
            raise WrongFamily(f"LoRA {name} is for {made_for} models, but the base model is {family.label}; "
                              f"pick a LoRA made for {family.label}")
    for path in extras.embeddings:
        read_header(path, "embedding")
    if extras.vae is not None and not Path(extras.vae).is_dir():
        read_header(extras.vae, "VAE")
