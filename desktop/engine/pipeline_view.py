"""A diffusers pipeline object over a loaded base model's own modules (nothing copied).

Why: diffusers' LoRA and textual-inversion loaders (`load_lora_weights`, `set_adapters`,
`load_textual_inversion`...) are pipeline methods. Built around the very modules the sampler
runs, they change those modules in place, exactly as they change a pipeline's. Building one
costs milliseconds, so one is made when needed and dropped.
"""

from __future__ import annotations

from .components import BaseModel
from .schedulers import make_scheduler


def diffusers_view(base: BaseModel):
    """StableDiffusionXLPipeline for a base with two text encoders, else StableDiffusionPipeline."""
    from diffusers import StableDiffusionPipeline, StableDiffusionXLPipeline

    scheduler = make_scheduler("euler", base.scheduler_config)  # unused by the loaders; the constructor wants one
    if base.text_encoder_2 is not None:
        return StableDiffusionXLPipeline(
            vae=base.vae, text_encoder=base.text_encoder, text_encoder_2=base.text_encoder_2,
            tokenizer=base.tokenizer, tokenizer_2=base.tokenizer_2, unet=base.unet, scheduler=scheduler,
            add_watermarker=False,
        )
    return StableDiffusionPipeline(
        vae=base.vae, text_encoder=base.text_encoder, tokenizer=base.tokenizer, unet=base.unet, scheduler=scheduler,
        safety_checker=None, feature_extractor=None, requires_safety_checker=False,
    )
