"""A safetensors file's tensor table (names, shapes, dtypes), read without touching the weights.

Why: every fact a single-file loader needs before loading (which model it is, which family, which
diffusers config fits it) is in the names and shapes; deciding from them costs a few kB of reading
and refuses a wrong file before gigabytes are read.
"""

from __future__ import annotations

import re
from pathlib import Path

from desktop.domain.errors import ArchitectureMismatch

from .safetensors_check import read_safetensors_header


class TensorTable:
    """Names and shapes of a file's tensors."""

    def __init__(self, entries: dict[str, dict], file: str = "the file") -> None:
        self._entries = entries
        self.file = file  # the file's name, for messages

    @classmethod
    def read(cls, path: Path) -> TensorTable:
        """The table of `path`; ModelDamaged when the header is unreadable or runs past the file."""
        return cls(read_safetensors_header(path), Path(path).name)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    @property
    def names(self) -> list[str]:
        return list(self._entries)

    def entry(self, name: str) -> dict:
        """The header's record of `name`: dtype, shape, data offsets."""
        self.shape(name)
        return self._entries[name]

    def shape(self, name: str) -> tuple[int, ...]:
        """The shape of `name`; a tensor the file's other weights imply but it lacks is a mismatch."""
        if name not in self._entries:
            raise ArchitectureMismatch(f"{self.file} lacks {name}, which its other weights imply")
        return tuple(self._entries[name]["shape"])

    def under(self, prefix: str) -> list[str]:
        """Every name that starts with `prefix`."""
        return [name for name in self._entries if name.startswith(prefix)]

    def has_prefix(self, prefix: str) -> bool:
        return any(name.startswith(prefix) for name in self._entries)

    def indices(self, prefix: str) -> list[int]:
        """The numbers N of the names `prefix` + "N." ... (blocks, layers), sorted."""
        pattern = re.compile(re.escape(prefix) + r"(\d+)\.")
        return sorted({int(match.group(1)) for name in self._entries if (match := pattern.match(name))})

    def first(self, prefix: str, suffix: str) -> str | None:
        """The first name under `prefix` that ends with `suffix`, in file order."""
        return next((n for n in self._entries if n.startswith(prefix) and n.endswith(suffix)), None)


def describe_content(table: TensorTable) -> str:
    """What a file that is not the expected model looks like, for a refusal ('it looks like a VAE')."""
    names = table.names
    if any(".lora_down" in n or ".lora_A" in n or n.startswith(("lora_unet_", "lora_te")) for n in names):
        return "it looks like a LoRA"
    if any("input_hint_block" in n or n.startswith("controlnet_cond_embedding.") for n in names):
        return "it looks like a ControlNet"
    if any(n.startswith(("adapter.", "body.0.")) for n in names):
        return "it looks like a T2I-Adapter"
    if any(n.startswith(("image_proj.", "ip_adapter.")) for n in names):
        return "it looks like an IP-Adapter"
    if {"emb_params", "clip_l", "clip_g"} & set(names):
        return "it looks like a textual-inversion embedding"
    has_unet = any(n.startswith(("model.diffusion_model.", "down_blocks.", "conv_in.")) for n in names)
    has_vae = any(n.startswith(("encoder.down", "decoder.up", "first_stage_model.", "vae.")) for n in names)
    has_text = any(n.startswith(("text_model.", "cond_stage_model.", "conditioner.", "embeddings.")) for n in names)
    if has_unet and not has_vae and not has_text:
        return "it looks like a UNet alone, without VAE and text encoder"
    if has_vae and not has_unet and not has_text:
        return "it looks like a VAE"
    if has_text and not has_unet:
        return "it looks like a text encoder"
    return "its weights match no known model part"
