"""Models built from configs with random weights, saved in the normal diffusers layout.

Why: tests and benchmarks load them through the exact code real models use, with no
download. `tiny` is a few hundred kB; `sd15-shape` has Stable Diffusion 1.5's shapes, so it
costs per step what the trained model costs.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch

from .loading import CONTROLNET_SD15_CONFIG, SD15_CONFIG

TINY_TOKENIZER = Path(__file__).resolve().parents[2] / "resources" / "tiny_tokenizer"

TINY_UNET = dict(
    block_out_channels=(32, 64), layers_per_block=2, sample_size=16, in_channels=4, out_channels=4,
    down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
    cross_attention_dim=32, attention_head_dim=8, norm_num_groups=16,
)
TINY_VAE = dict(
    block_out_channels=(16, 32), in_channels=3, out_channels=3, latent_channels=4, layers_per_block=1,
    down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2, norm_num_groups=8,
    sample_size=32,
)


def _tiny_text_config():
    from transformers import CLIPTextConfig

    return CLIPTextConfig(
        vocab_size=640, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
        max_position_embeddings=77, bos_token_id=627, eos_token_id=628, pad_token_id=628, projection_dim=32,
    )


def build_tiny_base(folder: str | Path, seed: int = 0) -> Path:
    """A complete tiny Stable-Diffusion-shaped model folder (VAE factor 2, 32-wide text encoder)."""
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTokenizer

    folder = Path(folder)
    torch.manual_seed(seed)
    UNet2DConditionModel(**TINY_UNET).save_pretrained(folder / "unet", safe_serialization=True)
    AutoencoderKL(**TINY_VAE).save_pretrained(folder / "vae", safe_serialization=True)
    CLIPTextModel(_tiny_text_config()).save_pretrained(folder / "text_encoder", safe_serialization=True)
    CLIPTokenizer.from_pretrained(TINY_TOKENIZER).save_pretrained(folder / "tokenizer")
    _copy_scheduler_and_index(folder)
    return folder


def build_sd15_shape_base(folder: str | Path, seed: int = 0, tokenizer: str | Path = TINY_TOKENIZER) -> Path:
    """Stable Diffusion 1.5's architecture with random weights (the tokenizer is the tiny one:
    only the text encoder's width matters for cost)."""
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    folder = Path(folder)
    torch.manual_seed(seed)
    UNet2DConditionModel.from_config(UNet2DConditionModel.load_config(SD15_CONFIG / "unet")).save_pretrained(
        folder / "unet", safe_serialization=True
    )
    AutoencoderKL.from_config(AutoencoderKL.load_config(SD15_CONFIG / "vae")).save_pretrained(
        folder / "vae", safe_serialization=True
    )
    text_config = CLIPTextConfig.from_pretrained(SD15_CONFIG / "text_encoder")
    CLIPTextModel(text_config).save_pretrained(folder / "text_encoder", safe_serialization=True)
    CLIPTokenizer.from_pretrained(tokenizer).save_pretrained(folder / "tokenizer")
    _copy_scheduler_and_index(folder)
    return folder


def build_controlnet(base_folder: str | Path, folder: str | Path, *, zero: bool = False, seed: int = 1,
                     global_pool: bool = False) -> Path:
    """A ControlNet copied from the base UNet (`from_unet`); unless `zero`, its zero
    convolutions get small random weights so that it visibly steers."""
    from diffusers import AutoencoderKL, ControlNetModel, UNet2DConditionModel

    unet = UNet2DConditionModel.from_pretrained(base_folder, subfolder="unet", use_safetensors=True)
    vae_blocks = len(AutoencoderKL.load_config(Path(base_folder) / "vae")["block_out_channels"])
    channels = (16, 32, 96, 256)[:vae_blocks]
    net = ControlNetModel.from_unet(unet, conditioning_embedding_out_channels=channels)
    net.register_to_config(global_pool_conditions=global_pool)
    if not zero:
        generator = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            for conv in [*net.controlnet_down_blocks, net.controlnet_mid_block]:
                conv.weight.copy_(torch.randn(conv.weight.shape, generator=generator) * 0.3)
                conv.bias.copy_(torch.randn(conv.bias.shape, generator=generator) * 0.05)
    net.save_pretrained(folder, safe_serialization=True)
    return Path(folder)


def build_sd15_shape_controlnet(folder: str | Path, seed: int = 1) -> Path:
    from diffusers import ControlNetModel

    torch.manual_seed(seed)
    ControlNetModel.from_config(ControlNetModel.load_config(CONTROLNET_SD15_CONFIG)).save_pretrained(
        folder, safe_serialization=True
    )
    return Path(folder)


def _copy_scheduler_and_index(folder: Path) -> None:
    (folder / "scheduler").mkdir(parents=True, exist_ok=True)
    shutil.copy(SD15_CONFIG / "scheduler" / "scheduler_config.json", folder / "scheduler" / "scheduler_config.json")
    index = json.loads((SD15_CONFIG / "model_index.json").read_text(encoding="utf-8"))
    (folder / "model_index.json").write_text(json.dumps(index, indent=2), encoding="utf-8")
