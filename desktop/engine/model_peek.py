"""What a base model is, read from its configs or file header without loading any weights.

Why: the default ControlNet for a condition depends on the base model's family, and the models a
recipe will load are named to the user before anything heavy happens.
"""

from __future__ import annotations

from pathlib import Path

from desktop.domain.catalog import DEFAULT_BASE_MODELS
from desktop.domain.family import EPSILON, V_PREDICTION, Family, ModelInfo, native_size

# The catalog's own base models are known before they download (SD 2.1 is the 768 px v-prediction one).
_PREDICTIONS = {Family.SD1: EPSILON, Family.SD2: V_PREDICTION, Family.SDXL: EPSILON}
CATALOG_BASE_INFO = {
    repo: ModelInfo(family, _PREDICTIONS[family], native_size(family, _PREDICTIONS[family]))
    for family, repo in DEFAULT_BASE_MODELS.items()
}

from desktop.hub.downloads import cached_snapshot
from .model_family import info_from_folder
from .model_ref import parse_model_ref


def peek_base_info(reference: str) -> ModelInfo | None:
    """The family of `reference`; None for a hub id not yet in the cache (known once it loads)."""
    ref = parse_model_ref(reference)
    if ref.kind == "file":
        from .checkpoint_inspect import inspect_checkpoint

        return inspect_checkpoint(Path(ref.location)).info
    folder = Path(ref.location) if ref.kind == "folder" else _cached(ref.location)
    if folder is None or not (folder / "unet" / "config.json").is_file():
        return CATALOG_BASE_INFO.get(ref.location) if ref.kind == "hub" else None
    return info_from_folder(folder)


def _cached(repo_id: str) -> Path | None:
    snapshot = cached_snapshot(repo_id)
    return None if snapshot is None else Path(snapshot)
