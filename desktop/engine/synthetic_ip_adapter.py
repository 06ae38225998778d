"""A tiny random-weight IP-Adapter laid out as the h94/IP-Adapter hub repository.

Why: reference-image tests must load an IP-Adapter through the code real ones go through (diffusers'
`load_ip_adapter` reading `models/ip-adapter_sd15.safetensors` or
`sdxl_models/ip-adapter_sdxl_vit-h.safetensors` plus the CLIP image encoder in `models/image_encoder`)
without a download. The files keep the original checkpoints' key names and numbering, and their sizes
follow the tiny base UNet they are built for, so a loader that gets the layout wrong fails here too.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch

from desktop.domain.family import Family

IMAGE_TOKENS = 4  # the plain IP-Adapter's clip_extra_context_tokens; diffusers hard-codes it for `proj.weight`
ENCODER_FOLDER = "models/image_encoder"  # where h94/IP-Adapter keeps the ViT-H encoder both adapters use
ADAPTER_FILES = {
    Family.SD1: "models/ip-adapter_sd15.safetensors",
    Family.SDXL: "sdxl_models/ip-adapter_sdxl_vit-h.safetensors",
}
ENCODER_WIDTH = 64  # real ViT-H: 1280
ENCODER_PROJECTION = 48  # real ViT-H: 1024; unlike the width and every UNet size, so a mix-up shows
ENCODER_IMAGE_SIZE = 32  # real: 224; diffusers' feature extractor resizes to the encoder's image_size
ENCODER_PATCH = 8  # real: 14
VALUE_GAIN = 3.0  # to_v_ip this many times a unit-preserving init: the adapter must visibly steer


def build_tiny_ip_adapter(base_folder: Path, root: Path, family: Family, *, seed: int = 11) -> Path:
    """Write, under `root`, the image encoder and the IP-Adapter file of `family` for the tiny base in
    `base_folder`, as h94/IP-Adapter holds them; returns `root` (pass it to `load_ip_adapter`)."""
    from safetensors.torch import save_file

    if family not in ADAPTER_FILES:
        raise ValueError(f"h94/IP-Adapter has no adapter for {family}")
    root = Path(root)
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    encoder = _image_encoder()
    encoder.save_pretrained(root / ENCODER_FOLDER, safe_serialization=True)
    state = _adapter_state(Path(base_folder), encoder.config.projection_dim, generator)
    target = root / ADAPTER_FILES[family]
    target.parent.mkdir(parents=True, exist_ok=True)
    save_file(state, target, metadata={"format": "pt"})
    return root


def ip_adapter_layer_numbers(unet) -> dict[str, int]:
    """The original files' number for each cross-attention processor: its position among all of the
    UNet's attention processors (self-attention takes the even ones), as `unet.attn_processors` orders them."""
    return {name: index for index, name in enumerate(unet.attn_processors) if name.endswith("attn2.processor")}


def _image_encoder():
    """A CLIPVisionModelWithProjection of ViT-H's kind (gelu, hub key names `vision_model.` and
    `visual_projection.`), tiny enough to encode a reference image in milliseconds."""
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    config = CLIPVisionConfig(
        hidden_size=ENCODER_WIDTH, intermediate_size=2 * ENCODER_WIDTH, num_hidden_layers=2, num_attention_heads=2,
        image_size=ENCODER_IMAGE_SIZE, patch_size=ENCODER_PATCH, projection_dim=ENCODER_PROJECTION,
        hidden_act="gelu",
    )
    return CLIPVisionModelWithProjection(config).eval()


def _adapter_state(base_folder: Path, image_dim: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
    """The original checkpoint's keys: `image_proj.proj` maps the image embedding to IMAGE_TOKENS tokens of
    the UNet's cross-attention width, `image_proj.norm` normalises them, and each cross-attention layer
    gets `ip_adapter.<n>.to_k_ip` / `to_v_ip` (out: the layer's width, in: the cross-attention width)."""
    from diffusers import UNet2DConditionModel

    config = UNet2DConditionModel.load_config(base_folder / "unet")
    unet = UNet2DConditionModel.from_config(config)
    context = unet.config.cross_attention_dim
    modules = dict(unet.named_modules())

    def randn(*shape: int, std: float) -> torch.Tensor:
        return (torch.randn(shape, generator=generator) * std).contiguous()

    state = {
        "image_proj.proj.weight": randn(IMAGE_TOKENS * context, image_dim, std=1 / math.sqrt(image_dim)),
        "image_proj.proj.bias": randn(IMAGE_TOKENS * context, std=0.1),
        "image_proj.norm.weight": 1 + randn(context, std=0.1),
        "image_proj.norm.bias": randn(context, std=0.1),
    }
    for name, number in ip_adapter_layer_numbers(unet).items():
        attention = modules[name.removesuffix(".processor")]
        width = attention.to_k.out_features
        if attention.to_k.in_features != context:
            raise ValueError(f"{name} reads {attention.to_k.in_features}-wide context, not {context}")
        state[f"ip_adapter.{number}.to_k_ip.weight"] = randn(width, context, std=1 / math.sqrt(context))
        state[f"ip_adapter.{number}.to_v_ip.weight"] = randn(width, context, std=VALUE_GAIN / math.sqrt(context))
    return state
