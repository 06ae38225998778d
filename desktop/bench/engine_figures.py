"""Per-step timings of our sampler and of diffusers' pipeline on the same loaded model.

A step's time is the median gap between consecutive step callbacks, so prompt encoding,
setup and VAE decode are left out on both sides. Runs alternate between the variants being
compared, so a busy machine slows both alike.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import numpy as np
import torch
from PIL import Image

from desktop.engine.sampler import ControlInput, SamplerRequest, sample
from desktop.engine.schedulers import make_scheduler


def control_image(size: int, variant: int) -> np.ndarray:
    pixels = np.zeros((size, size, 3), np.uint8)
    pixels[size // 4 + variant : 3 * size // 4, size // 2 - 2 : size // 2 + 2] = 255
    return pixels


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def ours_step_times(base, controls: list[ControlInput], size: int, steps: int, preview_every: int = 0,
                    preview_costs: list[float] | None = None) -> list[float]:
    stamps: list[float] = []

    def on_step(_update) -> None:
        _sync(base.device)
        stamps.append(time.perf_counter())

    request = SamplerRequest(prompt="a red circle on a blue background", seed=1, steps=steps, width=size, height=size,
                             controls=controls, preview_every=preview_every)
    result = sample(base, request, on_step=on_step)
    if preview_costs is not None:
        preview_costs.append(result.preview_seconds / steps)
    return list(np.diff(stamps))


def diffusers_step_times(base, controls: list[ControlInput], size: int, steps: int) -> list[float]:
    from diffusers import StableDiffusionControlNetPipeline
    from diffusers.models.controlnets import MultiControlNetModel

    nets = [c.controlnet for c in controls]
    pipe = StableDiffusionControlNetPipeline(
        vae=base.vae, text_encoder=base.text_encoder, tokenizer=base.tokenizer, unet=base.unet,
        controlnet=nets[0] if len(nets) == 1 else MultiControlNetModel(nets),
        scheduler=make_scheduler("unipc", base.scheduler_config), safety_checker=None, feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.set_progress_bar_config(disable=True)
    stamps: list[float] = []

    def on_step_end(_pipe, _i, _t, kwargs):
        _sync(base.device)
        stamps.append(time.perf_counter())
        return kwargs

    images = [Image.fromarray(c.image) for c in controls]
    pipe("a red circle on a blue background", image=images[0] if len(images) == 1 else images,
         num_inference_steps=steps, height=size, width=size, generator=torch.Generator("cpu").manual_seed(1),
         output_type="latent", callback_on_step_end=on_step_end)
    return list(np.diff(stamps))


def alternate(variants: dict[str, Callable[[], list[float]]], repeats: int) -> dict[str, float]:
    """Median per-step seconds of each variant, over `repeats` interleaved rounds after one warm-up."""
    for run in variants.values():
        run()
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(repeats):
        for name, run in variants.items():
            samples[name].extend(run())
    return {name: statistics.median(values) for name, values in samples.items()}


def engine_figures(base, nets: list, size: int, steps: int, repeats: int) -> dict:
    one = [ControlInput(nets[0], control_image(size, 0))]
    three = [ControlInput(nets[k], control_image(size, k)) for k in range(3)]
    inactive = [
        ControlInput(nets[0], control_image(size, 0)),
        ControlInput(nets[1], control_image(size, 1), weight=0.0),
        ControlInput(nets[2], control_image(size, 2), start=0.0, end=0.01),
    ]
    loop = alternate({
        "ours": lambda: ours_step_times(base, one, size, steps),
        "diffusers": lambda: diffusers_step_times(base, one, size, steps),
    }, repeats)
    preview_costs: list[float] = []
    preview = alternate({
        "off": lambda: ours_step_times(base, one, size, steps, preview_every=0),
        "every_step": lambda: ours_step_times(base, one, size, steps, preview_every=1, preview_costs=preview_costs),
    }, repeats)
    conditions = alternate({
        "1": lambda: ours_step_times(base, one, size, steps),
        "2": lambda: ours_step_times(base, three[:2], size, steps),
        "3": lambda: ours_step_times(base, three, size, steps),
        "3_with_2_inactive": lambda: ours_step_times(base, inactive, size, steps),
    }, repeats)
    return {
        "loop_vs_diffusers": loop["ours"] / loop["diffusers"],
        "ours_step_ms": loop["ours"] * 1000,
        "diffusers_step_ms": loop["diffusers"] * 1000,
        "preview_overhead": preview["every_step"] / preview["off"],
        "preview_cost_ms": statistics.median(preview_costs) * 1000,
        "preview_cost_share": statistics.median(preview_costs) / preview["off"],
        "conditions_1_2_3_ms": {k: v * 1000 for k, v in conditions.items()},
        "inactive_vs_1": conditions["3_with_2_inactive"] / conditions["1"],
    }
