"""LoRAs baked into the UNet's own weights, for the compiled fast path.

Why: a compiled graph reads a peft adapter's scale as a constant, so every move of a LoRA weight
slider would compile the UNet again (a minute on a CPU). Baked, the graph sees only the layer's weight
tensor: weight = original + sum of each LoRA's delta at its weight, rewritten in place; the graph stays.
The originals are kept (only for layers a LoRA touches) and every bake starts from them, so moving a
slider back and forth never drifts the weights, as subtracting a delta again in half precision would.
It is also faster: a baked LoRA costs nothing per step. The text encoders keep peft's live adapters
(they are not compiled, and run once per prompt).
"""

from __future__ import annotations

import torch


class UnetLoraBake:
    """The LoRA layers of one UNet, baked or plain; `unbake()` before peft changes any adapter."""

    def __init__(self, unet: torch.nn.Module) -> None:
        self._unet = unet
        self._originals: dict[str, torch.Tensor] = {}

    def bake(self) -> bool:
        """Fold every active adapter into its layer's weight; False (nothing changed) for LoRA variants
        peft computes differently (DoRA), which stay live adapters."""
        layers = _lora_layers(self._unet)
        if any(layer.lora_variant for _, layer in layers):
            return False
        with torch.no_grad():
            for name, layer in layers:
                weight = layer.get_base_layer().weight
                original = self._originals.setdefault(name, weight.detach().clone())
                active = [a for a in layer.active_adapters if a in layer.lora_A]
                total = original.float()
                for adapter in active:
                    total = total + layer.get_delta_weight(adapter).float()
                weight.copy_(total.to(weight.dtype))
                layer.merged_adapters = active  # peft's forward now runs the base layer alone
        return True

    def unbake(self) -> None:
        """Put the original weights back and make the adapters live again."""
        with torch.no_grad():
            for name, layer in _lora_layers(self._unet):
                original = self._originals.pop(name, None)
                if original is not None:
                    layer.get_base_layer().weight.copy_(original)
                layer.merged_adapters = []
        self._originals.clear()


def _lora_layers(unet: torch.nn.Module) -> list:
    from peft.tuners.lora import LoraLayer

    return [(name, module) for name, module in unet.named_modules() if isinstance(module, LoraLayer)]
