"""Shared fixtures: tiny models built once per test run, saved to a temp folder, and loaded
through the same code real models use."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


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
