"""The loaded parts of a Stable Diffusion model, as the sampler uses them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from desktop.domain.family import Family, ModelInfo


@dataclass
class BaseModel:
    """Tokenizer(s), text encoder(s), UNet, VAE and scheduler settings of one base model.

    SDXL has a second tokenizer and text encoder (`tokenizer_2`, `text_encoder_2`); other families
    leave them None. `info` says which family the model is, decided before its weights loaded."""

    source: str
    tokenizer: Any
    text_encoder: torch.nn.Module
    unet: torch.nn.Module
    vae: torch.nn.Module
    scheduler_config: dict[str, Any]
    device: torch.device
    dtype: torch.dtype
    extras: dict[str, Any] = field(default_factory=dict)
    info: ModelInfo = field(default_factory=lambda: ModelInfo(Family.SD1))
    tokenizer_2: Any = None
    text_encoder_2: torch.nn.Module | None = None
    zero_empty_negative: bool = False  # SDXL: an empty negative prompt is zeros, not encoded ""

    @property
    def family(self) -> Family:
        return self.info.family

    @property
    def text_encoders(self) -> list[torch.nn.Module]:
        return [e for e in (self.text_encoder, self.text_encoder_2) if e is not None]

    @property
    def vae_scale_factor(self) -> int:
        """How many pixels one latent covers, read from the VAE (SD: 8; tiny models: less)."""
        return 2 ** (len(self.vae.config.block_out_channels) - 1)
