"""From a recipe to an image: resolve models and control images, then run the sampler."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from desktop.conditions.image_io import encode_png, read_image
from desktop.domain.recipe import Recipe

from .cancel import CancelToken
from .compat import check_controlnet_fits
from .defaults import default_base_model, default_controlnet
from .hub import DownloadProgress
from .model_cache import ModelCache
from .sampler import ControlInput, SamplerRequest, StepCallback, sample


@dataclass
class RenderResult:
    image: np.ndarray
    recipe: Recipe
    notices: list[str]
    seconds: float


@dataclass
class PreviewSettings:
    every: int = 1
    sharp_every: int = 0


def prepare_request(
    cache: ModelCache, recipe: Recipe, previews: PreviewSettings, progress: DownloadProgress | None = None
):
    """Load (or reuse) every model the recipe names and read its control images; nothing runs yet.

    Returns the base model, the sampler request, and the recipe with control images embedded
    (so the PNG written from it can be rendered again anywhere).
    """
    recipe.validate()
    base_reference = recipe.resolve_path(recipe.base_model) if recipe.base_model else default_base_model()
    base = cache.base(base_reference, progress)
    controls: list[ControlInput] = []
    embedded = []
    for index, condition in enumerate(recipe.conditions):
        where = f"conditions[{index}]"
        image_bytes = condition.image_data
        pixels = read_image(image_bytes if image_bytes is not None else recipe.resolve_path(condition.image or ""))
        embedded.append(replace(condition, image_data=image_bytes or encode_png(pixels)))
        if not condition.enabled or condition.weight == 0.0:
            continue
        reference = (
            recipe.resolve_path(condition.controlnet)
            if condition.controlnet
            else default_controlnet(condition.kind, base_reference, where)
        )
        net = cache.controlnet(reference, progress)
        check_controlnet_fits(base, net, reference)
        controls.append(ControlInput(net, pixels, condition.weight, condition.start, condition.end, condition.mode))
    request = SamplerRequest(
        prompt=recipe.prompt, negative_prompt=recipe.negative_prompt, seed=recipe.seed, steps=recipe.steps,
        guidance_scale=recipe.guidance_scale, width=recipe.width, height=recipe.height,
        scheduler=recipe.scheduler, controls=controls,
        preview_every=previews.every, sharp_preview_every=previews.sharp_every,
    )
    return base, request, recipe.with_overrides(conditions=embedded)


def render(
    cache: ModelCache,
    recipe: Recipe,
    *,
    on_step: StepCallback | None = None,
    cancel: CancelToken | None = None,
    previews: PreviewSettings | None = None,
    progress: DownloadProgress | None = None,
) -> RenderResult:
    base, request, embedded = prepare_request(cache, recipe, previews or PreviewSettings(), progress)
    result = sample(base, request, on_step=on_step, cancel=cancel)
    return RenderResult(result.image, embedded, result.notices, result.seconds)
