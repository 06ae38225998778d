"""LoRAs baked into the UNet's own weights, for the compiled fast path.

Why: a compiled graph reads a peft adapter's scale as a constant, and peft's wrapper layers are part of
the graph, so every move of a LoRA weight slider, and every LoRA added or removed, would compile the
UNet again (minutes on a CPU). Baked, each touched layer's weight = original + the sum of every LoRA's
delta at its weight, and peft's wrapper is swapped out of the UNet for the very layer it wraps: the
compiled graph sees the plain UNet it was made for, only with other numbers in some weights.
The originals are kept (on the CPU: on a GPU they would cost up to a second SDXL UNet's worth of memory)
and every bake starts from them, so moving a slider back and forth never drifts the weights, as
subtracting a delta again in half precision would. A baked LoRA also costs nothing per step.
The text encoders keep peft's live adapters (they are not compiled, and run once per prompt).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch


class UnetLoraBake:
    """The LoRA layers of one UNet, baked or live; peft sees them live (`unbake()` first) to change them."""

    def __init__(self, unet: torch.nn.Module) -> None:
        self._unet = unet
        self._swapped: dict[str, torch.nn.Module] = {}  # qualified name -> the peft layer taken out
        self._originals: dict[str, torch.Tensor] = {}
        self.live = False  # some layer could not be baked (DoRA): the UNet carries live adapters

    @property
    def baked(self) -> bool:
        return bool(self._swapped)

    def bake(self) -> bool:
        """Fold every active adapter into its layer's weight and take peft's layers out; False (nothing
        changed) for LoRA variants peft computes differently (DoRA), which stay live adapters."""
        self.unbake()
        layers = _lora_layers(self._unet)
        self.live = any(layer.lora_variant for _, layer in layers)
        if self.live:
            return False
        with torch.no_grad():
            for name, layer in layers:
                weight = layer.get_base_layer().weight
                original = weight.detach().to("cpu", copy=True)
                total = original.to(weight.device, torch.float32)
                for adapter in (a for a in layer.active_adapters if a in layer.lora_A):
                    total = total + layer.get_delta_weight(adapter).float()
                weight.copy_(total.to(weight.dtype))
                self._originals[name] = original
                self._swap(name, layer.get_base_layer())
                self._swapped[name] = layer
        return True

    def unbake(self) -> None:
        """Put peft's layers back in and the original weights under them."""
        with torch.no_grad():
            for name, layer in self._swapped.items():
                self._swap(name, layer)
                layer.get_base_layer().weight.copy_(self._originals[name])
        self._swapped.clear()
        self._originals.clear()
        self.live = False

    @contextmanager
    def unbaked(self) -> Iterator[None]:
        """The UNet with its own weights for a while (a ControlNet difference file adds them), then baked again."""
        was_baked = bool(self._swapped)
        self.unbake()
        try:
            yield
        finally:
            if was_baked:
                self.bake()

    def _swap(self, name: str, module: torch.nn.Module) -> None:
        parent_name, _, child = name.rpartition(".")
        setattr(self._unet.get_submodule(parent_name) if parent_name else self._unet, child, module)


def _lora_layers(unet: torch.nn.Module) -> list:
    from peft.tuners.lora import LoraLayer

    return [(name, module) for name, module in unet.named_modules() if isinstance(module, LoraLayer)]
