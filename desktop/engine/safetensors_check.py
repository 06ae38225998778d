"""Check a .safetensors file's header before loading, so damage is named, not a traceback."""

from __future__ import annotations

import json
import struct
from pathlib import Path

from desktop.domain.errors import ModelDamaged, ModelRejected

_MAX_HEADER = 100 * 1024 * 1024


def read_safetensors_header(path: str | Path) -> dict:
    """Return the header's tensor table; raise ModelDamaged if the file cannot hold it."""
    path = Path(path)
    size = path.stat().st_size
    damaged = f"model file is damaged: {path.name}"
    with path.open("rb") as handle:
        prefix = handle.read(8)
        if len(prefix) < 8:
            raise ModelDamaged(damaged, detail="shorter than the 8-byte header length")
        (header_len,) = struct.unpack("<Q", prefix)
        if header_len > min(_MAX_HEADER, size - 8):
            raise ModelDamaged(damaged, detail=f"header length {header_len} past the end ({size} bytes)")
        try:
            header = json.loads(handle.read(header_len))
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise ModelDamaged(damaged, detail=f"header is not JSON: {err}") from err
    if not isinstance(header, dict):
        raise ModelDamaged(damaged, detail="header is not a table")
    data_size = size - 8 - header_len
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        offsets = entry.get("data_offsets") if isinstance(entry, dict) else None
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(type(o) is int for o in offsets)
                and 0 <= offsets[0] <= offsets[1] <= data_size):
            raise ModelDamaged(damaged, detail=f"tensor {name} lies past the end of the file")
    return {k: v for k, v in header.items() if k != "__metadata__"}


def check_folder_weights(folder: Path) -> None:
    """Each weights folder must hold safetensors; a folder of pickles only is refused."""

    tensors = sorted(folder.glob("*.safetensors"))
    if not tensors:
        pickles = [p.name for p in folder.iterdir() if p.suffix in (".bin", ".ckpt", ".pt", ".pth")]
        if pickles:
            raise ModelRejected(
                f"{folder} holds only pickle weights ({pickles[0]}), which are never opened; "
                "convert it to safetensors"
            )
        raise ModelDamaged(f"model file is damaged: {folder} has no weights file")
    for file in tensors:
        read_safetensors_header(file)


def weights_variant(folder: Path) -> str | None:
    """'fp16' when a weights folder holds only fp16-variant files (`model.fp16.safetensors`, or sharded
    `model.fp16-00001-of-00002.safetensors`), as hub repositories with only that variant do."""
    names = [p.name for p in folder.glob("*.safetensors")]
    return "fp16" if names and all(".fp16." in n or ".fp16-" in n for n in names) else None


def is_difference_file(path: str | Path) -> bool:
    """A ControlNet 1.0 "diff" file (a `difference` key): its weights are added to a base model's."""
    try:
        return "difference" in read_safetensors_header(path)
    except (ModelDamaged, OSError):
        return False  # loading it says what is wrong
