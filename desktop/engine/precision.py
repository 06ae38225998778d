"""Which floating-point precision a device computes in, decided once, up front.

Why these choices: CUDA and Apple GPUs run half precision at several times float32's speed and
Stable Diffusion was made to run in it; float16 is the default there (bfloat16 can be asked for: the
same speed on recent NVIDIA cards and no overflow). A CPU gains from bfloat16 only when it has native
instructions for it (AVX-512 BF16 or AMX): there a Stable Diffusion step runs about twice as fast; without
them bfloat16 is emulated and slower than float32, so float32 stays.
"""

from __future__ import annotations

from pathlib import Path

import torch

from desktop.domain.app_settings import PRECISION_CHOICES
from desktop.domain.errors import InvalidRecipe

_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
_CPU_BF16_FLAGS = ("avx512_bf16", "amx_bf16")


def cpu_has_native_bf16() -> bool:
    """True when this processor computes bfloat16 in hardware (AVX-512 BF16 or AMX tiles)."""
    probe = getattr(torch.cpu, "_is_avx512_bf16_supported", None)
    amx = getattr(torch.cpu, "_is_amx_tile_supported", None)
    if probe is not None and amx is not None:
        return bool(probe() or amx())
    try:  # an older torch without the probes: the kernel's flags say the same
        flags = Path("/proc/cpuinfo").read_text(encoding="ascii", errors="replace").split()
    except OSError:
        return False
    return any(flag in flags for flag in _CPU_BF16_FLAGS)


def choose_dtype(device_type: str, precision: str = "auto") -> torch.dtype:
    """The dtype for `precision` on a device of `device_type` ("cpu", "cuda", "mps")."""
    if precision not in PRECISION_CHOICES:
        raise InvalidRecipe("precision", f"must be one of {', '.join(PRECISION_CHOICES)}, got {precision!r}")
    if precision != "auto":
        dtype = _DTYPES[precision]
        if device_type == "cpu" and dtype == torch.float16:
            raise InvalidRecipe("precision", "float16 is not supported on the CPU; use bfloat16 or float32")
        return dtype
    if device_type == "cpu":
        return torch.bfloat16 if cpu_has_native_bf16() else torch.float32
    return torch.float16
