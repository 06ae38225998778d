"""Tiny models of each family, built once per test session (shared by the family tests)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from desktop.domain.family import V_PREDICTION, Family
from desktop.engine.synthetic_families import build_tiny_family, build_tiny_family_controlnet


@dataclass(frozen=True)
class FamilyModels:
    sd1: Path
    sd2: Path
    sd2_v: Path
    sdxl: Path
    sd1_net: Path
    sd2_net: Path
    sdxl_net: Path
    sdxl_net2: Path


@pytest.fixture(scope="session")
def family_models(tmp_path_factory) -> FamilyModels:
    root = tmp_path_factory.mktemp("families")
    sd1 = build_tiny_family(root / "sd1", Family.SD1)
    sd2 = build_tiny_family(root / "sd2", Family.SD2, seed=1)
    sd2_v = build_tiny_family(root / "sd2_v", Family.SD2, prediction=V_PREDICTION, seed=2)
    sdxl = build_tiny_family(root / "sdxl", Family.SDXL, seed=3)
    return FamilyModels(
        sd1, sd2, sd2_v, sdxl,
        build_tiny_family_controlnet(sd1, root / "sd1_net"),
        build_tiny_family_controlnet(sd2, root / "sd2_net"),
        build_tiny_family_controlnet(sdxl, root / "sdxl_net", seed=4),
        build_tiny_family_controlnet(sdxl, root / "sdxl_net2", seed=5),
    )
