from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

from .tiny_networks import build_depth, build_detector, build_pose, build_seg
from tests.engine.hub_fixtures import connections, hub_cache, hub_online  # noqa: F401 - shared hub fixtures


@dataclass(frozen=True)
class TinyNetworks:
    depth: Path
    seg: Path
    detector: Path
    pose: Path


@pytest.fixture(scope="session")
def tiny_networks(tmp_path_factory) -> TinyNetworks:
    root = tmp_path_factory.mktemp("tiny_networks")
    torch.manual_seed(0)
    return TinyNetworks(build_depth(root / "depth"), build_seg(root / "seg"), build_detector(root / "detector"),
                        build_pose(root / "pose"))


@pytest.fixture()
def photo() -> np.ndarray:
    """A synthetic photo: a grey background, a dark square and a bright diagonal bar."""
    image = np.full((96, 128, 3), 170, np.uint8)
    image[20:70, 20:70] = (40, 60, 90)
    for k in range(80):
        image[10 + k // 2 : 14 + k // 2, 40 + k] = (250, 240, 200)
    return image
