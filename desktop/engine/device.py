"""Device and precision policy: CUDA in float16, Apple MPS in float16, CPU in float32."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from desktop.domain.errors import InvalidRecipe

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


@dataclass(frozen=True)
class DeviceChoice:
    device: torch.device
    dtype: torch.dtype

    @property
    def label(self) -> str:
        name = torch.cuda.get_device_name(self.device) if self.device.type == "cuda" else self.device.type
        return f"{name} ({str(self.dtype).removeprefix('torch.')})"


def choose_device(name: str = "auto") -> DeviceChoice:
    """Pick the device for `name`; 'auto' prefers CUDA, then MPS, then the CPU."""
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
    dtype = torch.float32 if name == "cpu" else torch.float16
    return DeviceChoice(torch.device(name), dtype)


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend and backend.is_available())
