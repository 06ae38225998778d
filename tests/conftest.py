"""Shared fixtures: tiny models built once per test run, saved to a temp folder, and loaded
through the same code real models use."""

from __future__ import annotations

import gc
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

# The user's log, settings, recovery file and model cache are never touched: before anything imports
# the app, every XDG folder (Qt's QStandardPaths reads them too) and the Hugging Face cache point into
# one temp folder for the run, and subprocesses inherit it. Qt's own test mode is not used: on Linux
# it ignores XDG and writes to ~/.qttest in the real home.
ISOLATED = Path(tempfile.mkdtemp(prefix="cnstudio-tests-"))
for _variable in ("XDG_STATE_HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME"):
    os.environ[_variable] = str(ISOLATED / _variable.split("_")[1].lower())
os.environ["HF_HOME"] = str(ISOLATED / "cache" / "huggingface")
os.environ.pop("HF_HUB_CACHE", None)


# Tests compute in float32 on every CPU: "auto" picks bfloat16 only where the processor has native
# bfloat16, so without this the same test would run in another precision on another CI machine.
# The precision policy itself is tested in tests/engine/test_precision.py with the probe set either way.
from desktop.engine import precision as _precision  # noqa: E402

REAL_CPU_BF16_PROBE = _precision.cpu_has_native_bf16
_precision.cpu_has_native_bf16 = lambda: False


def pytest_unconfigure(config) -> None:
    shutil.rmtree(ISOLATED, ignore_errors=True)


@pytest.fixture(scope="session")
def isolated_dirs() -> Path:
    """The run's temp folder that stands in for the user's state, data, config and cache folders."""
    return ISOLATED


@dataclass(frozen=True)
class TinyModels:
    base: Path
    controlnet: Path
    controlnet2: Path
    zero_controlnet: Path
    scribble: Path
    scribble2: Path


def scribble_pixels(size: int = 32, variant: int = 0) -> np.ndarray:
    """White strokes on black, as a user's scribble reaches the model."""
    pixels = np.zeros((size, size, 3), np.uint8)
    if variant == 0:
        pixels[size // 4 : 3 * size // 4, size // 2 - 1 : size // 2 + 1] = 255
        pixels[size // 2 - 1 : size // 2 + 1, size // 4 : 3 * size // 4] = 255
    else:
        for k in range(size):
            pixels[k, max(0, k - 1) : k + 1] = 255
    return pixels


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> TinyModels:
    from desktop.engine.synthetic_models import build_controlnet, build_tiny_base

    root = tmp_path_factory.mktemp("tiny_models")
    base = build_tiny_base(root / "base")
    scribble, scribble2 = root / "scribble.png", root / "scribble2.png"
    Image.fromarray(scribble_pixels(32, 0)).save(scribble)
    Image.fromarray(scribble_pixels(32, 1)).save(scribble2)
    return TinyModels(
        base=base,
        controlnet=build_controlnet(base, root / "controlnet", seed=1),
        controlnet2=build_controlnet(base, root / "controlnet2", seed=2),
        zero_controlnet=build_controlnet(base, root / "controlnet_zero", zero=True),
        scribble=scribble,
        scribble2=scribble2,
    )


@pytest.fixture(scope="session")
def cpu_cache(tiny_models):
    """One model cache for the session: loading is tested on its own, sampling reuses it."""
    from desktop.engine.device import choose_device
    from desktop.engine.model_cache import ModelCache

    return ModelCache(choose_device("cpu"))


@pytest.fixture(autouse=True)
def _thaw_the_heap():
    """Model loads freeze the heap (desktop/domain/heap.py); a test's cyclic garbage must not outlive it."""
    yield
    gc.unfreeze()
