"""Out-of-memory detection and cleanup: the next run must work after one fails."""

from __future__ import annotations

import gc

import torch

from desktop.domain import heap
from desktop.domain.errors import OutOfMemory

_OOM_TEXTS = ("out of memory", "alloc_failed", "cudnn_status_alloc_failed", "can't allocate memory")
OOM_ADVICE = "lower the image size, use fewer conditions, or close other programs using the GPU"


def is_out_of_memory(error: BaseException) -> bool:
    if isinstance(error, (torch.cuda.OutOfMemoryError, MemoryError)):
        return True
    return isinstance(error, RuntimeError) and any(t in str(error).lower() for t in _OOM_TEXTS)


def release_memory() -> None:
    """Drop what the failed work held: Python garbage (frozen objects too), then the allocators' caches."""
    heap.thaw()
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    mps = getattr(torch, "mps", None)
    if mps is not None and getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        mps.empty_cache()


def out_of_memory(during: str, error: BaseException) -> OutOfMemory:
    """Release memory and build the user-facing error for an OOM that happened `during`."""
    release_memory()
    return OutOfMemory(f"out of memory while {during}: {OOM_ADVICE}", detail=str(error))
