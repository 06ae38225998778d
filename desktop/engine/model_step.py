"""One model evaluation: (scaled latents, t, active guidance) -> guided noise.

Why apart from the loop: it is the unit the fast path compiles and captures (#15). Scheduler, previews
and cancel stay in the loop; everything that steers the UNet at a step (ControlNets now, adapters and
image prompts later) and classifier-free guidance happen in here, in diffusers' order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from .conditioning import Conditioning
from .control_guidance import PreparedControl, control_residuals


@dataclass(frozen=True)
class ModelStep:
    unet: torch.nn.Module
    conditioning: Conditioning
    guidance_scale: float
    cfg: bool  # latents arrive doubled (uncond, cond) and the two halves are combined

    def __call__(self, latent_in: torch.Tensor, t: torch.Tensor, controls: Sequence[PreparedControl]) -> torch.Tensor:
        down, mid = control_residuals(list(controls), latent_in, t, self.conditioning, self.cfg)
        noise = self.unet(
            latent_in, t, **self.conditioning.unet_kwargs(),
            down_block_additional_residuals=down, mid_block_additional_residual=mid, return_dict=False,
        )[0]
        if self.cfg:
            uncond, cond = noise.chunk(2)
            noise = uncond + self.guidance_scale * (cond - uncond)
        return noise
