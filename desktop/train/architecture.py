"""The built-in demo model's architecture: Stable Diffusion's shape, shrunk for 64 px images.

VAE 64 px -> 16 x 16 x 4 latents (scale factor 4); a 64-wide CLIP text encoder over the tiny
tokenizer; a three-level UNet with cross-attention; ControlNets made from it by `from_unet`.
"""

from __future__ import annotations

DEMO_RESOLUTION = 64

VAE_CONFIG = dict(
    block_out_channels=(16, 32, 32), in_channels=3, out_channels=3, latent_channels=4, layers_per_block=1,
    down_block_types=("DownEncoderBlock2D",) * 3, up_block_types=("UpDecoderBlock2D",) * 3, norm_num_groups=8,
    sample_size=DEMO_RESOLUTION,
)
UNET_CONFIG = dict(
    sample_size=DEMO_RESOLUTION // 4, in_channels=4, out_channels=4, layers_per_block=1,
    block_out_channels=(32, 64, 64),
    down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
    up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
    cross_attention_dim=64, attention_head_dim=4, norm_num_groups=16,
)
TEXT_CONFIG = dict(
    vocab_size=640, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
    max_position_embeddings=77, bos_token_id=627, eos_token_id=628, pad_token_id=628, projection_dim=64,
)
CONTROL_EMBEDDING_CHANNELS = (16, 32, 64)
