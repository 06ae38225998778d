"""What a prompt becomes for the UNet and ControlNets of each family.

SD 1.x and 2.x read one sequence of text embeddings. SDXL adds a pooled embedding of the second
text encoder and six "time ids" (original size, crop top-left, target size) through its
`added_cond_kwargs`. One object carries both, so the sampler has no per-family branches.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch


@dataclass(frozen=True)
class Conditioning:
    """Text conditioning, batched as the sampler runs it (uncond rows first when CFG is on)."""

    embeds: torch.Tensor
    pooled: torch.Tensor | None = None
    time_ids: torch.Tensor | None = None

    def unet_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for a UNet or ControlNet forward call."""
        added = None
        if self.pooled is not None:
            added = {"text_embeds": self.pooled, "time_ids": self.time_ids}
        return {"encoder_hidden_states": self.embeds, "added_cond_kwargs": added}

    def conditional_only(self) -> Conditioning:
        """The last row: the prompt's own conditioning, without the negative one."""
        return Conditioning(
            self.embeds[-1:],
            None if self.pooled is None else self.pooled[-1:],
            None if self.time_ids is None else self.time_ids[-1:],
        )


def sdxl_time_ids(height: int, width: int, rows: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """SDXL's micro-conditioning as A1111 and diffusers send it by default: original size = target
    size = the image's size, no crop."""
    ids = torch.tensor([[height, width, 0, 0, height, width]], dtype=dtype, device=device)
    return ids.repeat(rows, 1)
