"""Helpers for engine tests: run our sampler and diffusers' pipeline on the same loaded parts."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from desktop.engine.sampler import ControlInput, SamplerRequest, sample
from desktop.engine.schedulers import make_scheduler

SIZE = 32


def request(controls, **overrides) -> SamplerRequest:
    settings = dict(prompt="a red circle on a blue background", negative_prompt="", seed=7, steps=5,
                    guidance_scale=7.5, width=SIZE, height=SIZE, scheduler="unipc", controls=controls,
                    preview_every=0)
    settings.update(overrides)
    return SamplerRequest(**settings)


def ours(base, controls, **overrides) -> np.ndarray:
    return sample(base, request(controls, **overrides)).image


def diffusers_pipeline(base, nets: list, scheduler: str = "unipc"):
    from diffusers import StableDiffusionControlNetPipeline
    from diffusers.models.controlnets import MultiControlNetModel

    controlnet = nets[0] if len(nets) == 1 else MultiControlNetModel(nets)
    pipe = StableDiffusionControlNetPipeline(
        vae=base.vae, text_encoder=base.text_encoder, tokenizer=base.tokenizer, unet=base.unet,
        controlnet=controlnet, scheduler=make_scheduler(scheduler, base.scheduler_config),
        safety_checker=None, feature_extractor=None, requires_safety_checker=False,
    )
    pipe.set_progress_bar_config(disable=True)
    return pipe


def theirs(base, controls: list[ControlInput], **overrides) -> np.ndarray:
    req = request(controls, **overrides)
    pipe = diffusers_pipeline(base, [c.network for c in controls], req.scheduler)
    many = len(controls) > 1
    images = [Image.fromarray(c.image) for c in controls]
    output = pipe(
        req.prompt, image=images if many else images[0], num_inference_steps=req.steps,
        guidance_scale=req.guidance_scale, negative_prompt=req.negative_prompt or None,
        generator=torch.Generator("cpu").manual_seed(req.seed), height=req.height, width=req.width,
        output_type="np",
        controlnet_conditioning_scale=[c.weight for c in controls] if many else controls[0].weight,
        control_guidance_start=[c.start for c in controls] if many else controls[0].start,
        control_guidance_end=[c.end for c in controls] if many else controls[0].end,
    ).images[0]
    return (output * 255).round().astype(np.uint8)


def max_diff(a: np.ndarray, b: np.ndarray) -> int:
    return int(np.abs(a.astype(int) - b.astype(int)).max())
