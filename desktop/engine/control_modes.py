"""How each control mode scales a ControlNet's residuals, block by block.

A ControlNet returns one residual per UNet down block plus one for the middle block
(13 for SD 1.5). Modes (REFERENCE.md):
- balanced: weight on every block, both CFG halves;
- prompt ("prompt is more important"): block i scaled by 0.825^(n-1-i), both halves;
- control ("ControlNet is more important", guess mode): log-space ramp 0.1 -> 1.0,
  conditional half only;
- cfg-rw (the paper's CFG resolution weighting): block i scaled by 64 / h_i, h_i the
  residual's feature height, conditional half only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

COND_ONLY_MODES = frozenset({"control", "cfg-rw"})


@dataclass(frozen=True)
class BlockScaling:
    """`scales` is None when the weight goes straight into the ControlNet (balanced)."""

    conditioning_scale: float
    scales: tuple[float, ...] | None
    conditional_only: bool


def block_scaling(mode: str, weight: float, block_heights: list[int], *, global_pool: bool = False) -> BlockScaling:
    """Per-block multipliers for one condition; `block_heights` lists residual heights, mid last."""
    count = len(block_heights)
    cond_only = mode in COND_ONLY_MODES or global_pool
    if mode == "balanced":
        return BlockScaling(weight, None, cond_only)
    if mode == "prompt":
        scales = [weight * 0.825 ** (count - 1 - i) for i in range(count)]
    elif mode == "control":
        scales = [weight * float(s) for s in np.logspace(-1, 0, count)]
    elif mode == "cfg-rw":
        scales = [weight * 64.0 / h for h in block_heights]
    else:
        raise ValueError(f"unknown control mode {mode!r}")
    return BlockScaling(1.0, tuple(scales), cond_only)


def residual_heights(latent_height: int, down_block_count: int, layers_per_block: int) -> list[int]:
    """Heights of the residuals a ControlNet returns for a latent of `latent_height` rows."""
    heights = [latent_height]
    height = latent_height
    for block in range(down_block_count):
        heights.extend([height] * layers_per_block)
        if block < down_block_count - 1:
            height = (height + 1) // 2
            heights.append(height)
    heights.append(height)
    return heights
