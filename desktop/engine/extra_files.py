"""Reading the small files a recipe adds to a base model (LoRAs, embeddings, VAE files).

Why one place: each is safetensors only, named when missing or damaged, and known by its
identity on disk (path, size, modification time), so a file rewritten in place loads again while
an unchanged one never does.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import torch

from desktop.domain.errors import ArchitectureMismatch, ModelDamaged, ModelNotFound, ModelRejected, StudioError

from .memory import is_out_of_memory, out_of_memory
from .safetensors_check import read_safetensors_header

FileId = tuple[str, int, int]  # absolute path, size, modification time (ns)
_MISFIT = ("size mismatch", "shape", "missing key", "unexpected key", "not found in the base model", "target modules")
T = TypeVar("T")


def file_id(path: str, what: str) -> FileId:
    """Who the file is now; ModelNotFound naming `what` when it is not there."""
    try:
        stat = os.stat(path)
    except OSError as err:
        raise ModelNotFound(f"{what} not found: {path}") from err
    return os.path.abspath(path), stat.st_size, stat.st_mtime_ns


def read_header(path: str, what: str) -> dict[str, Any]:
    """The tensor table of a .safetensors file (nothing else is opened), read before any weight."""
    if not os.path.isfile(path):
        raise ModelNotFound(f"{what} not found: {path} is not a file")
    if Path(path).suffix.lower() != ".safetensors":
        raise ModelRejected(f"{what} {Path(path).name} is not a .safetensors file; only safetensors weights are loaded")
    return read_safetensors_header(path)


def read_tensors(path: str, what: str) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return explained(f"reading {what} {Path(path).name}", lambda: load_file(path))


def explained(during: str, action: Callable[[], T]) -> T:
    """Run a library loader; its exceptions become one typed sentence (ours pass through)."""
    try:
        return action()
    except StudioError:
        raise
    except Exception as err:  # noqa: BLE001 - diffusers and peft raise many kinds; each is classified here
        if is_out_of_memory(err):
            raise out_of_memory(during, err) from err
        text = str(err)
        if any(s in text.lower() for s in _MISFIT):
            raise ArchitectureMismatch(f"{during}: the weights do not fit the base model", detail=text) from err
        raise ModelDamaged(f"{during}: the file is damaged or not in a known layout", detail=text) from err
