"""T2I-Adapter guidance: the adapter reads the control image once per generation, and its features
are added inside the UNet's down blocks at every step where the condition is active.

Fed as diffusers' StableDiffusionAdapterPipeline and StableDiffusionXLAdapterPipeline feed it: the
image resized to the output size (Lanczos), 0..1, grey for a one-channel adapter (sketch); features
times the weight, the same for the negative and the positive half of classifier-free guidance. A
control mode shapes ControlNet residuals per block and has no meaning here: only the weight counts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from desktop.domain.errors import ArchitectureMismatch

from .components import BaseModel
from .conditioning import Conditioning
from .guidance import ControlInput, Runner, UNetInputs


def is_adapter(network: torch.nn.Module) -> bool:
    from diffusers import T2IAdapter

    return isinstance(network, T2IAdapter)


@dataclass
class AdapterGuidance:
    control: ControlInput
    features: tuple[torch.Tensor, ...]  # scaled by the weight, doubled for CFG

    step_modules = ()  # nothing runs per step: the features were computed once

    @property
    def graph_key(self) -> tuple:
        return ("adapter", len(self.features))

    @classmethod
    def prepare(cls, base: BaseModel, control: ControlInput, width: int, height: int, cfg: bool) -> AdapterGuidance:
        adapter = control.network
        if control.image.dtype != np.uint8:  # an inpaint image (-1 marks masked pixels): no adapter reads one
            raise ArchitectureMismatch("a T2I-Adapter cannot take an inpaint layer; use the inpaint ControlNet")
        pixels = adapter_pixels(control.image, width, height, adapter.config.in_channels)
        features = adapter(pixels.to(device=base.device, dtype=adapter.dtype))
        features = [f * control.weight for f in features]
        if cfg:
            features = [torch.cat([f] * 2) for f in features]
        return cls(control, tuple(f.to(base.dtype) for f in features))

    def at_step(self, step: int, total: int) -> AdapterGuidance | None:
        return self if self.control.active_at(step, total) else None

    def inputs(self, latent_in: torch.Tensor, t: torch.Tensor, conditioning: Conditioning, cfg: bool,
               runner: Runner) -> UNetInputs:
        return UNetInputs(intrablock=self.features)


def adapter_pixels(image: np.ndarray, width: int, height: int, channels: int) -> torch.Tensor:
    """(1, C, H, W) float 0..1, as diffusers' `_preprocess_adapter_image` makes it from a PIL image."""
    picture = Image.fromarray(np.asarray(image, dtype=np.uint8))
    picture = picture.convert("L" if channels == 1 else "RGB").resize((width, height), Image.Resampling.LANCZOS)
    array = np.asarray(picture, dtype=np.float32)[None] / 255.0
    if array.ndim == 3:
        array = array[..., None]
    # (1, H, W, C) seen as (1, C, H, W) without a copy: channels-last strides, as diffusers hands the adapter
    # its input (its first convolution then takes the same kernel path, to the last bit)
    return torch.from_numpy(array).permute(0, 3, 1, 2)
