"""Precision per device, decided up front: float16 on GPUs, bfloat16 on a CPU only where the processor
computes it natively (elsewhere it is emulated and slower than float32)."""

from __future__ import annotations

import pytest
import torch

from desktop.domain.errors import InvalidRecipe
from desktop.engine import precision
from desktop.engine.device import choose_device
from desktop.engine.precision import choose_dtype

from ..conftest import REAL_CPU_BF16_PROBE


@pytest.mark.parametrize("native, expected", [(True, torch.bfloat16), (False, torch.float32)])
def test_auto_on_a_cpu_follows_native_bfloat16(monkeypatch, native, expected):
    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: native)
    assert choose_dtype("cpu") is expected
    assert choose_device("cpu").dtype is expected
    assert choose_device("cpu").label == f"cpu ({str(expected).removeprefix('torch.')})"


def test_auto_on_gpus_is_float16():
    assert choose_dtype("cuda") is torch.float16
    assert choose_dtype("mps") is torch.float16


def test_a_named_precision_wins():
    assert choose_dtype("cpu", "bfloat16") is torch.bfloat16
    assert choose_dtype("cpu", "float32") is torch.float32
    assert choose_dtype("cuda", "bfloat16") is torch.bfloat16
    assert choose_device("cpu", "float32").dtype is torch.float32


def test_float16_on_a_cpu_and_unknown_names_are_refused():
    with pytest.raises(InvalidRecipe, match="float16 is not supported on the CPU"):
        choose_dtype("cpu", "float16")
    with pytest.raises(InvalidRecipe, match="must be one of auto, float32, bfloat16, float16"):
        choose_dtype("cpu", "half")


@pytest.mark.parametrize("flags, expected", [
    ("fpu sse2 avx512f avx512_bf16 avx512_vnni", True),  # AMD Zen 4, Intel Cooper Lake
    ("fpu sse2 avx512f amx_bf16 amx_tile", True),  # Intel Sapphire Rapids
    ("fpu sse2 avx2 avx512f", False),  # AVX-512 without bfloat16: emulated, slower than float32
])
def test_without_torchs_probes_the_processor_flags_decide(monkeypatch, tmp_path, flags, expected):
    monkeypatch.delattr(torch.cpu, "_is_avx512_bf16_supported", raising=False)
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"processor\t: 0\nflags\t\t: {flags}\n")
    monkeypatch.setattr(precision, "Path", lambda _path: cpuinfo)
    assert REAL_CPU_BF16_PROBE() is expected


def test_torchs_probes_decide_when_present(monkeypatch):
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False, raising=False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: True, raising=False)
    assert REAL_CPU_BF16_PROBE() is True
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False, raising=False)
    assert REAL_CPU_BF16_PROBE() is False
