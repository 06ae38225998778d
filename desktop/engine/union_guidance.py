"""ControlNet Union guidance: one network that serves many kinds (xinsir's SDXL Union and ProMax). Every
condition on the same Union model is fed to it together, once per step, as diffusers'
StableDiffusionXLControlNetUnionPipeline feeds it: each image with its control type, the model fusing
them inside. With several images a condition's weight scales its image inside the model, and one that is
inactive at a step (start/end, or weight 0) stays in the call at weight 0, so the others see the same
company throughout, as there; with one image the weight scales the residuals. A step where none is active
runs nothing (diffusers would still run the model, at weight 0 for all). A condition with a region runs
alone (its residuals are masked; the others' are not), so it steers as a one-image call does.
Control modes shape a plain ControlNet's residuals per block and have no meaning here: weights only.

On the fast path no weight reaches a compiled graph as a Python number (each new one would compile
again): one image runs at scale 1.0 and is scaled outside, several take their weights as tensors.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from desktop.domain.errors import ArchitectureMismatch

from .components import BaseModel
from .conditioning import Conditioning
from .control_guidance import control_pixels
from .guidance import ControlInput, Runner, UNetInputs

# Our kinds -> the Union model's own control types (xinsir's order: REFERENCE.md).
UNION_TYPES = {"pose": 0, "depth": 1, "scribble": 2, "softedge": 2, "canny": 3, "lineart": 3, "lines": 3,
               "normal": 4, "seg": 5, "tile": 6, "inpaint": 7}


def is_union(network: torch.nn.Module) -> bool:
    from diffusers import ControlNetUnionModel

    return isinstance(network, ControlNetUnionModel)


def union_type(network: torch.nn.Module, kind: str | None, name: str) -> int:
    """The control type a Union model uses for layers of `kind`; one sentence when it has none."""
    index = UNION_TYPES.get(kind or "")
    count = network.config.num_control_type
    if index is None or index >= count:
        served = sorted(k for k, i in UNION_TYPES.items() if i < count)
        named = f"ControlNet Union {name}" if name else "the ControlNet Union model"
        raise ArchitectureMismatch(f"{named} has no control type for {kind} layers (it serves "
                                   f"{', '.join(served)}); pick another ControlNet for this layer")
    return index


@dataclass
class UnionGuidance:
    """The conditions sharing one Union model, ready for the loop."""

    members: tuple[ControlInput, ...]
    types: tuple[int, ...]
    images_both: tuple[torch.Tensor, ...]  # each doubled for CFG where CFG is on
    type_rows: torch.Tensor  # (rows, num_control_type): every member's type marked, as diffusers marks them
    _steps: dict[tuple[float, ...], UnionStep] = field(default_factory=dict)

    @property
    def control(self) -> ControlInput:
        return self.members[0]

    @property
    def step_modules(self) -> tuple[torch.nn.Module, ...]:
        return (self.control.network,)

    @property
    def graph_key(self) -> tuple:
        return ("union", id(self.control.network), self.types)

    @classmethod
    def prepare(cls, base: BaseModel, members: list[ControlInput], width: int, height: int,
                cfg: bool) -> UnionGuidance:
        net = members[0].network
        types = tuple(union_type(net, m.kind, "") for m in members)
        images = []
        for member in members:
            single = control_pixels(base, member.image, width, height, net.dtype)
            images.append(torch.cat([single] * 2) if cfg else single)
        marked = torch.zeros(net.config.num_control_type).scatter_(0, torch.tensor(types), 1)
        rows = marked.reshape(1, -1).to(base.device, dtype=base.dtype).repeat(2 if cfg else 1, 1)
        return cls(tuple(members), types, tuple(images), rows)

    def at_step(self, step: int, total: int) -> UnionStep | None:
        scales = tuple(m.weight if m.active_at(step, total) else 0.0 for m in self.members)
        if not any(scales):
            return None
        if scales not in self._steps:
            self._steps[scales] = UnionStep(self, scales)
        return self._steps[scales]


@dataclass(frozen=True, eq=False)
class UnionStep:
    """A Union model's call at steps with one pattern of active members (the same object for each such step)."""

    union: UnionGuidance
    scales: tuple[float, ...]

    @property
    def control(self) -> ControlInput:
        return self.union.control

    @property
    def step_modules(self) -> tuple[torch.nn.Module, ...]:
        return self.union.step_modules

    @property
    def graph_key(self) -> tuple:
        return self.union.graph_key

    def at_step(self, step: int, total: int) -> UnionStep | None:
        return self.union.at_step(step, total)

    def inputs(self, latent_in: torch.Tensor, t: torch.Tensor, conditioning: Conditioning, cfg: bool,
               runner: Runner) -> UNetInputs:
        union = self.union
        net = union.control.network
        run = runner(net)
        scales: list = list(self.scales)
        outside = 1.0
        if run is not net:  # compiled: weights must not be constants of the graph
            if len(scales) == 1:
                scales, outside = [1.0], scales[0]
            else:
                scales = [torch.tensor(s, device=latent_in.device, dtype=latent_in.dtype) for s in scales]
        down, mid = run(
            latent_in, t, **conditioning.unet_kwargs(), controlnet_cond=list(union.images_both),
            control_type=union.type_rows, control_type_idx=list(union.types), conditioning_scale=scales,
            return_dict=False,
        )
        if outside != 1.0:
            down, mid = [r * outside for r in down], mid * outside
        return UNetInputs(down=tuple(down), mid=mid)
