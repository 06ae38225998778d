"""Diffusers configs inferred from a file's tensor shapes, starting from the family's bundled config.

Why shapes: a checkpoint carries no config, and fine-tunes, pruned and tiny models differ from the
reference ones in exactly the dimensions their weights fix. Every dimension a weight fixes (widths,
depths, layer counts, channel counts) is read from the file; what no weight shows (activation,
group-norm size, scaling factor) comes from the family's real config. Attention heads follow the
family's rule: SD 1.x has 8 heads per block, SD 2.x and SDXL 64-wide heads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from desktop.domain.errors import ArchitectureMismatch
from desktop.domain.family import Family

from .checkpoint_header import TensorTable

SD1_HEADS = 8
HEAD_WIDTH = 64


@dataclass(frozen=True)
class UNetShape:
    """What a UNet's (or a ControlNet's) weights fix, whatever their key layout."""

    in_channels: int
    channels: tuple[int, ...]  # per level
    layers_per_block: int
    depths: tuple[int | None, ...]  # transformer layers per level; None: the level has no attention
    mid_depth: int | None
    context_dim: int | None
    linear_projection: bool
    add_embedding_in: int | None  # SDXL's text-time embedding input width
    out_channels: int | None = None  # None for a ControlNet


def ldm_unet_shape(table: TensorTable, prefix: str) -> UNetShape:
    """The shape of a UNet in the original layout (`input_blocks`, `middle_block`), under `prefix`."""
    blocks = table.indices(prefix + "input_blocks.")
    downsamplers = [i for i in blocks if f"{prefix}input_blocks.{i}.0.op.weight" in table]
    levels = len(downsamplers) + 1
    layers, rest = divmod(len(blocks) - 1 - len(downsamplers), levels)
    if rest or layers < 1:
        raise ArchitectureMismatch(f"{table.file}: the UNet's {len(blocks)} input blocks form no ladder of levels")
    channels, depths = [], []
    for level in range(levels):
        first = 1 + level * (layers + 1)
        channels.append(table.shape(f"{prefix}input_blocks.{first}.0.out_layers.3.weight")[0])
        depths.append(_depth(table, f"{prefix}input_blocks.{first}.1."))
    out = f"{prefix}out.2.weight"
    label = f"{prefix}label_emb.0.0.weight"
    return _checked(table.file, UNetShape(
        in_channels=table.shape(prefix + "input_blocks.0.0.weight")[1], channels=tuple(channels),
        layers_per_block=layers, depths=tuple(depths), mid_depth=_depth(table, prefix + "middle_block.1."),
        context_dim=_context_dim(table, prefix), linear_projection=_linear(table, prefix),
        add_embedding_in=table.shape(label)[1] if label in table else None,
        out_channels=table.shape(out)[0] if out in table else None,
    ))


def diffusers_unet_shape(table: TensorTable, prefix: str = "") -> UNetShape:
    """The shape of a UNet or ControlNet saved with diffusers' names (`down_blocks`, `mid_block`)."""
    levels = table.indices(prefix + "down_blocks.")
    if not levels:
        raise ArchitectureMismatch(f"{table.file} has no down blocks")
    channels = [table.shape(f"{prefix}down_blocks.{i}.resnets.0.conv2.weight")[0] for i in levels]
    depths = [_depth(table, f"{prefix}down_blocks.{i}.attentions.0.") for i in levels]
    out = f"{prefix}conv_out.weight"
    add = f"{prefix}add_embedding.linear_1.weight"
    return _checked(table.file, UNetShape(
        in_channels=table.shape(prefix + "conv_in.weight")[1], channels=tuple(channels),
        layers_per_block=len(table.indices(f"{prefix}down_blocks.0.resnets.")), depths=tuple(depths),
        mid_depth=_depth(table, prefix + "mid_block.attentions.0."), context_dim=_context_dim(table, prefix),
        linear_projection=_linear(table, prefix), add_embedding_in=table.shape(add)[1] if add in table else None,
        out_channels=table.shape(out)[0] if out in table else None,
    ))


def _checked(file: str, shape: UNetShape) -> UNetShape:
    """diffusers gives the middle block as many transformer layers as the last level has."""
    last = 1 if shape.depths[-1] is None else shape.depths[-1]
    if shape.mid_depth != last:
        raise ArchitectureMismatch(
            f"{file}: the UNet's middle block has {shape.mid_depth or 0} transformer layers and its last level "
            f"{last}; diffusers cannot build that"
        )
    return shape


def structural_family(shape: UNetShape) -> Family:
    """The family by the reference widths (768, 1024, 2048); for other widths (small custom models) by
    structure, as ComfyUI's model detection does: SDXL's add-embedding, SD 2.x's linear projections."""
    known = Family.from_context_dim(shape.context_dim, text_time=shape.add_embedding_in is not None)
    if known is not None:
        return known
    return Family.SD2 if shape.linear_projection else Family.SD1


def unet_like_config(shape: UNetShape, family: Family, base: dict[str, Any], time_embed_dim: int | None) -> dict:
    """`base` (a UNet or ControlNet config) with every dimension `shape` fixes replaced."""
    depths = [1 if depth is None else depth for depth in shape.depths]
    heads: int | list[int] = SD1_HEADS if family is Family.SD1 else [width // HEAD_WIDTH for width in shape.channels]
    config = dict(base)
    config.update(
        in_channels=shape.in_channels, block_out_channels=list(shape.channels), layers_per_block=shape.layers_per_block,
        down_block_types=["DownBlock2D" if d is None else "CrossAttnDownBlock2D" for d in shape.depths],
        transformer_layers_per_block=depths, cross_attention_dim=shape.context_dim,
        use_linear_projection=shape.linear_projection, attention_head_dim=heads, num_attention_heads=None,
        mid_block_type="UNetMidBlock2DCrossAttn", class_embed_type=None, addition_embed_type=None,
        addition_time_embed_dim=None, projection_class_embeddings_input_dim=None,
    )
    if shape.add_embedding_in is not None:
        config.update(
            addition_embed_type="text_time", addition_time_embed_dim=time_embed_dim,
            projection_class_embeddings_input_dim=shape.add_embedding_in,
        )
    return config


def unet_config(shape: UNetShape, family: Family, base: dict[str, Any], *, sample_size: int,
                time_embed_dim: int | None) -> dict:
    """A UNet2DConditionModel config: the shared dimensions plus the up path and the output."""
    config = unet_like_config(shape, family, base, time_embed_dim)
    up = ["UpBlock2D" if depth is None else "CrossAttnUpBlock2D" for depth in reversed(shape.depths)]
    config.update(up_block_types=up, out_channels=shape.out_channels, sample_size=sample_size,
                  reverse_transformer_layers_per_block=None)
    return config


def vae_config(table: TensorTable, prefix: str, base: dict[str, Any], *, sample_size: int) -> dict:
    """An AutoencoderKL config from the original VAE layout (`encoder.down.N.block.M`)."""
    levels = table.indices(prefix + "encoder.down.")
    if not levels:
        raise ArchitectureMismatch(f"{table.file}: its VAE has no encoder levels")
    config = dict(base)
    config.update(
        in_channels=table.shape(prefix + "encoder.conv_in.weight")[1],
        out_channels=table.shape(prefix + "decoder.conv_out.weight")[0],
        latent_channels=table.shape(prefix + "decoder.conv_in.weight")[1],
        block_out_channels=[table.shape(f"{prefix}encoder.down.{i}.block.0.conv2.weight")[0] for i in levels],
        layers_per_block=len(table.indices(f"{prefix}encoder.down.0.block.")),
        down_block_types=["DownEncoderBlock2D"] * len(levels), up_block_types=["UpDecoderBlock2D"] * len(levels),
        sample_size=sample_size,
    )
    return config


def clip_config(table: TensorTable, prefix: str, base: dict[str, Any]) -> dict:
    """A CLIPTextConfig dict for OpenAI CLIP's layout (SD 1.x, SDXL's first encoder), with or
    without the `text_model.` level that older transformers versions did not save."""
    if table.has_prefix(prefix + "text_model."):
        prefix += "text_model."
    vocab, width = table.shape(prefix + "embeddings.token_embedding.weight")
    return _text_config(
        base, width=width, vocab=vocab, positions=table.shape(prefix + "embeddings.position_embedding.weight")[0],
        layers=len(table.indices(prefix + "encoder.layers.")),
        inner=table.shape(prefix + "encoder.layers.0.mlp.fc1.weight")[0], projection=width,
    )


def open_clip_config(table: TensorTable, prefix: str, base: dict[str, Any], *, layers_used: int) -> dict:
    """A CLIPTextConfig dict for OpenCLIP's layout (SD 2.x, SDXL's second encoder)."""
    vocab, width = table.shape(prefix + "token_embedding.weight")
    projection = prefix + "text_projection"
    return _text_config(
        base, width=width, vocab=vocab, positions=table.shape(prefix + "positional_embedding")[0], layers=layers_used,
        inner=table.shape(prefix + "transformer.resblocks.0.mlp.c_fc.weight")[0],
        projection=table.shape(projection)[1] if projection in table else width,
    )


def _text_config(base: dict[str, Any], *, width: int, vocab: int, positions: int, layers: int, inner: int,
                 projection: int) -> dict:
    config = dict(base)
    config.update(
        hidden_size=width, intermediate_size=inner, num_hidden_layers=layers, num_attention_heads=width // HEAD_WIDTH,
        vocab_size=vocab, max_position_embeddings=positions, projection_dim=projection,
    )
    return config


def _depth(table: TensorTable, attention: str) -> int | None:
    """Transformer layers of the attention block at `attention`; None when there is none."""
    if attention + "proj_in.weight" not in table:
        return None
    return len(table.indices(attention + "transformer_blocks."))


def _context_dim(table: TensorTable, prefix: str) -> int | None:
    name = table.first(prefix, "attn2.to_k.weight")
    return table.shape(name)[1] if name else None


def _linear(table: TensorTable, prefix: str) -> bool:
    """SD 2.x and SDXL project into attention with linear layers, SD 1.x with 1x1 convolutions."""
    name = table.first(prefix, "proj_in.weight")
    return name is not None and len(table.shape(name)) == 2
