"""Per-step timings of our sampler and of diffusers' pipeline on the same loaded model.

The generations compared run in lockstep (`lockstep.py`): one step each in turn, so both sides
sample the machine at the same moments. A ratio is the median, over every step of every round,
of the two sides' times for that step; prompt encoding, setup, the first step and the VAE
decode are left out on both sides.
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

from .lockstep import Generation, StepHook, lockstep
from .models import LoadedModels

PROMPT = "a red circle on a blue background"


def control_image(size: int, variant: int) -> np.ndarray:
    pixels = np.zeros((size, size, 3), np.uint8)
    pixels[size // 4 + variant : 3 * size // 4, size // 2 - 2 : size // 2 + 2] = 255
    return pixels


def _synced(device: torch.device, hook: StepHook) -> StepHook:
    def step_done() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize()
        hook()
    return step_done


def ours(base, controls: list[ControlInput], size: int, steps: int, preview_every: int = 0,
         preview_costs: list[float] | None = None, fast=None) -> Generation:
    """Our sampler; with `fast` (a FastPath), on the fast path."""
    def run(hook: StepHook) -> None:
        step_done = _synced(base.device, hook)
        outside = 0.0  # time in the hook (device sync, other generations' turns): not the previewer's

        def on_step(_update) -> None:
            nonlocal outside
            mark = time.perf_counter()
            step_done()
            outside += time.perf_counter() - mark

        request = SamplerRequest(prompt=PROMPT, seed=1, steps=steps, width=size, height=size, controls=controls,
                                 preview_every=preview_every)
        result = sample(base, request, on_step=on_step, fast=fast)
        if preview_costs is not None:
            preview_costs.append((result.preview_seconds - outside) / steps)
    return run


def diffusers_pipeline(base, controls: list[ControlInput], size: int, steps: int, compiled: bool = False) -> Generation:
    """diffusers' own ControlNet pipeline on the same loaded modules; `compiled`: its UNet and ControlNet
    under torch.compile as diffusers' docs suggest (a fresh wrapper each time: dynamo's cache keeps the code)."""
    from diffusers import StableDiffusionControlNetPipeline
    from diffusers.models.controlnets import MultiControlNetModel

    nets = [c.network for c in controls]
    unet = base.unet
    if compiled:
        mode = "reduce-overhead" if base.device.type == "cuda" else None
        unet = torch.compile(unet, mode=mode)
        nets = [torch.compile(net, mode=mode) for net in nets]
    pipe = StableDiffusionControlNetPipeline(
        vae=base.vae, text_encoder=base.text_encoder, tokenizer=base.tokenizer, unet=unet,
        controlnet=nets[0] if len(nets) == 1 else MultiControlNetModel(nets),
        scheduler=make_scheduler("unipc", base.scheduler_config), safety_checker=None, feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.set_progress_bar_config(disable=True)
    images = [Image.fromarray(c.image) for c in controls]

    def run(hook: StepHook) -> None:
        step_done = _synced(base.device, hook)

        def on_step_end(_pipe, _i, _t, kwargs):
            step_done()
            return kwargs

        pipe(PROMPT, image=images[0] if len(images) == 1 else images, num_inference_steps=steps, height=size,
             width=size, generator=torch.Generator("cpu").manual_seed(1), output_type="latent",
             callback_on_step_end=on_step_end)
    return run


def compare(make: dict[str, Callable[[], Generation]], steps: int, repeats: int) -> dict[str, list[list[float]]]:
    """Each variant's step times in each of `repeats` lockstep rounds, after a warm-up round.

    Inference mode is held around the whole round: the generations interleave, so their own
    grad-mode guards (ours: inference_mode, diffusers: no_grad) open and close out of order."""
    rounds: dict[str, list[list[float]]] = {name: [] for name in make}
    with torch.inference_mode():
        lockstep({name: factory() for name, factory in make.items()}, steps)
        for _ in range(repeats):
            for name, durations in lockstep({name: factory() for name, factory in make.items()}, steps).items():
                rounds[name].append(durations)
    return rounds


def paired_ratio(rounds: dict[str, list[list[float]]], a: str, b: str) -> float:
    """Median over every step of every round of a / b: the two steps of a pair ran back to back."""
    return statistics.median(x / y for ra, rb in zip(rounds[a], rounds[b]) for x, y in zip(ra, rb))


def round_ratios(rounds: dict[str, list[list[float]]], a: str, b: str) -> list[float]:
    """Each round's total time of a over b: how steady the figure is from round to round."""
    return [sum(ra) / sum(rb) for ra, rb in zip(rounds[a], rounds[b])]


def step_ms(rounds: dict[str, list[list[float]]], name: str) -> float:
    return statistics.median(d for durations in rounds[name] for d in durations) * 1000


def engine_figures(plain: LoadedModels, fast: LoadedModels, size: int, steps: int, repeats: int,
                   diffusers_compiled: bool = False, say: Callable[[str], None] = print) -> dict:
    """`plain`: the models in diffusers' default precision for the device, as loaded for it; `fast`: the same
    models in our precision and layout, with the fast path that compiles them. Each group's step times
    are said as they are measured, so a run cut short still reports what it measured."""
    if steps < 2:
        raise ValueError("the benchmark needs at least 2 steps per run (the first is not timed)")
    one = _controls(plain.nets, 1, size)
    fast_one, fast_three = _controls(fast.nets, 1, size), _controls(fast.nets, 3, size)
    fast_inactive = [
        ControlInput(fast.nets[0], control_image(size, 0)),
        ControlInput(fast.nets[1], control_image(size, 1), weight=0.0),
        ControlInput(fast.nets[2], control_image(size, 2), start=0.0, end=0.01),
    ]
    figures = compile_figures(fast, fast_one, size)
    say(f"first image: {figures['first_image_seconds']}")
    figures["fast_psnr_db"] = fast_psnr(plain, one, fast, fast_one, size, steps)
    say(f"fast path image against the plain one: {figures['fast_psnr_db']:.1f} dB")
    loop = compare({
        "ours": lambda: ours(plain.base, one, size, steps),
        "diffusers": lambda: diffusers_pipeline(plain.base, one, size, steps),
    }, steps, repeats)
    _say_steps(say, "plain loop", loop)
    speed_sides = {
        "fast": lambda: ours(fast.base, fast_one, size, steps, fast=fast.fast),
        "diffusers": lambda: diffusers_pipeline(plain.base, one, size, steps),
        "diffusers_same_precision": lambda: diffusers_pipeline(fast.base, fast_one, size, steps),
    }
    if diffusers_compiled:
        speed_sides["diffusers_compiled"] = lambda: diffusers_pipeline(fast.base, fast_one, size, steps, compiled=True)
    speed = compare(speed_sides, steps, repeats)
    _say_steps(say, "fast path", speed)
    preview_costs: list[float] = []
    preview = compare({
        "off": lambda: ours(fast.base, fast_one, size, steps, preview_every=0, fast=fast.fast),
        "every_step": lambda: ours(fast.base, fast_one, size, steps, preview_every=1, preview_costs=preview_costs,
                                   fast=fast.fast),
    }, steps, repeats)
    _say_steps(say, "previews", preview)
    conditions = compare({  # the two compared for the inactive figure step next to each other
        "1": lambda: ours(fast.base, fast_one, size, steps, fast=fast.fast),
        "3_with_2_inactive": lambda: ours(fast.base, fast_inactive, size, steps, fast=fast.fast),
        "2": lambda: ours(fast.base, fast_three[:2], size, steps, fast=fast.fast),
        "3": lambda: ours(fast.base, fast_three, size, steps, fast=fast.fast),
    }, steps, repeats)

    _say_steps(say, "conditions", conditions)
    figures.update({
        "fast_vs_diffusers": paired_ratio(speed, "diffusers", "fast"),
        "fast_vs_diffusers_rounds": round_ratios(speed, "diffusers", "fast"),
        "fast_vs_diffusers_same_precision": paired_ratio(speed, "diffusers_same_precision", "fast"),
        "fast_vs_diffusers_same_precision_rounds": round_ratios(speed, "diffusers_same_precision", "fast"),
        "speed_step_ms": {name: step_ms(speed, name) for name in speed},
        "fast_compiled": fast.fast.compiles > 0,
        "fast_notices": fast.fast.take_notices(),
        "loop_vs_diffusers": paired_ratio(loop, "ours", "diffusers"),
        "loop_vs_diffusers_rounds": round_ratios(loop, "ours", "diffusers"),
        "ours_step_ms": step_ms(loop, "ours"),
        "diffusers_step_ms": step_ms(loop, "diffusers"),
        "preview_overhead": paired_ratio(preview, "every_step", "off"),
        "preview_overhead_rounds": round_ratios(preview, "every_step", "off"),
        "preview_cost_ms": statistics.median(preview_costs) * 1000,
        "preview_cost_share": statistics.median(preview_costs) / (step_ms(preview, "off") / 1000),
        "conditions_1_2_3_ms": {name: step_ms(conditions, name) for name in conditions},
        "three_vs_one": paired_ratio(conditions, "3", "1"),
        "inactive_vs_1": paired_ratio(conditions, "3_with_2_inactive", "1"),
        "inactive_vs_1_rounds": round_ratios(conditions, "3_with_2_inactive", "1"),
    })
    return figures


def _say_steps(say: Callable[[str], None], what: str, rounds: dict[str, list[list[float]]]) -> None:
    say(f"{what}: " + ", ".join(f"{name} {step_ms(rounds, name):.1f} ms" for name in rounds) + " per step")


def _controls(nets: list, count: int, size: int) -> list[ControlInput]:
    return [ControlInput(nets[k], control_image(size, k)) for k in range(count)]


def fast_psnr(plain: LoadedModels, controls: list[ControlInput], fast: LoadedModels,
              fast_controls: list[ControlInput], size: int, steps: int) -> float:
    """PSNR (dB) of the fast path's final image against the plain path's (diffusers' precision, eager)."""
    def image(models: LoadedModels, chosen: list[ControlInput]) -> np.ndarray:
        request = SamplerRequest(prompt=PROMPT, seed=1, steps=steps, width=size, height=size, controls=chosen,
                                 preview_every=0)
        return sample(models.base, request, fast=models.fast).image.astype(np.float64)

    error = np.mean((image(plain, controls) - image(fast, fast_controls)) ** 2)
    return float("inf") if error == 0 else float(10 * np.log10(255.0**2 / error))


def compile_figures(fast: LoadedModels, controls: list[ControlInput], size: int) -> dict:
    """Seconds the first image takes cold (compiling into an empty cache), from the disk cache (a new
    start: dynamo's memory emptied), and warm; compile seconds are the first two less the warm one."""
    def first_image() -> float:
        started = time.perf_counter()
        with torch.inference_mode():
            sample(fast.base, SamplerRequest(prompt=PROMPT, seed=1, steps=2, width=size, height=size, controls=controls),
                   fast=fast.fast)
        if fast.base.device.type == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - started

    cold = first_image()
    fast.fast.forget()
    cached = first_image()
    warm = first_image()
    return {"first_image_seconds": {"cold": cold, "from_disk_cache": cached, "warm": warm},
            "compile_seconds": {"cold": max(0.0, cold - warm), "from_disk_cache": max(0.0, cached - warm)}}
