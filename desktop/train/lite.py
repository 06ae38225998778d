"""ControlNet-lite (the paper's ablation): the trainable encoder copy replaced by one convolution.

It reads the latent and the control image like a ControlNet, then reaches every UNet block
through pooling and zero convolutions, so it plugs into the same sampler.
"""

from __future__ import annotations

from types import SimpleNamespace

import torch
import torch.nn.functional as F
from torch import nn


class LiteControlNet(nn.Module):
    def __init__(self, in_channels: int, block_out_channels: tuple[int, ...], layers_per_block: int,
                 down_block_types: tuple[str, ...], conditioning_channels: tuple[int, ...]) -> None:
        super().__init__()
        from diffusers.models.controlnets.controlnet import ControlNetConditioningEmbedding

        width = block_out_channels[0]
        self.conv_in = nn.Conv2d(in_channels, width, 3, padding=1)
        self.cond_embedding = ControlNetConditioningEmbedding(width, 3, conditioning_channels)
        self.single = nn.Conv2d(width, width, 3, padding=1)
        self.channels, self.factors = _residual_layout(block_out_channels, layers_per_block)
        self.zero_convs = nn.ModuleList(nn.Conv2d(width, c, 1) for c in self.channels)
        for conv in self.zero_convs:
            nn.init.zeros_(conv.weight)
            nn.init.zeros_(conv.bias)
        self.config = SimpleNamespace(
            down_block_types=tuple(down_block_types), layers_per_block=layers_per_block,
            global_pool_conditions=False, conditioning_embedding_out_channels=tuple(conditioning_channels),
            block_out_channels=tuple(block_out_channels), in_channels=in_channels,
        )

    @classmethod
    def from_unet(cls, unet, conditioning_channels: tuple[int, ...]) -> "LiteControlNet":
        cfg = unet.config
        return cls(cfg.in_channels, tuple(cfg.block_out_channels), cfg.layers_per_block, tuple(cfg.down_block_types),
                   conditioning_channels)

    @property
    def dtype(self) -> torch.dtype:
        return self.conv_in.weight.dtype

    def forward(self, sample, timestep, encoder_hidden_states=None, controlnet_cond=None, conditioning_scale=1.0,
                guess_mode=False, return_dict=False):
        features = F.silu(self.single(self.conv_in(sample) + self.cond_embedding(controlnet_cond)))
        residuals = []
        for conv, factor in zip(self.zero_convs, self.factors):
            pooled = F.avg_pool2d(features, factor) if factor > 1 else features
            residuals.append(conv(pooled) * conditioning_scale)
        return residuals[:-1], residuals[-1]


def _residual_layout(blocks: tuple[int, ...], layers_per_block: int) -> tuple[list[int], list[int]]:
    """Channels and downsampling factor of each ControlNet residual, the middle block last."""
    channels, factors, factor = [blocks[0]], [1], 1
    for index, width in enumerate(blocks):
        for _ in range(layers_per_block):
            channels.append(width)
            factors.append(factor)
        if index < len(blocks) - 1:
            factor *= 2
            channels.append(width)
            factors.append(factor)
    channels.append(blocks[-1])
    factors.append(factor)
    return channels, factors
