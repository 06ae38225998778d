"""Model references: a hub id, a local diffusers folder, or a single .safetensors file."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from desktop.domain.errors import ModelNotFound, ModelRejected

PICKLE_SUFFIXES = (".ckpt", ".pt", ".pth", ".bin", ".pkl", ".pickle")
_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class ModelRef:
    kind: str  # "hub", "folder" or "file"
    location: str

    def __str__(self) -> str:
        return self.location


def parse_model_ref(text: str) -> ModelRef:
    """Classify a reference; pickles are refused here, before anything opens them."""
    path = Path(text).expanduser()
    if path.suffix.lower() in PICKLE_SUFFIXES:
        raise ModelRejected(
            f"{path.name} is a pickle file ({path.suffix}), which can run code when opened; "
            "use a .safetensors file or a diffusers folder instead"
        )
    if path.is_dir():
        return ModelRef("folder", str(path.resolve()))
    if path.is_file():
        if path.suffix.lower() != ".safetensors":
            raise ModelRejected(f"{path.name} is not a .safetensors file; only safetensors weights are loaded")
        return ModelRef("file", str(path.resolve()))
    if _HUB_ID.match(text) and not text.endswith(".safetensors"):
        return ModelRef("hub", text)
    raise ModelNotFound(f"model not found: {text} is neither a file, a folder nor a hub id (owner/name)")
