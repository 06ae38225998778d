"""Named architecture checks, done before sampling so a mismatch is a sentence, not a shape error."""

from __future__ import annotations

from desktop.domain.errors import ArchitectureMismatch, WrongFamily

from .components import BaseModel
from .model_family import describe_unet_config


def check_network_fits(base: BaseModel, network, name: str, width: int, height: int, kind: str | None) -> None:
    """A layer's network (ControlNet, Union ControlNet or T2I-Adapter) fits the base model, the image size and
    the layer's kind, or one sentence says why not."""
    from .union_guidance import is_union, union_type

    if network.config.get("_class_name") == "T2IAdapter":
        check_adapter_fits(base, network, name, width, height)
        if kind == "inpaint":
            raise ArchitectureMismatch(f"T2I-Adapter {name} cannot take an inpaint layer (its image marks the "
                                       "masked pixels, which no adapter reads); use the inpaint ControlNet")
        return
    check_controlnet_fits(base, network, name)
    if is_union(network):
        union_type(network, kind, name)


def check_adapter_fits(base: BaseModel, adapter, name: str, width: int, height: int) -> None:
    """A T2I-Adapter's features are added inside the UNet's down blocks: each must have the block's width, and
    the first must arrive at the grid where the UNet takes it (inside the first block, or after it when that
    block has no attention, as in SDXL)."""
    unet_cfg, cfg = base.unet.config, adapter.config
    channels, blocks = list(cfg.channels), list(unet_cfg.block_out_channels)
    if any(a != b for a, b in zip(channels, blocks)):
        raise ArchitectureMismatch(f"T2I-Adapter {name} does not match the base model's UNet (features "
                                   f"{channels} vs blocks {blocks}); pick an adapter made for this base model")
    first_grid = base.vae_scale_factor * (2 if unet_cfg.down_block_types[0] == "DownBlock2D" else 1)
    if cfg.downscale_factor != first_grid:
        raise ArchitectureMismatch(f"T2I-Adapter {name} reads the image at 1/{cfg.downscale_factor}, but this base "
                                   f"model takes its features at 1/{first_grid}; pick an adapter made for it")
    step = adapter.total_downscale_factor
    if width % step or height % step:
        raise ArchitectureMismatch(f"T2I-Adapter {name} needs a width and height that are multiples of {step}; "
                                   f"{width} x {height} is not")


def check_controlnet_fits(base: BaseModel, controlnet, name: str) -> None:
    """Raise ArchitectureMismatch if `controlnet` was made for another kind of base model."""
    unet_cfg, cn_cfg = base.unet.config, controlnet.config
    made_for, base_family = describe_unet_config(dict(cn_cfg)), describe_unet_config(dict(unet_cfg))
    if made_for != base_family:
        raise WrongFamily(
            f"ControlNet {name} is made for {made_for} models, but the base model is {base_family}; "
            "pick a ControlNet trained for this base model"
        )
    if (cn_cfg.get("addition_embed_type") != unet_cfg.get("addition_embed_type")
            or cn_cfg.cross_attention_dim != unet_cfg.cross_attention_dim):
        raise ArchitectureMismatch(
            f"ControlNet {name} is a {made_for} ControlNet for another model of that family (it reads "
            f"{cn_cfg.cross_attention_dim}-wide text features, the base model gives {unet_cfg.cross_attention_dim}); "
            "pick a ControlNet trained for this base model"
        )
    if list(cn_cfg.block_out_channels) != list(unet_cfg.block_out_channels) or (
        cn_cfg.in_channels != unet_cfg.in_channels
    ):
        raise ArchitectureMismatch(
            f"ControlNet {name} does not match the base model's UNet "
            f"(blocks {list(cn_cfg.block_out_channels)} vs {list(unet_cfg.block_out_channels)}); "
            "pick a ControlNet trained for this base model"
        )
    control_factor = 2 ** (len(cn_cfg.conditioning_embedding_out_channels) - 1)
    if control_factor != base.vae_scale_factor:
        raise ArchitectureMismatch(
            f"ControlNet {name} reads control images at 1/{control_factor} of the latent grid, but the base "
            f"model's VAE scales by {base.vae_scale_factor}; pick a ControlNet trained for this base model"
        )


def check_base_parts(base: BaseModel) -> None:
    """The VAE, text encoder and UNet of a base model must agree with each other."""
    unet_cfg = base.unet.config
    if base.vae.config.latent_channels != unet_cfg.in_channels:
        raise ArchitectureMismatch(
            f"the VAE makes {base.vae.config.latent_channels}-channel latents but the UNet expects "
            f"{unet_cfg.in_channels}"
        )
    hidden = sum(encoder.config.hidden_size for encoder in base.text_encoders)
    if hidden != unet_cfg.cross_attention_dim:
        raise ArchitectureMismatch(
            f"the text encoder's width ({hidden}) does not match the UNet's cross-attention ({unet_cfg.cross_attention_dim})"
        )
