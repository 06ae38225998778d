"""Guidance: what steers the UNet beside the prompt, in one shape for every kind.

A condition names a network and an image; the network's kind decides how it steers. Each kind is
prepared once per generation (a ControlNet's image as a tensor; a T2I-Adapter's features, computed
then and never again; a Union model's images together), says what runs at a step, and adds its part
to the UNet's inputs. The
loop sums the parts of the active ones and knows no kind: a kind added later (image prompts) is a new
implementation here, not a branch in the sampler. An inactive condition costs nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import torch

from desktop.domain.recipe import runs_at

from .components import BaseModel
from .conditioning import Conditioning


@dataclass
class ControlInput:
    """One condition, resolved: a loaded network (ControlNet or T2I-Adapter) and its control image
    (H, W, 3 uint8; float for inpainting's -1 marks)."""

    network: torch.nn.Module
    image: np.ndarray
    weight: float = 1.0
    start: float = 0.0
    end: float = 1.0
    mode: str = "balanced"
    enabled: bool = True
    region: np.ndarray | None = None  # (H, W) weights 0..1 at the output size: where it steers (None: everywhere)
    kind: str | None = None  # the layer's kind (scribble, pose, ...): which control type a Union model uses

    def active_at(self, step: int, total: int) -> bool:
        return runs_at(self.enabled, self.weight, self.start, self.end, step, total)


@dataclass(frozen=True)
class UNetInputs:
    """What guidance adds to one UNet call: residuals after each down block and the middle one
    (ControlNets), and features added inside the down blocks (T2I-Adapters)."""

    down: tuple[torch.Tensor, ...] | None = None
    mid: torch.Tensor | None = None
    intrablock: tuple[torch.Tensor, ...] | None = None

    def __add__(self, other: UNetInputs) -> UNetInputs:
        return UNetInputs(_sum(self.down, other.down), _sum_one(self.mid, other.mid),
                          _sum(self.intrablock, other.intrablock))

    def unet_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of diffusers' UNet call. Its intrablock list is consumed as the UNet runs
        (it pops from it): each call gets a list of its own."""
        return {
            "down_block_additional_residuals": list(self.down) if self.down is not None else None,
            "mid_block_additional_residual": self.mid,
            "down_intrablock_additional_residuals": list(self.intrablock) if self.intrablock is not None else None,
        }


def _sum(a: tuple[torch.Tensor, ...] | None, b: tuple[torch.Tensor, ...] | None) -> tuple[torch.Tensor, ...] | None:
    if a is None or b is None:
        return a if b is None else b
    return tuple(x + y for x, y in zip(a, b, strict=True))


def _sum_one(a: torch.Tensor | None, b: torch.Tensor | None) -> torch.Tensor | None:
    if a is None or b is None:
        return a if b is None else b
    return a + b


Runner = Callable[[torch.nn.Module], Callable]  # a module -> what runs it (its compiled form on the fast path)


class Guidance(Protocol):
    """One prepared condition of any kind."""

    control: ControlInput

    def at_step(self, step: int, total: int) -> Guidance | None:
        """What runs at this step: None where it is inactive (it costs nothing there); itself, or for a
        kind whose call changes with the step (a Union model's weights) the same object at each step alike."""

    @property
    def step_modules(self) -> tuple[torch.nn.Module, ...]:
        """The networks it runs at each active step (compiled on the fast path); none when its part was
        computed once."""

    @property
    def graph_key(self) -> tuple:
        """What about it changes the shape of a step's graphs (a compile is announced once per key)."""

    def inputs(self, latent_in: torch.Tensor, t: torch.Tensor, conditioning: Conditioning, cfg: bool,
               runner: Runner) -> UNetInputs:
        """Its part of the UNet's inputs at this step (called only where it is active)."""


def prepare_guidance(base: BaseModel, controls: Sequence[ControlInput], width: int, height: int, cfg: bool,
                     latent_h: int) -> list[Guidance]:
    """Each enabled condition of non-zero weight, prepared by its network's kind. The conditions on one Union
    model form one guidance (one call per step), except those with a region: each of those runs alone."""
    from .adapter_guidance import AdapterGuidance, is_adapter
    from .control_guidance import ControlNetGuidance
    from .region_guidance import RegionGuidance
    from .union_guidance import UnionGuidance, is_union

    # A Union condition at weight 0 stays in its model's call (at weight 0), as diffusers keeps it; other
    # kinds at weight 0 cost nothing.
    running = [c for c in controls if c.enabled and (c.weight != 0.0 or is_union(c.network))]
    unions: dict[int, list[ControlInput]] = {}
    for control in running:
        if is_union(control.network) and control.region is None:
            unions.setdefault(id(control.network), []).append(control)
    prepared: list[Guidance] = []
    for control in running:
        if is_union(control.network):
            members = [control] if control.region is not None else unions.pop(id(control.network), [])
            if not members:
                continue  # prepared with the first condition on its model
            guidance: Guidance = UnionGuidance.prepare(base, members, width, height, cfg)
        elif is_adapter(control.network):
            guidance = AdapterGuidance.prepare(base, control, width, height, cfg)
        else:
            guidance = ControlNetGuidance.prepare(base, control, width, height, cfg, latent_h)
        if control.region is not None:
            weights = torch.from_numpy(np.ascontiguousarray(control.region, dtype=np.float32))[None, None]
            guidance = RegionGuidance(guidance, weights.to(base.device))
        prepared.append(guidance)
    return prepared


def guidance_inputs(active: Sequence[Guidance], latent_in: torch.Tensor, t: torch.Tensor, conditioning: Conditioning,
                    cfg: bool, runner: Runner) -> UNetInputs:
    """The sum of the active conditions' parts; empty (the UNet alone) when none is active."""
    total = UNetInputs()
    for guidance in active:
        total = total + guidance.inputs(latent_in, t, conditioning, cfg, runner)
    return total
