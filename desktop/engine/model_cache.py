"""Loaded models kept between runs: a new prompt, seed or weight reloads nothing, and
swapping one ControlNet loads only that one. A failed load leaves what was loaded in place.
LoRAs, embeddings and a VAE override are applied onto the loaded base (its own VAE remembered),
so changing them never reloads the base. With a fast path, models are laid out for it as they load and
its compiled graphs are dropped with the models they were made for."""

from __future__ import annotations

from collections import OrderedDict
from contextlib import nullcontext

from desktop.domain import heap
from desktop.domain.errors import OutOfMemory
from desktop.domain.family import Family
from desktop.domain.model_extras import ModelExtras

from .components import BaseModel
from .device import DeviceChoice
from .extras import AppliedExtras
from .fast_path import FastPath, FastPathOptions
from desktop.hub.downloads import DownloadProgress
from .loading import load_base_model, load_controlnet
from .memory import release_memory
from .model_ref import ModelRef, parse_model_ref
from .safetensors_check import is_difference_file

MAX_CONTROLNETS = 4


class ModelCache:
    def __init__(self, device: DeviceChoice, fast: FastPathOptions | None = None) -> None:
        self.device = device
        self.fast = FastPath(device.device, fast) if fast is not None else None  # None: plain eager, as diffusers
        self._base_ref: ModelRef | None = None
        self._base: BaseModel | None = None
        self._applied: AppliedExtras | None = None
        self._nets: OrderedDict[tuple[ModelRef, ModelRef | None], object] = OrderedDict()
        self.loads = 0

    def base(self, reference: str, progress: DownloadProgress | None = None) -> BaseModel:
        ref = parse_model_ref(reference)
        if self._base is None or ref != self._base_ref:
            try:
                base = load_base_model(ref, self.device, progress)
            except OutOfMemory:
                if self._base is None:
                    raise
                self._forget_all()  # the model in use held the memory the new one needs: free it, try once more
                base = load_base_model(ref, self.device, progress)
            self.loads += 1
            if self.fast is not None:
                self.fast.forget()  # graphs of the previous base model
                for module in (base.unet, base.vae):
                    self.fast.adopt(module)
            replaced = self._base is not None
            self._base, self._base_ref = base, ref
            self._applied = AppliedExtras(base, self.device,
                                          bake_loras=self.fast is not None and self.fast.compiles_module(base.unet))
            heap.settle(full=replaced)  # the model lives on: out of the collector's walks (short UI pauses)
        return self._base

    def apply_extras(self, extras: ModelExtras) -> tuple[str, str]:
        """Bring the loaded base to `extras`' LoRAs, embeddings and VAE; returns the prompt and negative
        prompt to encode (LoRA tags cut out, multi-vector embedding tokens spelled out)."""
        if self._applied is None:
            raise RuntimeError("apply_extras runs after base(): no base model is loaded")
        try:
            return self._applied.apply(extras)
        finally:
            if self.fast is not None:
                self.fast.adopt(self._base.vae)  # a VAE override, laid out like the base's own
                self.fast.weights_change(self._base.unet, self._applied.loras.baked_into_unet)
                live = self._applied.loras.live_in_unet
                self.fast.hold_eager(self._base.unet, "a LoRA here is a kind the fast path cannot fold into the "
                                     "model (DoRA): the model runs uncompiled while it is applied" if live else None)

    @property
    def applied(self) -> AppliedExtras | None:
        """What is applied to the loaded base (its LoRAs, embeddings and own VAE)."""
        return self._applied

    def controlnet(self, reference: str, progress: DownloadProgress | None = None, family: Family | None = None):
        """A loaded ControlNet; with `family`, one made for another family is refused before it loads.

        A ControlNet 1.0 "difference" file is made from the loaded base's weights: it is kept per base model."""
        ref = parse_model_ref(reference)
        key = (ref, self._base_ref if ref.kind == "file" and is_difference_file(ref.location) else None)
        if key in self._nets:
            self._nets.move_to_end(key)
            return self._nets[key]
        base_unet = self._base.unet if self._base is not None else None
        difference = key[1] is not None
        with self._applied.loras.unet_unbaked() if difference and self._applied is not None else nullcontext():
            net = load_controlnet(ref, self.device, progress, family, base_unet)  # a difference file adds the base's own weights
        self.loads += 1
        if self.fast is not None:
            self.fast.adopt(net)
        self._nets[key] = net
        dropped_any = len(self._nets) > MAX_CONTROLNETS
        while len(self._nets) > MAX_CONTROLNETS:
            _, dropped = self._nets.popitem(last=False)
            if self.fast is not None:
                self.fast.forget_module(dropped)
        heap.settle(full=dropped_any)
        return net

    def close(self) -> None:
        """Let go of every model now (a new precision or compile setting loads them again)."""
        self._forget_all()

    def _forget_all(self) -> None:
        self._base = self._base_ref = self._applied = None
        self._nets.clear()
        if self.fast is not None:
            self.fast.forget()
        release_memory()

