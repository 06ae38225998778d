"""One model evaluation: (scaled latents, t, active guidance) -> guided noise.

Why apart from the loop: it is the unit the fast path compiles and captures (#15). Scheduler, previews
and cancel stay in the loop; what steers the UNet at a step (every kind of guidance, `guidance.py`) and
classifier-free guidance happen in here, in diffusers' order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch

from .conditioning import Conditioning
from .fast_path import FastPath
from .guidance import Guidance, guidance_inputs


@dataclass(frozen=True)
class ModelStep:
    unet: torch.nn.Module
    conditioning: Conditioning
    guidance_scale: float
    cfg: bool  # latents arrive doubled (uncond, cond) and the two halves are combined
    fast: FastPath | None = field(default=None)  # None: every module runs eagerly

    def runner(self, module: torch.nn.Module) -> Callable:
        return self.fast.runner(module) if self.fast is not None else module

    def __call__(self, latent_in: torch.Tensor, t: torch.Tensor, active: Sequence[Guidance]) -> torch.Tensor:
        if self.fast is not None:
            self.fast.step_begins()
            t = t.to(torch.float32)  # one dtype whatever the scheduler (int or float timesteps): one graph
        extra = guidance_inputs(active, latent_in, t, self.conditioning, self.cfg, self.runner)
        noise = self.runner(self.unet)(
            latent_in, t, **self.conditioning.unet_kwargs(), **extra.unet_kwargs(), return_dict=False,
        )[0]
        if self.fast is not None and self.fast.cuda_graphs and not self.cfg:
            noise = noise.clone()  # a captured graph's output is overwritten by its next replay; the scheduler keeps it
        if self.cfg:
            uncond, cond = noise.chunk(2)
            noise = uncond + self.guidance_scale * (cond - uncond)
        return noise
