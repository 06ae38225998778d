"""The ControlNet sampler: our own loop over diffusers components.

Same order as diffusers' StableDiffusionControlNetPipeline (encode prompt, prepare control
images, timesteps, latents; per step ControlNets, UNet, guidance, scheduler step; decode),
so that in balanced mode its output matches the pipeline's. On top of it: a control mode
per condition, no compute spent on inactive conditions, a preview of every step, and a
cancel that stops within one step without decoding half-finished latents.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from desktop.domain.errors import Cancelled, NaNOutput, StudioError

from .cancel import CancelToken
from .components import BaseModel
from .guidance import ControlInput, Guidance, prepare_guidance
from .fast_path import FastPath
from .model_step import ModelStep
from .memory import is_out_of_memory, out_of_memory
from .preview import PreviewPipe, alpha_table, decoded_to_rgb, latent_rgb_map, latents_to_rgb
from .prompt import encode_prompts
from .schedulers import make_scheduler


@dataclass
class SamplerRequest:
    prompt: str
    negative_prompt: str = ""
    seed: int = 0
    steps: int = 20
    guidance_scale: float = 7.5
    width: int = 512
    height: int = 512
    scheduler: str = "unipc"
    controls: list[ControlInput] = field(default_factory=list)
    preview_every: int = 1
    sharp_preview_every: int = 0


@dataclass
class StepUpdate:
    """Sent after each step: `step` of `total` done, with a preview when one was asked for."""

    step: int
    total: int
    preview: np.ndarray | None = None
    sharp: bool = False


@dataclass
class SampleResult:
    image: np.ndarray
    notices: list[str]
    seconds: float
    preview_seconds: float = 0.0  # host time spent making and handing over previews


StepCallback = Callable[[StepUpdate], None]
StatusCallback = Callable[[str], None]


def sample(
    base: BaseModel,
    request: SamplerRequest,
    *,
    on_step: StepCallback | None = None,
    cancel: CancelToken | None = None,
    fast: FastPath | None = None,
    on_status: StatusCallback | None = None,
) -> SampleResult:
    """Run one generation; raises Cancelled, NaNOutput or OutOfMemory as typed errors.

    With `fast`, the model step runs compiled; `on_status` hears "optimising..." before a step whose
    shape has not been compiled yet (the first step at a new size takes that long)."""
    try:
        with torch.inference_mode():
            return _sample(base, request, on_step, cancel, fast, on_status)
    except StudioError:
        raise
    except Exception as err:
        if is_out_of_memory(err):
            raise out_of_memory("generating", err) from err
        raise


@dataclass
class _Prepared:
    """What a generation sets up before its first step. `sample` and `warm_up` both start from it, so a
    warm-up compiles exactly the shapes and sets of networks the run then calls."""

    cfg: bool
    notices: list[str]
    scheduler: Any  # a diffusers scheduler, fresh for this run (it keeps per-run state)
    generator: torch.Generator
    latents: torch.Tensor  # the starting noise, (1, C, h, w)
    active: list[list[Guidance]]  # the conditions that run at each step
    model_step: ModelStep


def _prepare(base: BaseModel, request: SamplerRequest, fast: FastPath | None) -> _Prepared:
    """Encode prompts, make the scheduler and starting latents, prepare the control images."""
    from diffusers.utils.torch_utils import randn_tensor

    device, dtype = base.device, base.dtype
    cfg = request.guidance_scale > 1.0 and base.unet.config.time_cond_proj_dim is None
    conditioning, notices = encode_prompts(
        base, request.prompt, request.negative_prompt if cfg else None, request.height, request.width
    )
    scheduler = make_scheduler(request.scheduler, base.scheduler_config)
    scheduler.set_timesteps(request.steps, device=device)
    total = len(scheduler.timesteps)
    factor = base.vae_scale_factor
    latent_h, latent_w = request.height // factor, request.width // factor
    controls = prepare_guidance(base, request.controls, request.width, request.height, cfg, latent_h)
    active = [[g for g in (c.at_step(i, total) for c in controls) if g is not None] for i in range(total)]
    generator = torch.Generator("cpu").manual_seed(request.seed)
    shape = (1, base.unet.config.in_channels, latent_h, latent_w)
    latents = randn_tensor(shape, generator=generator, device=device, dtype=dtype) * scheduler.init_noise_sigma
    model_step = ModelStep(base.unet, conditioning, request.guidance_scale, cfg, fast)
    return _Prepared(cfg, notices, scheduler, generator, latents, active, model_step)


def _model_input(run: _Prepared, latents: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    latent_in = torch.cat([latents] * 2) if run.cfg else latents
    return run.scheduler.scale_model_input(latent_in, t)


def _sample(base: BaseModel, request: SamplerRequest, on_step: StepCallback | None, cancel: CancelToken | None,
            fast: FastPath | None, on_status: StatusCallback | None):
    started = time.perf_counter()
    run = _prepare(base, request, fast)
    scheduler, latents, model_step = run.scheduler, run.latents, run.model_step
    step_kwargs = _step_kwargs(scheduler, run.generator)
    previews = _Previewer(base, scheduler, request, on_step) if on_step else None
    preview_seconds = 0.0
    for i, t in enumerate(scheduler.timesteps):
        if cancel is not None and cancel.cancelled:
            raise Cancelled()
        latent_in = _model_input(run, latents, t)
        if fast is not None:
            _announce_compile(fast, model_step, latent_in, run.active[i], request, on_status)
        noise = model_step(latent_in, t, run.active[i])
        if previews is not None:
            mark = time.perf_counter()
            previews.after_model(i, latent_in[-1:], noise)
            preview_seconds += time.perf_counter() - mark
        latents = scheduler.step(noise, t, latents, **step_kwargs, return_dict=False)[0]
        if previews is not None:
            mark = time.perf_counter()
            previews.after_step(i, latents)
            preview_seconds += time.perf_counter() - mark
    if previews is not None:
        previews.finish()
    if cancel is not None and cancel.cancelled:
        raise Cancelled()
    if not bool(torch.isfinite(latents).all()):
        raise NaNOutput("the model produced invalid values (NaN); no image was kept. Try another seed or float32")
    image = decode_latents(base, latents)
    notices = run.notices
    if fast is not None:
        notices = notices + fast.take_notices()
    return SampleResult(image, notices, time.perf_counter() - started, preview_seconds)


def warm_up(base: BaseModel, request: SamplerRequest, fast: FastPath | None, on_status: StatusCallback | None = None,
            cancel: CancelToken | None = None) -> int:
    """Compile what a run of `request` will call, without sampling, so the user's next run starts at once.

    One model step per distinct set of active conditions (start/end make a run call two or three), on
    the run's own latents at that set's first timestep: no scheduler stepping, no decode. Returns the
    graphs compiled (0 when compiling failed: the run then goes on eagerly and its notice says why, so
    nothing was made ready); 0 at once when nothing here compiles (no fast path, small models)."""
    modules = [base.unet] + [c.network for c in request.controls]
    if fast is None or not any(fast.compiles_module(m) for m in modules):
        return 0
    try:
        with torch.inference_mode():
            return _warm_up(base, request, fast, on_status, cancel)
    except StudioError:
        raise
    except Exception as err:
        if is_out_of_memory(err):
            raise out_of_memory("optimising the model", err) from err
        raise


def _warm_up(base: BaseModel, request: SamplerRequest, fast: FastPath, on_status: StatusCallback | None,
             cancel: CancelToken | None) -> int:
    before = fast.compiles
    run = _prepare(base, request, fast)
    first_steps: dict[tuple[int, ...], int] = {}  # each set of active conditions, at the first step it runs
    for i, controls in enumerate(run.active):
        first_steps.setdefault(tuple(id(c) for c in controls), i)
    for i in first_steps.values():
        if cancel is not None and cancel.cancelled:
            raise Cancelled()
        t = run.scheduler.timesteps[i]
        latent_in = _model_input(run, run.latents, t)
        _announce_compile(fast, run.model_step, latent_in, run.active[i], request, on_status)
        run.model_step(latent_in, t, run.active[i])
    return 0 if fast.failure is not None else fast.compiles - before


def _announce_compile(fast: FastPath, model_step: ModelStep, latent_in: torch.Tensor,
                      controls: list[Guidance], request: SamplerRequest, on_status: StatusCallback | None) -> None:
    """Say "optimising..." before a step that will compile: what it runs has not run at this shape yet."""
    modules = [model_step.unet] + [m for c in controls for m in c.step_modules]
    if not any(fast.compiles_module(m) for m in modules):
        return
    key = (tuple((id(m), fast.frozen(m)) for m in modules), tuple(latent_in.shape), latent_in.dtype,
           tuple(c.graph_key for c in controls))
    if fast.is_warm(key):
        return
    fast.mark_warm(key)
    if on_status is not None:
        on_status(f"optimising the model for {request.width} x {request.height} "
                  "(once per size and set of layers; later runs start at once)")


def decode_latents(base: BaseModel, latents: torch.Tensor) -> np.ndarray:
    """VAE decode in the VAE's own precision (float32 for one that overflows in half precision, chosen
    when it loaded); a NaN result in half precision is retried once in float32."""
    vae = base.vae
    scale = vae.config.scaling_factor
    dtype = vae.dtype
    images = vae.decode(latents.to(dtype) / scale, return_dict=False)[0]
    if not bool(torch.isfinite(images).all()) and dtype != torch.float32:
        vae.to(torch.float32)
        try:
            images = vae.decode(latents.float() / scale, return_dict=False)[0]
        finally:
            vae.to(dtype)
    if not bool(torch.isfinite(images).all()):
        raise NaNOutput("the VAE produced invalid values (NaN); no image was kept")
    return decoded_to_rgb(images)


def _step_kwargs(scheduler, generator: torch.Generator) -> dict:
    params = set(inspect.signature(scheduler.step).parameters)
    kwargs: dict = {}
    if "eta" in params:
        kwargs["eta"] = 0.0
    if "generator" in params:
        kwargs["generator"] = generator
    return kwargs


class _Previewer:
    """x0 previews each `preview_every` steps, a VAE-decoded one each `sharp_preview_every`."""

    def __init__(self, base: BaseModel, scheduler, request: SamplerRequest, on_step: StepCallback) -> None:
        self._base = base
        self._on_step = on_step
        self._every = request.preview_every
        self._sharp_every = request.sharp_preview_every
        self._total = len(scheduler.timesteps)
        self._sqrt_alpha, self._sqrt_one_minus = alpha_table(scheduler)
        self._v_prediction = scheduler.config.get("prediction_type", "epsilon") == "v_prediction"
        self._map = latent_rgb_map(base) if self._every else None
        self._x0: torch.Tensor | None = None
        self._nan = False
        self._pipe = PreviewPipe(base.device, self._deliver)

    def _wants_preview(self, i: int) -> bool:
        return bool(self._every) and ((i + 1) % self._every == 0 or i + 1 == self._total)

    def after_model(self, i: int, scaled_latents: torch.Tensor, model_output: torch.Tensor) -> None:
        if not self._wants_preview(i):
            self._x0 = None
            return
        a, s = self._sqrt_alpha[i], self._sqrt_one_minus[i]
        if self._v_prediction:
            self._x0 = a * scaled_latents - s * model_output
        else:
            self._x0 = (scaled_latents - s * model_output) / a

    def after_step(self, i: int, latents: torch.Tensor) -> None:
        if self._x0 is None:
            self._pipe.poll()
            self._on_step(StepUpdate(i + 1, self._total))
            return
        if self._sharp_every and (i + 1) % self._sharp_every == 0 and i + 1 < self._total:
            rgb = decode_latents(self._base, self._x0)
            self._on_step(StepUpdate(i + 1, self._total, rgb, sharp=True))
            return
        rgb_t = latents_to_rgb(self._x0, self._map)
        self._pipe.submit(i + 1, rgb_t, torch.isfinite(latents).all())
        if self._nan:
            raise NaNOutput("the model produced invalid values (NaN) at step "
                            f"{i + 1}; stopped early and no image was kept")

    def _deliver(self, step: int, rgb: np.ndarray, finite: bool) -> None:
        if not finite:
            self._nan = True
            return
        self._on_step(StepUpdate(step, self._total, rgb))

    def finish(self) -> None:
        self._pipe.flush()
        if self._nan:
            raise NaNOutput("the model produced invalid values (NaN); no image was kept")
