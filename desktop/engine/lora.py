"""LoRAs on a loaded base model: one peft adapter per file, through diffusers' own loaders.

Why this shape: base weights are the expensive part and never change here. A LoRA's small file
loads once into the UNet and text encoder(s) as its own adapter (`load_lora_weights`, kohya and
diffusers formats alike); a new weight is `set_adapters`; a LoRA taken out of the recipe is deleted
from the modules, and with none left the modules are restored to their plain layers. Another
family's LoRA is refused from its header before anything is injected.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

from desktop.domain.errors import StudioError
from desktop.domain.model_extras import LoraChoice

from .components import BaseModel
from .extra_files import FileId, explained, file_id, read_header, read_tensors
from .lora_bake import UnetLoraBake
from .lora_layout import check_lora_fits, lora_layout
from .pipeline_view import diffusers_view


@dataclass(frozen=True)
class _Adapter:
    name: str  # the peft adapter name
    text: bool  # it changes the text encoder(s), so prompt embeddings depend on its weight


class LoraSet:
    """The LoRAs loaded into one base model's modules."""

    def __init__(self, base: BaseModel, bake_unet: bool = False) -> None:
        self._base = base
        self._bake = UnetLoraBake(base.unet) if bake_unet else None  # the compiled fast path: weights baked in
        self._loaded: dict[FileId, _Adapter] = {}
        self._weights: dict[FileId, float] = {}
        self.file_loads = 0  # LoRA files read so far: a weight change or a removal reads none

    def apply(self, choices: Sequence[LoraChoice]) -> None:
        """Make the loaded adapters and their weights exactly `choices`."""
        wanted = {file_id(choice.path, "LoRA"): choice for choice in choices}
        new = {key: choice for key, choice in wanted.items() if key not in self._loaded}
        for key, choice in new.items():  # every new file is checked before any model changes
            name = Path(choice.path).name
            check_lora_fits(name, lora_layout(name, read_header(choice.path, "LoRA")), self._base)
        if not new and self._weights == {key: choice.weight for key, choice in wanted.items()}:
            return
        view = diffusers_view(self._base)
        if self._bake is not None:
            self._bake.unbake()  # peft changes its own layers, on the original weights
        for key in [key for key in self._loaded if key not in wanted]:
            view.delete_adapters(self._loaded.pop(key).name)
        try:
            for key, choice in new.items():
                self._loaded[key] = self._load(view, key, choice.path)
        finally:  # whatever loaded is active at its weight, so the modules always match `text_key`
            self._weights = {key: wanted[key].weight for key in self._loaded}
            if self._loaded:
                view.set_adapters([adapter.name for adapter in self._loaded.values()], list(self._weights.values()))
            else:
                view.unload_lora_weights()  # the last one went: plain layers again, not empty adapter wrappers
            if self._bake is not None and self._loaded:
                self._bake.bake()

    def unet_unbaked(self):
        """A context in which the UNet holds its own weights (a no-op unless LoRAs are baked)."""
        return self._bake.unbaked() if self._bake is not None else nullcontext()

    @property
    def baked_into_unet(self) -> bool:
        """The UNet's weights hold LoRA deltas now (rewritten in place whenever a LoRA changes)."""
        return self._bake is not None and self._bake.baked

    @property
    def live_in_unet(self) -> bool:
        """LoRAs the fast path could not bake (DoRA) run as live adapters in the UNet."""
        return self._bake is not None and self._bake.live

    def text_key(self) -> tuple:
        """What the LoRAs change in text encoding: each text-encoder adapter with its weight."""
        return tuple(("lora", adapter.name, self._weights[key])
                     for key, adapter in self._loaded.items() if adapter.text)

    def _load(self, view, key: FileId, path: str) -> _Adapter:
        name = "lora_" + hashlib.sha1(repr(key).encode()).hexdigest()[:16]  # peft names cannot hold dots
        tensors = read_tensors(path, "LoRA")
        try:
            with warnings.catch_warnings():  # peft warns of a second adapter: one per file is the design here
                warnings.filterwarnings("ignore", message="Already found a `peft_config` attribute")
                explained(f"loading LoRA {Path(path).name}", lambda: view.load_lora_weights(tensors, adapter_name=name))
        except StudioError:
            if any(name in names for names in view.get_list_adapters().values()):
                view.delete_adapters(name)  # half injected (the UNet took it, a text encoder did not)
            raise
        self.file_loads += 1
        lists = view.get_list_adapters()
        return _Adapter(name, any(name in names for part, names in lists.items() if part.startswith("text_encoder")))
