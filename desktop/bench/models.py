"""The models a benchmark runs on: tiny, Stable Diffusion 1.5-shaped (random weights, the same
cost per step as the trained model, no download), or a user's folder."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path


@dataclass
class BenchModels:
    name: str
    base: str
    controlnets: list[str]
    size: int


def prepare_models(choice: str, workdir: Path | None = None, size: int | None = None) -> BenchModels:
    from desktop.engine.synthetic_models import (
        build_controlnet, build_sd15_shape_base, build_sd15_shape_controlnet, build_tiny_base,
    )

    root = Path(workdir or tempfile.mkdtemp(prefix="cns-bench-"))
    if choice == "tiny":
        base = root / "tiny_base"
        if not (base / "unet").exists():
            build_tiny_base(base)
        nets = []
        for k in range(3):
            net = root / f"tiny_controlnet{k}"
            if not (net / "config.json").exists():
                build_controlnet(base, net, seed=k + 1)
            nets.append(str(net))
        return BenchModels("tiny", str(base), nets, size or 64)
    if choice == "sd15-shape":
        base = root / "sd15_base"
        if not (base / "unet").exists():
            build_sd15_shape_base(base)
        net = root / "sd15_controlnet"
        if not (net / "config.json").exists():
            build_sd15_shape_controlnet(net)
        return BenchModels("sd15-shape", str(base), [str(net)] * 3, size or 256)
    path = Path(choice)
    if not path.is_dir():
        raise FileNotFoundError(f"--model must be tiny, sd15-shape or a model folder, got {choice}")
    nets = sorted(str(p) for p in path.glob("controlnet*") if (p / "config.json").exists())
    if not nets:
        raise FileNotFoundError(f"{choice} has no controlnet*/ folder to benchmark with")
    return BenchModels(path.name, str(path), (nets * 3)[:3], size or 512)


@dataclass
class LoadedModels:
    """One loaded set of the bench's models: a base, its three ControlNets, and the fast path (or None)."""

    base: object
    nets: list
    fast: object = None
