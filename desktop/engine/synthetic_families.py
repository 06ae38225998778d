"""Tiny random-weight models of every family (SD 1.x, SD 2.x, SDXL), saved as diffusers folders.

Why: tests and benchmarks must load each family through the real loading code without a
download. The models are tiny but keep every convention a real model of their family has (the
real CLIP tokenizer, its 49408-token vocabulary and 77 positions, per-family head sizes,
activations, pad tokens and linear projections, SDXL's two encoders and text-time embedding, a
VAE that shrinks by 8), so a loader that infers a model from its shapes plus those conventions
must get these right too.
"""

from __future__ import annotations

from pathlib import Path

import torch

from desktop.domain.family import EPSILON, Family

from .synthetic_models import build_controlnet
from .tokenizers import family_tokenizers

CLIP_VOCAB = 49408
CLIP_POSITIONS = 77
HEAD_DIM = 64  # SD 2.x and SDXL attention heads are 64 wide
SD1_HEADS = 8  # SD 1.x has 8 heads per block whatever its width

UNET_CHANNELS = {Family.SD1: (64, 128), Family.SD2: (64, 128), Family.SDXL: (64, 64, 128)}
SDXL_TRANSFORMER_LAYERS = (0, 1, 2)  # real SDXL: none at the first level, then deeper ones
SDXL_TIME_EMBED = 8  # real SDXL: 256
VAE_CHANNELS = (32, 32, 64, 64)  # four blocks: latents 8x smaller, as in every real family
TEXT_WIDTH = 64
SDXL_TEXT_2_WIDTH = 128  # unlike the first encoder's, as in SDXL (768 and 1280)

_SCALED_LINEAR = dict(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", num_train_timesteps=1000)


def build_tiny_family(
    folder: str | Path, family: Family, *, prediction: str = EPSILON, inpainting: bool = False, seed: int = 0
) -> Path:
    """A complete diffusers folder of `family` whose model_index names its real pipeline class."""
    from diffusers import AutoencoderKL, UNet2DConditionModel

    folder = Path(folder)
    torch.manual_seed(seed)
    unet = UNet2DConditionModel(**_unet_config(family, inpainting))
    vae = AutoencoderKL(**_vae_config(family))
    if family is Family.SDXL:
        pipe = _sdxl_pipeline(unet, vae, prediction, inpainting)
    else:
        pipe = _sd_pipeline(family, unet, vae, prediction, inpainting)
    pipe.save_pretrained(folder, safe_serialization=True)
    _use_hub_text_encoder_names(folder)
    return folder


def build_tiny_family_controlnet(
    base_folder: str | Path, folder: str | Path, *, seed: int = 1, global_pool: bool = False
) -> Path:
    """A ControlNet copied from the base's UNet (so it keeps SDXL's text-time embedding), reading
    the control image at the latent grid's factor, with zero convolutions that visibly steer."""
    return build_controlnet(base_folder, folder, seed=seed, global_pool=global_pool)


def build_tiny_union_controlnet(base_folder: str | Path, folder: str | Path, *, seed: int = 9,
                                control_types: int = 8) -> Path:
    """A ControlNet Union (xinsir's kind, `control_types` 8 as ProMax) copied from an SDXL base's UNet, its
    condition transformer as wide as the UNet's first block, with zero layers that visibly steer."""
    from diffusers import AutoencoderKL, ControlNetUnionModel, UNet2DConditionModel

    torch.manual_seed(seed)
    unet = UNet2DConditionModel.from_pretrained(base_folder, subfolder="unet", use_safetensors=True)
    vae_blocks = len(AutoencoderKL.load_config(Path(base_folder) / "vae")["block_out_channels"])
    channels = (16, 32, 96, 256)[:vae_blocks]
    shape = ControlNetUnionModel.from_unet(unet, conditioning_embedding_out_channels=channels,
                                           load_weights_from_unet=False).config
    width = unet.config.block_out_channels[0]
    config = {key: value for key, value in shape.items() if key != "_use_default_values"}  # else these reset
    net = ControlNetUnionModel.from_config({**config, "num_control_type": control_types, "num_trans_channel": width,
                                            "num_trans_head": 2, "num_proj_channel": width})
    for part in ("conv_in", "time_proj", "time_embedding", "down_blocks", "mid_block"):
        getattr(net, part).load_state_dict(getattr(unet, part).state_dict(), strict=False)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for layer in [*net.controlnet_down_blocks, net.controlnet_mid_block, net.spatial_ch_projs]:
            layer.weight.copy_(torch.randn(layer.weight.shape, generator=generator) * 0.3)
            layer.bias.copy_(torch.randn(layer.bias.shape, generator=generator) * 0.05)
    net.save_pretrained(Path(folder), safe_serialization=True)
    return Path(folder)


def build_tiny_family_adapter(family: Family, folder: str | Path, *, seed: int = 6, in_channels: int = 3) -> Path:
    """A T2I-Adapter for the tiny UNet of `family`, of the kind TencentARC publishes for it (the full
    adapter for SD 1.x/2.x, the XL one, 16x smaller input, for SDXL), with weights large enough to steer."""
    from diffusers import T2IAdapter

    torch.manual_seed(seed)
    channels = list(UNET_CHANNELS[family])
    if family is Family.SDXL:
        adapter = T2IAdapter(in_channels=in_channels, channels=channels + channels[-1:], num_res_blocks=1,
                             downscale_factor=16, adapter_type="full_adapter_xl")
    else:
        adapter = T2IAdapter(in_channels=in_channels, channels=channels, num_res_blocks=1, downscale_factor=8,
                             adapter_type="full_adapter")
    with torch.no_grad():
        for parameter in adapter.parameters():
            parameter.mul_(3.0)
    adapter.save_pretrained(Path(folder), safe_serialization=True)
    return Path(folder)


def _use_hub_text_encoder_names(folder: Path) -> None:
    """transformers 5 saves CLIPTextModel without its `text_model.` level; hub repos (and so the
    folders users have) keep it. transformers reads both, so the files get the hub's names."""
    from safetensors.torch import load_file, save_file

    kept = ("text_model.", "text_projection.")
    for file in folder.glob("text_encoder*/model.safetensors"):
        state = load_file(file)
        if not all(key.startswith(kept) for key in state):
            renamed = {key if key.startswith(kept) else f"text_model.{key}": value for key, value in state.items()}
            save_file(renamed, file, metadata={"format": "pt"})


def _unet_config(family: Family, inpainting: bool) -> dict:
    channels = UNET_CHANNELS[family]
    config = dict(
        block_out_channels=channels, layers_per_block=2, sample_size=8, in_channels=9 if inpainting else 4,
        out_channels=4,
    )
    sd_blocks = dict(
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"), up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=TEXT_WIDTH,
    )
    if family is Family.SD1:
        return config | sd_blocks | dict(attention_head_dim=SD1_HEADS)
    heads = tuple(width // HEAD_DIM for width in channels)  # diffusers' "attention_head_dim" counts heads
    if family is Family.SD2:
        return config | sd_blocks | dict(attention_head_dim=heads, use_linear_projection=True)
    return config | dict(
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=TEXT_WIDTH + SDXL_TEXT_2_WIDTH, attention_head_dim=heads, use_linear_projection=True,
        transformer_layers_per_block=SDXL_TRANSFORMER_LAYERS, addition_embed_type="text_time",
        addition_time_embed_dim=SDXL_TIME_EMBED,
        projection_class_embeddings_input_dim=SDXL_TEXT_2_WIDTH + 6 * SDXL_TIME_EMBED,
    )


def _vae_config(family: Family) -> dict:
    blocks = len(VAE_CHANNELS)
    config = dict(
        block_out_channels=VAE_CHANNELS, in_channels=3, out_channels=3, latent_channels=4, layers_per_block=1,
        down_block_types=("DownEncoderBlock2D",) * blocks, up_block_types=("UpDecoderBlock2D",) * blocks,
        sample_size=64,
    )
    if family is Family.SDXL:
        return config | dict(scaling_factor=0.13025, force_upcast=True)
    return config


def _text_encoder(width: int, act: str, *, projection: bool = False):
    """A CLIP text encoder with the real vocabulary and positions; projection_dim is the width,
    as in CLIP-L (SD 1.x, SDXL's first), OpenCLIP-H (SD 2.x) and bigG (SDXL's second)."""
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    config = CLIPTextConfig(
        vocab_size=CLIP_VOCAB, max_position_embeddings=CLIP_POSITIONS, hidden_size=width,
        intermediate_size=2 * width, num_hidden_layers=2, num_attention_heads=width // HEAD_DIM, hidden_act=act,
        projection_dim=width,
    )
    return CLIPTextModelWithProjection(config) if projection else CLIPTextModel(config)


def _sd_pipeline(family: Family, unet, vae, prediction: str, inpainting: bool):
    from diffusers import DDIMScheduler, PNDMScheduler, StableDiffusionInpaintPipeline, StableDiffusionPipeline

    sd2 = family is Family.SD2
    if sd2 and prediction != EPSILON:  # as stable-diffusion-2-1 (the -base models use PNDM)
        scheduler = DDIMScheduler(
            **_SCALED_LINEAR, clip_sample=False, set_alpha_to_one=False, steps_offset=1, prediction_type=prediction
        )
    else:
        scheduler = PNDMScheduler(
            **_SCALED_LINEAR, set_alpha_to_one=False, skip_prk_steps=True, steps_offset=1, prediction_type=prediction
        )
    pipeline = StableDiffusionInpaintPipeline if inpainting else StableDiffusionPipeline
    return pipeline(
        vae=vae, unet=unet, scheduler=scheduler,
        text_encoder=_text_encoder(TEXT_WIDTH, "gelu" if sd2 else "quick_gelu"),
        tokenizer=family_tokenizers(family)[0],
        safety_checker=None, feature_extractor=None, requires_safety_checker=False,
    )


def _sdxl_pipeline(unet, vae, prediction: str, inpainting: bool):
    from diffusers import EulerDiscreteScheduler, StableDiffusionXLInpaintPipeline, StableDiffusionXLPipeline

    scheduler = EulerDiscreteScheduler(
        **_SCALED_LINEAR, interpolation_type="linear", steps_offset=1, timestep_spacing="leading",
        use_karras_sigmas=False, prediction_type=prediction,
    )
    tokenizer, tokenizer_2 = family_tokenizers(Family.SDXL)
    pipeline = StableDiffusionXLInpaintPipeline if inpainting else StableDiffusionXLPipeline
    return pipeline(
        vae=vae, unet=unet, scheduler=scheduler,
        text_encoder=_text_encoder(TEXT_WIDTH, "quick_gelu"), tokenizer=tokenizer,
        text_encoder_2=_text_encoder(SDXL_TEXT_2_WIDTH, "gelu", projection=True), tokenizer_2=tokenizer_2,
    )
