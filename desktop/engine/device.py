"""Device policy: CUDA, then Apple MPS, then the CPU; each in the precision `precision.py` picks."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from desktop.domain.errors import InvalidRecipe

from .precision import choose_dtype

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


@dataclass(frozen=True)
class DeviceChoice:
    device: torch.device
    dtype: torch.dtype

    @property
    def label(self) -> str:
        name = torch.cuda.get_device_name(self.device) if self.device.type == "cuda" else self.device.type
        return f"{name} ({str(self.dtype).removeprefix('torch.')})"


def choose_device(name: str = "auto", precision: str = "auto") -> DeviceChoice:
    """Pick the device for `name` ('auto' prefers CUDA, then MPS, then the CPU) and its dtype."""
    if name not in DEVICE_CHOICES:
        raise InvalidRecipe("device", f"must be one of {', '.join(DEVICE_CHOICES)}, got {name!r}")
    if name == "auto":
        if torch.cuda.is_available():
            name = "cuda"
        elif _mps_available():
            name = "mps"
        else:
            name = "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise InvalidRecipe("device", "CUDA was asked for but no CUDA GPU is available")
    if name == "mps" and not _mps_available():
        raise InvalidRecipe("device", "MPS was asked for but Apple's Metal backend is not available")
    return DeviceChoice(torch.device(name), choose_dtype(name, precision))


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend and backend.is_available())
