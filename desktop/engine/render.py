"""From a recipe to an image: resolve models and control images, then run the sampler."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import NamedTuple

import numpy as np

from desktop.conditions.image_io import encode_png, read_image
from desktop.conditions.inpaint_overlay import UnmaskedOverlay
from desktop.conditions.prepare import control_from_photo
from desktop.conditions.preprocessors import preprocessor_models
from desktop.conditions.preprocessors.networks import reporting_downloads
from desktop.domain.errors import InvalidRecipe, UnreadableFile
from desktop.domain.family import ModelInfo
from desktop.domain.model_extras import ModelExtras, model_extras
from desktop.domain.recipe import Condition, Recipe
from desktop.domain.safe_files import MAX_POSE_BYTES, read_text_file

from .cancel import CancelToken
from .compat import check_network_fits
from desktop.domain.defaults import default_base_model, default_controlnet, with_card_defaults
from .extras import check_extra_files
from .model_peek import peek_base_info
from desktop.hub.downloads import DownloadProgress
from .model_cache import ModelCache
from .region_guidance import region_weights
from .sampler import ControlInput, SamplerRequest, StatusCallback, StepCallback, StepUpdate, sample
from .sampler import warm_up as warm_up_sampler


@dataclass
class RenderResult:
    image: np.ndarray
    recipe: Recipe
    notices: list[str]
    seconds: float
    model: ModelInfo | None = None  # what the base model turned out to be


# The pixels behind PNG bytes a recipe embeds, for a caller that has just encoded them (the app renders its
# layers' control images and masks in the same job): they are used as they are, never decoded again.
KnownPixels = Mapping[bytes, np.ndarray]


@dataclass
class PreviewSettings:
    every: int = 1
    sharp_every: int = 0


@dataclass(frozen=True)
class ModelReferences:
    """The models a render loads, resolved as loading resolves them; None for a condition that does not run."""

    base: str
    controlnets: tuple[str | None, ...]
    preprocessors: tuple[str, ...] = ()  # the networks the conditions' preprocessors load
    base_info: ModelInfo | None = None  # None: a hub model not yet downloaded (known once it loads)
    extras: ModelExtras = ModelExtras()  # LoRAs, embeddings and VAE, through the recipe's file gate

    def describe(self) -> str:
        """One line naming each once: shown before anything loads, since a stranger's PNG picks them."""
        nets = dict.fromkeys(net for net in self.controlnets if net is not None)
        kind = f" ({self.base_info.label})" if self.base_info else ""
        line = f"base model {self.base}{kind}; ControlNets: {', '.join(nets) or 'none'}"
        if self.preprocessors:
            line += f"; preprocessor models: {', '.join(dict.fromkeys(self.preprocessors))}"
        if self.extras.describe():
            line += f"; {self.extras.describe()}"
        return line


def model_references(recipe: Recipe, base_info: ModelInfo | None = None) -> ModelReferences:
    """Which base model, ControlNets and preprocessor networks `recipe` loads (hub ids are downloaded on
    first use). A self-contained recipe naming a local preprocessor folder is refused here, before anything loads.
    Default ControlNets follow the base model's family, read from its configs or header (`base_info` when
    already known); for a hub model not yet downloaded they are named once it has loaded."""
    base = recipe.model_reference(recipe.base_model) if recipe.base_model else default_base_model()
    if base_info is None:
        base_info = peek_base_info(base)
    controlnets: list[str | None] = []
    preprocessors: list[str] = []
    for index, condition in enumerate(recipe.conditions):
        runs = _runs(condition)
        controlnets.append(
            _controlnet_reference(recipe, condition, base, base_info, f"conditions[{index}]") if runs else None)
        if runs:
            preprocessors += _preprocessor_models(recipe, condition, f"conditions[{index}]")
    return ModelReferences(base, tuple(controlnets), tuple(preprocessors), base_info, model_extras(recipe))


def prepare_request(
    cache: ModelCache, recipe: Recipe, previews: PreviewSettings, progress: DownloadProgress | None = None,
    on_models: Callable[[ModelReferences], None] | None = None, known: KnownPixels | None = None,
):
    """Read the control images, then load (or reuse) every model the recipe names; nothing runs yet.

    The recipe's own inputs come first, so bad input fails before minutes of loading;
    `on_models` hears the models just before they load. Returns the base model, the sampler
    request, and the recipe with control images embedded (so the PNG written from it can be
    rendered again anywhere).
    """
    recipe = with_card_defaults(recipe.validate())
    prepared = [_prepare_condition(recipe, c, f"conditions[{i}]", known or {}) for i, c in enumerate(recipe.conditions)]
    models = model_references(recipe)
    if on_models is not None:
        on_models(models)
    with reporting_downloads(progress):  # a preprocessor's network downloads like a model, with progress
        control_images = [c.make_control() for c in prepared]
    check_extra_files(models.extras, models.base_info.family if models.base_info else None)
    base = cache.base(models.base, progress)
    prompt, negative_prompt = cache.apply_extras(models.extras)
    if models.base_info is None:
        models = model_references(recipe, base.info)
    controls: list[ControlInput] = []
    for condition, pixels, reference in zip(prepared, control_images, models.controlnets):
        if reference is None:
            continue
        embedded, region = condition.embedded, condition.region
        net = cache.controlnet(reference, progress, base.family)
        check_network_fits(base, net, reference, recipe.width, recipe.height, embedded.kind)
        controls.append(ControlInput(net, pixels, embedded.weight, embedded.start, embedded.end, embedded.mode,
                                     region=None if region is None else region_weights(region, recipe.width,
                                                                                       recipe.height),
                                     kind=embedded.kind))
    request = SamplerRequest(
        prompt=prompt, negative_prompt=negative_prompt, seed=recipe.seed, steps=recipe.steps,
        guidance_scale=recipe.guidance_scale, width=recipe.width, height=recipe.height,
        scheduler=recipe.scheduler, controls=controls,
        preview_every=previews.every, sharp_preview_every=previews.sharp_every,
    )
    return base, request, recipe.with_overrides(conditions=[c.embedded for c in prepared])


def _runs(condition: Condition) -> bool:
    return condition.enabled and condition.weight != 0.0


def _keypoints_only(condition: Condition) -> bool:
    """A pose given as OpenPose keypoints, with no photo: it is drawn, never preprocessed."""
    return condition.pose is not None and condition.image is None and condition.image_data is None


def _preprocessor_models(recipe: Recipe, condition: Condition, where: str) -> list[str]:
    if _keypoints_only(condition):
        return []
    models = preprocessor_models(condition.preprocess, condition.params, f"{where}.params")
    return [recipe.preprocessor_model(reference, f"{where}.params.{name}") for name, reference in models.items()]


def _controlnet_reference(recipe: Recipe, condition: Condition, base: str, base_info: ModelInfo | None,
                          where: str) -> str | None:
    """The condition's ControlNet; None for a default that waits for the base model's family."""
    if condition.controlnet:
        return recipe.model_reference(condition.controlnet)
    if base_info is None:
        return None
    return default_controlnet(condition.kind, base, where, base_info.family)


class _PreparedCondition(NamedTuple):
    embedded: Condition  # its images embedded (its region too)
    make_control: Callable[[], np.ndarray | None]  # its control image (None when it does not run)
    region: np.ndarray | None  # the region mask's grey levels, read once


def _prepare_condition(recipe: Recipe, condition: Condition, where: str, known: KnownPixels) -> _PreparedCondition:
    """The condition's images read now, so bad input fails first; its control image made later: a
    preprocessor may load a network, which waits until the models are named."""
    embedded, make_control = _prepare_control(recipe, condition, where, known)
    region = _region(recipe, condition, where, known)
    if region is not None and condition.region_mask_data is None:
        embedded = replace(embedded, region_mask_data=encode_png(region))
    return _PreparedCondition(embedded, make_control, region)


def _prepare_control(recipe: Recipe, condition: Condition, where: str,
                     known: KnownPixels) -> tuple[Condition, Callable[[], np.ndarray | None]]:
    if _keypoints_only(condition):
        pixels = _pose_control(recipe, condition.pose, where)
        return replace(condition, pose=None, image_data=encode_png(pixels), preprocess=None), lambda: pixels
    image_bytes = condition.image_data
    source = image_bytes if image_bytes is not None else recipe.local_file(condition.image or "", f"{where}.image")
    photo = known.get(image_bytes) if image_bytes is not None else None
    if photo is None or photo.ndim != 3:
        photo = read_image(source, label=f"{where}.image_data")
    mask = _mask(recipe, condition, where, known)
    params = {k: v for k, v in condition.params.items() if k != "mask"}
    mask_bytes = condition.mask_data or (None if mask is None else encode_png(mask))
    embedded = replace(condition, image_data=image_bytes or encode_png(photo), params=params, mask_data=mask_bytes)
    if not _runs(condition):
        return embedded, lambda: None
    return embedded, lambda: control_from_photo(
        photo, condition.kind, recipe.width, recipe.height, preprocessor=condition.preprocess,
        params=params, resize_mode=condition.resize_mode,
        pixel_perfect=condition.pixel_perfect, mask=mask, where=f"{where}.params")


def _pose_control(recipe: Recipe, pose, where: str) -> np.ndarray:
    """A pose condition given as OpenPose keypoints (a file or inline) is rendered officially."""
    from desktop.conditions.openpose_json import load_openpose_text, people_from_openpose
    from desktop.conditions.pose_render import render_openpose

    if isinstance(pose, str):
        try:
            text = read_text_file(recipe.local_file(pose, f"{where}.pose"), limit=MAX_POSE_BYTES, what="pose")
        except UnreadableFile as err:
            raise InvalidRecipe(f"{where}.pose", str(err)) from err
        people = load_openpose_text(text, recipe.width, recipe.height)
    else:
        people = people_from_openpose(pose, recipe.width, recipe.height)
    return render_openpose(people, recipe.width, recipe.height)


def _mask(recipe: Recipe, condition: Condition, where: str, known: KnownPixels | None = None) -> np.ndarray | None:
    """An inpaint mask, embedded (`mask_data`) or named by file (`params.mask`): white repaints."""
    if condition.mask_data is not None:
        mask = (known or {}).get(condition.mask_data)
        if mask is not None and mask.ndim == 2:
            return mask
        return read_image(condition.mask_data, label=f"{where}.mask_data")[:, :, 0]
    reference = condition.params.get("mask")
    if reference is None:
        return None
    if not isinstance(reference, str):
        raise InvalidRecipe(f"{where}.params.mask", "must be the file name of a mask image")
    return read_image(recipe.local_file(reference, f"{where}.params.mask"))[:, :, 0]


def _region(recipe: Recipe, condition: Condition, where: str, known: KnownPixels | None = None) -> np.ndarray | None:
    """Where a condition steers, embedded (`region_mask_data`) or named by file (`region_mask`): white is
    active. The mask's grey levels (its first channel), at its own size."""
    if condition.region_mask_data is not None:
        region = (known or {}).get(condition.region_mask_data)
        if region is not None and region.ndim == 2:
            return region
        return read_image(condition.region_mask_data, label=f"{where}.region_mask_data")[:, :, 0]
    if condition.region_mask is None:
        return None
    return read_image(recipe.local_file(condition.region_mask, f"{where}.region_mask"))[:, :, 0]


def render(
    cache: ModelCache,
    recipe: Recipe,
    *,
    on_step: StepCallback | None = None,
    cancel: CancelToken | None = None,
    previews: PreviewSettings | None = None,
    progress: DownloadProgress | None = None,
    on_models: Callable[[ModelReferences], None] | None = None,
    on_status: StatusCallback | None = None,
    known: KnownPixels | None = None,
) -> RenderResult:
    """`known`: pixels the caller encoded the recipe's embedded images from, used instead of decoding them."""
    base, request, embedded = prepare_request(cache, recipe, previews or PreviewSettings(), progress, on_models, known)
    overlay = unmasked_overlay(embedded, known)
    if overlay and on_step is not None:
        on_step = _overlaid_previews(on_step, overlay)
    result = sample(base, request, on_step=on_step, cancel=cancel, fast=cache.fast, on_status=on_status)
    image = overlay.apply(result.image) if overlay else result.image
    unknown = recipe.unknown_keys()
    notices = result.notices + list(model_extras(recipe).notices)
    notices += [f"not used by this version, kept in the recipe: {', '.join(unknown)}"] if unknown else []
    return RenderResult(image, embedded, notices, result.seconds, base.info)


def warm_up(
    cache: ModelCache,
    recipe: Recipe,
    *,
    cancel: CancelToken | None = None,
    progress: DownloadProgress | None = None,
    on_status: StatusCallback | None = None,
    known: KnownPixels | None = None,
) -> int:
    """Load `recipe`'s models and compile what rendering it will run, without sampling: on a CPU that is
    minutes per size, paid here (after a model is picked, or asked for) instead of in the next render.
    Returns the graphs compiled; 0 for models the fast path leaves uncompiled."""
    base, request, _ = prepare_request(cache, recipe, PreviewSettings(every=0), progress, known=known)
    return warm_up_sampler(base, request, cache.fast, on_status=on_status, cancel=cancel)


def unmasked_overlay(recipe: Recipe, known: KnownPixels | None = None) -> UnmaskedOverlay:
    """The photo of each active inpaint condition that asks to keep its unmasked area."""
    overlay = UnmaskedOverlay(recipe.width, recipe.height)
    for condition in recipe.conditions:
        if condition.keep_unmasked and condition.enabled and condition.weight > 0.0 and condition.mask_data:
            mask = (known or {}).get(condition.mask_data)
            mask = mask if mask is not None and mask.ndim == 2 else read_image(condition.mask_data)[:, :, 0]
            overlay.add(read_image(condition.image_data), mask, condition.resize_mode)
    return overlay


def _overlaid_previews(on_step: StepCallback, overlay: UnmaskedOverlay) -> StepCallback:
    def step(update: StepUpdate) -> None:
        on_step(update if update.preview is None else replace(update, preview=overlay.apply(update.preview)))
    return step
