"""A region per condition: the condition steers only where its mask is white.

Whatever the kind, its part of the UNet's inputs (ControlNet residuals, adapter features) is multiplied by
the mask, averaged down to each part's grid (the grids divide the image evenly). Grey edges fade the
control in and out. The UNet still sees the whole picture, so a condition's effect leaks a little past
its region through the UNet's receptive field (measured in docs/PERFORMANCE.md). As A1111's "effective
region mask" and Krita's regions; diffusers has none (its issue #10799).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from PIL import Image

from .conditioning import Conditioning
from .guidance import Guidance, Runner, UNetInputs


def region_weights(mask: np.ndarray, width: int, height: int) -> np.ndarray | None:
    """A region mask (H, W grey levels, any size) as weights 0..1 at the output size; None when it is white
    everywhere (no region: the condition steers the whole image, exactly as without one)."""
    picture = Image.fromarray(np.asarray(mask, dtype=np.uint8))
    if picture.size != (width, height):
        picture = picture.resize((width, height), Image.Resampling.BILINEAR)
    weights = np.asarray(picture, dtype=np.float32) / 255.0
    return None if bool((weights >= 1.0).all()) else weights


@dataclass
class RegionGuidance:
    """Any guidance, confined to a region."""

    inner: Guidance
    weights: torch.Tensor  # (1, 1, H, W) at the output size
    _at: dict[tuple[int, int], torch.Tensor] = field(default_factory=dict)  # the weights at each grid, shared
    _stepped: dict[int, RegionGuidance] = field(default_factory=dict)

    def at_step(self, step: int, total: int) -> RegionGuidance | None:
        inner = self.inner.at_step(step, total)
        if inner is None or inner is self.inner:
            return None if inner is None else self
        if id(inner) not in self._stepped:  # the same object for each step alike (a Union's pattern of members)
            self._stepped[id(inner)] = RegionGuidance(inner, self.weights, self._at)
        return self._stepped[id(inner)]

    @property
    def control(self):
        return self.inner.control

    @property
    def step_modules(self) -> tuple[torch.nn.Module, ...]:
        return self.inner.step_modules

    @property
    def graph_key(self) -> tuple:
        return self.inner.graph_key

    def inputs(self, latent_in: torch.Tensor, t: torch.Tensor, conditioning: Conditioning, cfg: bool,
               runner: Runner) -> UNetInputs:
        part = self.inner.inputs(latent_in, t, conditioning, cfg, runner)
        return UNetInputs(
            down=None if part.down is None else tuple(self._masked(r) for r in part.down),
            mid=None if part.mid is None else self._masked(part.mid),
            intrablock=None if part.intrablock is None else tuple(self._masked(f) for f in part.intrablock),
        )

    def _masked(self, tensor: torch.Tensor) -> torch.Tensor:
        size = (tensor.shape[-2], tensor.shape[-1])
        if size not in self._at:
            self._at[size] = torch.nn.functional.interpolate(self.weights, size=size, mode="area").to(
                device=tensor.device, dtype=tensor.dtype)
        return tensor * self._at[size]
