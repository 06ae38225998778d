"""One model evaluation: (scaled latents, t, active guidance) -> guided noise.

Why apart from the loop: it is the unit the fast path compiles and captures (#15). Scheduler, previews
and cancel stay in the loop; everything that steers the UNet at a step (ControlNets now, adapters and
image prompts later) and classifier-free guidance happen in here, in diffusers' order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch

from .conditioning import Conditioning
from .control_guidance import PreparedControl, control_residuals
from .fast_path import FastPath


@dataclass(frozen=True)
class ModelStep:
    unet: torch.nn.Module
    conditioning: Conditioning
    guidance_scale: float
    cfg: bool  # latents arrive doubled (uncond, cond) and the two halves are combined
    fast: FastPath | None = field(default=None)  # None: every module runs eagerly

    def runner(self, module: torch.nn.Module) -> Callable:
        return self.fast.runner(module) if self.fast is not None else module

    def __call__(self, latent_in: torch.Tensor, t: torch.Tensor, controls: Sequence[PreparedControl]) -> torch.Tensor:
        if self.fast is not None:
            self.fast.step_begins()
            t = t.to(torch.float32)  # one dtype whatever the scheduler (int or float timesteps): one graph
        down, mid = control_residuals(list(controls), latent_in, t, self.conditioning, self.cfg, self.runner)
        noise = self.runner(self.unet)(
            latent_in, t, **self.conditioning.unet_kwargs(),
            down_block_additional_residuals=down, mid_block_additional_residual=mid, return_dict=False,
        )[0]
        if self.fast is not None and self.fast.cuda_graphs and not self.cfg:
            noise = noise.clone()  # a captured graph's output is overwritten by its next replay; the scheduler keeps it
        if self.cfg:
            uncond, cond = noise.chunk(2)
            noise = uncond + self.guidance_scale * (cond - uncond)
        return noise
