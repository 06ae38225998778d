"""What each kind of guidance costs per step, beside a plain ControlNet, on Stable Diffusion 1.5-shaped
models with random weights (the cost of a step does not depend on the weights): the UNet alone, with a
ControlNet, with a T2I-Adapter (TencentARC's SD 1.5 full-adapter shape), with a ControlNet confined to a
region, and with an adapter and a ControlNet together. All run in lockstep (`lockstep.py`); an adapter's
one-time pass over the image is timed apart.

`python -m desktop.bench.guidance_costs --size 256 --steps 4 --repeats 2`
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from desktop.engine.device import choose_device
from desktop.engine.model_cache import ModelCache
from desktop.engine.sampler import ControlInput
from desktop.engine.synthetic_models import build_sd15_shape_base, build_sd15_shape_controlnet

from .engine_figures import compare, control_image, ours, step_ms

SD15_ADAPTER = dict(in_channels=3, channels=[320, 640, 1280, 1280], num_res_blocks=2, downscale_factor=8,
                    adapter_type="full_adapter")  # TencentARC/t2iadapter_*_sd15v2


def guidance_costs(size: int, steps: int, repeats: int, workdir: Path) -> dict:
    from diffusers import T2IAdapter

    base_folder, net_folder, adapter_folder = workdir / "base", workdir / "controlnet", workdir / "adapter"
    if not (base_folder / "unet").exists():
        build_sd15_shape_base(base_folder)
        build_sd15_shape_controlnet(net_folder)
        torch.manual_seed(2)
        T2IAdapter(**SD15_ADAPTER).save_pretrained(adapter_folder, safe_serialization=True)
    cache = ModelCache(choose_device("cpu", "float32"))
    base = cache.base(str(base_folder))
    net, adapter = cache.controlnet(str(net_folder)), cache.controlnet(str(adapter_folder))
    image = control_image(size, 0)
    left = np.zeros((size, size), np.float32)
    left[:, : size // 2] = 1.0
    variants = {
        "unet_alone": [],
        "controlnet": [ControlInput(net, image)],
        "t2i_adapter": [ControlInput(adapter, image)],
        "controlnet_in_region": [ControlInput(net, image, region=left)],
        "adapter_and_controlnet": [ControlInput(adapter, image), ControlInput(net, control_image(size, 1))],
    }
    rounds = compare({name: (lambda c=controls: ours(base, c, size, steps)) for name, controls in variants.items()},
                     steps, repeats)
    with torch.inference_mode():
        pixels = torch.rand(1, 3, size, size)
        adapter(pixels)
        started = time.perf_counter()
        adapter(pixels)
        adapter_once_ms = (time.perf_counter() - started) * 1000
    per_step = {name: step_ms(rounds, name) for name in variants}
    return {"size": size, "steps": steps, "repeats": repeats, "step_ms": per_step, "adapter_once_ms": adapter_once_ms,
            "vs_controlnet": {name: ms / per_step["controlnet"] for name, ms in per_step.items()},
            "torch_threads": torch.get_num_threads()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--workdir", type=Path)
    args = parser.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="cns-guidance-costs-"))
    print(json.dumps(guidance_costs(args.size, args.steps, args.repeats, workdir), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
