"""ControlNet guidance: conditions prepared once per generation, and their residuals at a step.

A condition costs nothing at a step where it is inactive; each one's residuals are scaled by its
control mode (`control_modes.py`) and summed, as diffusers' MultiControlNetModel sums them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from desktop.domain.recipe import runs_at

from .components import BaseModel
from .conditioning import Conditioning
from .control_modes import BlockScaling, block_scaling, residual_heights


@dataclass
class ControlInput:
    """One condition, resolved: a loaded ControlNet and its control image (H, W, 3 uint8)."""

    controlnet: torch.nn.Module
    image: np.ndarray
    weight: float = 1.0
    start: float = 0.0
    end: float = 1.0
    mode: str = "balanced"
    enabled: bool = True

    def active_at(self, step: int, total: int) -> bool:
        return runs_at(self.enabled, self.weight, self.start, self.end, step, total)


@dataclass
class PreparedControl:
    """A condition ready for the loop: its block scaling and its control image, alone and doubled for CFG."""

    control: ControlInput
    scaling: BlockScaling
    image_single: torch.Tensor
    image_both: torch.Tensor


def prepare_controls(base: BaseModel, controls: list[ControlInput], width: int, height: int, cfg: bool,
                     latent_h: int) -> list[PreparedControl]:
    """Control images fed as diffusers feeds them (RGB, 0..1, resized to the output size)."""
    from diffusers.image_processor import VaeImageProcessor

    processor = VaeImageProcessor(vae_scale_factor=base.vae_scale_factor, do_convert_rgb=True, do_normalize=False)
    prepared = []
    for control in controls:
        if not control.enabled or control.weight == 0.0:
            continue
        net = control.controlnet
        heights = residual_heights(latent_h, len(net.config.down_block_types), net.config.layers_per_block)
        scaling = block_scaling(control.mode, control.weight, heights, global_pool=bool(net.config.global_pool_conditions))
        if control.image.dtype == np.uint8:
            pixels = processor.preprocess(Image.fromarray(control.image), height=height, width=width)
        else:  # float control images carry values outside 0..1 (inpaint: -1 marks masked pixels)
            pixels = torch.from_numpy(np.ascontiguousarray(control.image.transpose(2, 0, 1)))[None].float()
            pixels = torch.nn.functional.interpolate(pixels, size=(height, width), mode="nearest")
        single = pixels.to(dtype=torch.float32).to(device=base.device, dtype=net.dtype)
        both = torch.cat([single] * 2) if cfg else single
        prepared.append(PreparedControl(control, scaling, single, both))
    return prepared


def _eager(module: torch.nn.Module) -> Callable:
    return module


def control_residuals(controls: list[PreparedControl], latent_in: torch.Tensor, t, conditioning: Conditioning,
                      cfg: bool, runner: Callable[[torch.nn.Module], Callable] = _eager):
    """Sum of the active ControlNets' residuals, each scaled by its mode; None when none is active.

    `runner` gives the callable that runs a ControlNet (its compiled form on the fast path). A compiled
    one is called at scale 1.0 and scaled here, so a new weight never changes what was compiled."""
    down: list[torch.Tensor] | None = None
    mid: torch.Tensor | None = None
    for prepared in controls:
        scaling = prepared.scaling
        cond_only = scaling.conditional_only and cfg
        sample_in = latent_in[-1:] if cond_only else latent_in
        context = conditioning.conditional_only() if cond_only else conditioning
        image = prepared.image_single if cond_only else prepared.image_both
        net = prepared.control.controlnet
        run = runner(net)
        scale_inside = run is net  # eager: exactly diffusers' call (its global-pooling nets scale before pooling)
        d, m = run(
            sample_in, t, **context.unet_kwargs(), controlnet_cond=image,
            conditioning_scale=scaling.conditioning_scale if scale_inside else 1.0, guess_mode=False,
            return_dict=False,
        )
        if not scale_inside and scaling.conditioning_scale != 1.0:
            d = [r * scaling.conditioning_scale for r in d]
            m = m * scaling.conditioning_scale
        if scaling.scales is not None:
            d = [r * s for r, s in zip(d, scaling.scales[:-1])]
            m = m * scaling.scales[-1]
        if cond_only:
            d = [torch.cat([torch.zeros_like(r), r]) for r in d]
            m = torch.cat([torch.zeros_like(m), m])
        if down is None:
            down, mid = list(d), m
        else:
            down = [a + b for a, b in zip(down, d)]
            mid = mid + m
    return down, mid
