"""From a recipe to an image: resolve models and control images, then run the sampler."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from desktop.conditions.image_io import encode_png, read_image
from desktop.conditions.inpaint_overlay import UnmaskedOverlay
from desktop.conditions.prepare import control_from_photo
from desktop.domain.errors import InvalidRecipe
from desktop.domain.recipe import Recipe

from .cancel import CancelToken
from .compat import check_controlnet_fits
from .defaults import default_base_model, default_controlnet
from .hub import DownloadProgress
from .model_cache import ModelCache
from .sampler import ControlInput, SamplerRequest, StepCallback, StepUpdate, sample


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
        if condition.pose is not None and condition.image is None and condition.image_data is None:
            pixels = _pose_control(recipe, condition.pose, where)
            embedded.append(replace(condition, pose=None, image_data=encode_png(pixels), preprocess=None))
        else:
            image_bytes = condition.image_data
            photo = read_image(image_bytes if image_bytes is not None else recipe.resolve_path(condition.image or ""))
            mask = _mask(recipe, condition, where)
            params = {k: v for k, v in condition.params.items() if k != "mask"}
            mask_bytes = condition.mask_data or (None if mask is None else encode_png(mask))
            embedded.append(replace(condition, image_data=image_bytes or encode_png(photo), params=params,
                                    mask_data=mask_bytes))
            if not condition.enabled or condition.weight == 0.0:
                continue
            pixels = control_from_photo(
                photo, condition.kind, recipe.width, recipe.height, preprocessor=condition.preprocess,
                params=params, resize_mode=condition.resize_mode,
                pixel_perfect=condition.pixel_perfect, mask=mask, where=f"{where}.params")
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


def _pose_control(recipe: Recipe, pose, where: str) -> np.ndarray:
    """A pose condition given as OpenPose keypoints (a file or inline) is rendered officially."""
    from desktop.conditions.openpose_json import load_openpose_text, people_from_openpose
    from desktop.conditions.pose_render import render_openpose

    if isinstance(pose, str):
        path = recipe.resolve_path(pose)
        try:
            text = open(path, encoding="utf-8").read()
        except (OSError, UnicodeDecodeError) as err:
            raise InvalidRecipe(f"{where}.pose", f"cannot read {pose}") from err
        people = load_openpose_text(text, recipe.width, recipe.height)
    else:
        people = people_from_openpose(pose, recipe.width, recipe.height)
    return render_openpose(people, recipe.width, recipe.height)


def _mask(recipe: Recipe, condition, where: str) -> np.ndarray | None:
    """An inpaint mask, embedded (`mask_data`) or named by file (`params.mask`): white repaints."""
    if condition.mask_data is not None:
        return read_image(condition.mask_data)[:, :, 0]
    reference = condition.params.get("mask")
    if reference is None:
        return None
    if not isinstance(reference, str):
        raise InvalidRecipe(f"{where}.params.mask", "must be the file name of a mask image")
    return read_image(recipe.resolve_path(reference))[:, :, 0]


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
    overlay = unmasked_overlay(embedded)
    if overlay and on_step is not None:
        on_step = _overlaid_previews(on_step, overlay)
    result = sample(base, request, on_step=on_step, cancel=cancel)
    image = overlay.apply(result.image) if overlay else result.image
    return RenderResult(image, embedded, result.notices, result.seconds)


def unmasked_overlay(recipe: Recipe) -> UnmaskedOverlay:
    """The photo of each active inpaint condition that asks to keep its unmasked area."""
    overlay = UnmaskedOverlay(recipe.width, recipe.height)
    for condition in recipe.conditions:
        if condition.keep_unmasked and condition.enabled and condition.weight > 0.0 and condition.mask_data:
            overlay.add(read_image(condition.image_data), read_image(condition.mask_data)[:, :, 0],
                        condition.resize_mode)
    return overlay


def _overlaid_previews(on_step: StepCallback, overlay: UnmaskedOverlay) -> StepCallback:
    def step(update: StepUpdate) -> None:
        on_step(update if update.preview is None else replace(update, preview=overlay.apply(update.preview)))
    return step
