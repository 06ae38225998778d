"""ControlNet guidance: a ControlNet runs at each step where its condition is active, and its residuals,
scaled by the condition's control mode (`control_modes.py`), are added after the UNet's down blocks and
to its middle block, as diffusers' MultiControlNetModel sums them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from .components import BaseModel
from .conditioning import Conditioning
from .control_modes import BlockScaling, block_scaling, residual_heights
from .guidance import ControlInput, Runner, UNetInputs


@dataclass
class ControlNetGuidance:
    """A ControlNet condition ready for the loop: its block scaling and its control image, alone and
    doubled for CFG."""

    control: ControlInput
    scaling: BlockScaling
    image_single: torch.Tensor
    image_both: torch.Tensor

    @property
    def step_modules(self) -> tuple[torch.nn.Module, ...]:
        return (self.control.network,)

    @property
    def graph_key(self) -> tuple:
        return ("controlnet", id(self.control.network), self.scaling.conditional_only)

    @classmethod
    def prepare(cls, base: BaseModel, control: ControlInput, width: int, height: int, cfg: bool,
                latent_h: int) -> ControlNetGuidance:
        """The control image fed as diffusers feeds it (`control_pixels`), alone and doubled for CFG."""
        net = control.network
        heights = residual_heights(latent_h, len(net.config.down_block_types), net.config.layers_per_block)
        scaling = block_scaling(control.mode, control.weight, heights, global_pool=bool(net.config.global_pool_conditions))
        single = control_pixels(base, control.image, width, height, net.dtype)
        both = torch.cat([single] * 2) if cfg else single
        return cls(control, scaling, single, both)

    def at_step(self, step: int, total: int) -> ControlNetGuidance | None:
        return self if self.control.active_at(step, total) else None

    def inputs(self, latent_in: torch.Tensor, t: torch.Tensor, conditioning: Conditioning, cfg: bool,
               runner: Runner) -> UNetInputs:
        """Its residuals at this step, scaled by its mode. A compiled ControlNet is called at scale 1.0 and
        scaled here, so a new weight never changes what was compiled."""
        scaling = self.scaling
        cond_only = scaling.conditional_only and cfg
        sample_in = latent_in[-1:] if cond_only else latent_in
        context = conditioning.conditional_only() if cond_only else conditioning
        image = self.image_single if cond_only else self.image_both
        net = self.control.network
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
        return UNetInputs(down=tuple(d), mid=m)


def control_pixels(base: BaseModel, image: np.ndarray, width: int, height: int, dtype: torch.dtype) -> torch.Tensor:
    """A control image as diffusers' ControlNet pipelines feed it: RGB, 0..1, resized to the output size."""
    from diffusers.image_processor import VaeImageProcessor

    if image.dtype == np.uint8:
        processor = VaeImageProcessor(vae_scale_factor=base.vae_scale_factor, do_convert_rgb=True, do_normalize=False)
        pixels = processor.preprocess(Image.fromarray(image), height=height, width=width)
    else:  # float control images carry values outside 0..1 (inpaint: -1 marks masked pixels)
        pixels = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))[None].float()
        pixels = torch.nn.functional.interpolate(pixels, size=(height, width), mode="nearest")
    return pixels.to(dtype=torch.float32).to(device=base.device, dtype=dtype)
