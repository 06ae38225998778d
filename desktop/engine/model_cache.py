"""Loaded models kept between runs: a new prompt, seed or weight reloads nothing, and
swapping one ControlNet loads only that one. A failed load leaves what was loaded in place."""

from __future__ import annotations

from collections import OrderedDict

from desktop.domain.family import Family

from .components import BaseModel
from .device import DeviceChoice
from .hub import DownloadProgress
from .loading import load_base_model, load_controlnet
from .model_ref import ModelRef, parse_model_ref

MAX_CONTROLNETS = 4


class ModelCache:
    def __init__(self, device: DeviceChoice) -> None:
        self.device = device
        self._base_ref: ModelRef | None = None
        self._base: BaseModel | None = None
        self._nets: OrderedDict[ModelRef, object] = OrderedDict()
        self.loads = 0

    def base(self, reference: str, progress: DownloadProgress | None = None) -> BaseModel:
        ref = parse_model_ref(reference)
        if self._base is None or ref != self._base_ref:
            base = load_base_model(ref, self.device, progress)
            self.loads += 1
            self._base, self._base_ref = base, ref
        return self._base

    def controlnet(self, reference: str, progress: DownloadProgress | None = None, family: Family | None = None):
        """A loaded ControlNet; with `family`, one made for another family is refused before it loads."""
        ref = parse_model_ref(reference)
        if ref in self._nets:
            self._nets.move_to_end(ref)
            return self._nets[ref]
        net = load_controlnet(ref, self.device, progress, family)
        self.loads += 1
        self._nets[ref] = net
        while len(self._nets) > MAX_CONTROLNETS:
            self._nets.popitem(last=False)
        return net

    @property
    def loaded_base(self) -> BaseModel | None:
        return self._base
