"""The loaded parts of a Stable Diffusion model, as the sampler uses them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch


@dataclass
class BaseModel:
    """Tokenizer, text encoder, UNet, VAE and scheduler settings of one base model."""

    source: str
    tokenizer: Any
    text_encoder: torch.nn.Module
    unet: torch.nn.Module
    vae: torch.nn.Module
    scheduler_config: dict[str, Any]
    device: torch.device
    dtype: torch.dtype
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def vae_scale_factor(self) -> int:
        """How many pixels one latent covers, read from the VAE (SD: 8; tiny models: less)."""
        return 2 ** (len(self.vae.config.block_out_channels) - 1)
