"""ControlNet Union through the real folder loader: a layer's kind picks the model's control type; the
conditions on one Union model run in one call per step, to the pixel as diffusers'
StableDiffusionXLControlNetUnionPipeline runs them (one and two control types, weights, start/end); a kind
the model does not serve is refused in one sentence."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from desktop.domain.errors import ArchitectureMismatch
from desktop.domain.family import Family
from desktop.engine.compat import check_network_fits
from desktop.engine.device import choose_device
from desktop.engine.model_cache import ModelCache
from desktop.engine.sampler import ControlInput, SamplerRequest, sample
from desktop.engine.schedulers import make_scheduler
from desktop.engine.synthetic_families import build_tiny_union_controlnet
from desktop.engine.union_guidance import UNION_TYPES
from tests.conftest import scribble_pixels

from .helpers import max_diff

SIZE = 64


@pytest.fixture(scope="module")
def union(family_models, tmp_path_factory):
    folder = build_tiny_union_controlnet(family_models.sdxl, tmp_path_factory.mktemp("union") / "union")
    cache = ModelCache(choose_device("cpu"))
    return cache.base(str(family_models.sdxl)), cache.controlnet(str(folder), family=Family.SDXL)


def _request(controls, **overrides) -> SamplerRequest:
    settings = dict(prompt="a red circle on a blue background", negative_prompt="", seed=4, steps=4,
                    guidance_scale=6.0, width=SIZE, height=SIZE, scheduler="euler", controls=controls,
                    preview_every=0)
    return SamplerRequest(**(settings | overrides))


def _pipeline_image(base, controls: list[ControlInput], req: SamplerRequest) -> np.ndarray:
    from diffusers import StableDiffusionXLControlNetUnionPipeline

    pipe = StableDiffusionXLControlNetUnionPipeline(
        vae=base.vae, text_encoder=base.text_encoder, text_encoder_2=base.text_encoder_2, tokenizer=base.tokenizer,
        tokenizer_2=base.tokenizer_2, unet=base.unet, controlnet=controls[0].network,
        scheduler=make_scheduler(req.scheduler, base.scheduler_config), add_watermarker=False,
    )
    pipe.set_progress_bar_config(disable=True)
    output = pipe(
        req.prompt, control_image=[Image.fromarray(c.image) for c in controls],
        control_mode=[UNION_TYPES[c.kind] for c in controls], num_inference_steps=req.steps,
        guidance_scale=req.guidance_scale, negative_prompt=req.negative_prompt or None,
        generator=torch.Generator("cpu").manual_seed(req.seed), height=req.height, width=req.width, output_type="np",
        controlnet_conditioning_scale=[c.weight for c in controls],
        control_guidance_start=[c.start for c in controls], control_guidance_end=[c.end for c in controls],
    ).images[0]
    return (output * 255).round().astype(np.uint8)


@pytest.mark.parametrize("layers", [
    [("scribble", 0.9, 0.0, 1.0)],
    [("pose", 0.8, 0.0, 1.0), ("canny", 1.2, 0.25, 1.0)],
    [("depth", 1.0, 0.0, 0.5), ("lineart", 0.7, 0.0, 1.0)],
])
def test_union_conditions_match_the_diffusers_union_pipeline(union, layers):
    base, net = union
    controls = [ControlInput(net, scribble_pixels(SIZE, variant=i), weight=w, start=s, end=e, kind=kind)
                for i, (kind, w, s, e) in enumerate(layers)]
    req = _request(controls)
    ours = sample(base, req).image
    assert max_diff(ours, _pipeline_image(base, controls, req)) == 0
    assert max_diff(ours, sample(base, _request([])).image) > 10  # it steers


def test_conditions_on_one_union_model_run_in_one_call_per_step(union):
    base, net = union
    calls = []
    hook = net.register_forward_hook(lambda *_: calls.append(1))
    try:
        sample(base, _request([ControlInput(net, scribble_pixels(SIZE), kind="pose"),
                               ControlInput(net, scribble_pixels(SIZE, variant=1), kind="depth", end=0.5)]))
        assert len(calls) == 4  # four steps, both images in each call
        calls.clear()
        sample(base, _request([ControlInput(net, scribble_pixels(SIZE), kind="pose", start=0.5)]))
        assert len(calls) == 2  # nothing runs where no condition is active
    finally:
        hook.remove()


def test_a_kind_the_union_model_does_not_serve_is_refused_in_one_sentence(union):
    base, net = union
    with pytest.raises(ArchitectureMismatch) as refused:
        check_network_fits(base, net, "xinsir/union", SIZE, SIZE, "shuffle")
    assert str(refused.value).startswith("ControlNet Union xinsir/union has no control type for shuffle layers")
    check_network_fits(base, net, "xinsir/union", SIZE, SIZE, "inpaint")  # ProMax's eight types include inpaint


def test_a_member_at_weight_0_stays_in_the_call_as_in_diffusers(union):
    """Dragging one layer's weight to 0 must not change how the other steers in a jump."""
    base, net = union
    controls = [ControlInput(net, scribble_pixels(SIZE), weight=0.8, kind="pose"),
                ControlInput(net, scribble_pixels(SIZE, variant=1), weight=0.0, kind="canny")]
    req = _request(controls)
    ours = sample(base, req).image
    assert max_diff(ours, _pipeline_image(base, controls, req)) == 0
    alone = sample(base, _request(controls[:1])).image
    assert max_diff(ours, alone) > 0  # company at weight 0 is not the same as no company, there as here


def test_on_the_fast_path_a_new_weight_compiles_nothing_new(family_models, tmp_path):
    from desktop.engine.fast_path import FastPathOptions

    folder = build_tiny_union_controlnet(family_models.sdxl, tmp_path / "union")
    eager = ModelCache(choose_device("cpu"))
    fast = ModelCache(choose_device("cpu"), FastPathOptions(backend="eager", channels_last=False, min_parameters=0))
    for weights in ([0.8], [0.8, 1.1]):
        images, compiled = [], []
        for cache in (eager, fast):
            base, net = cache.base(str(family_models.sdxl)), cache.controlnet(str(folder), family=Family.SDXL)
            for w in (weights, [x * 0.5 for x in weights]):
                controls = [ControlInput(net, scribble_pixels(SIZE, variant=i), weight=x, kind=kind)
                            for i, (x, kind) in enumerate(zip(w, ("pose", "depth")))]
                images.append(sample(base, _request(controls), fast=cache.fast).image)
                compiled.append(cache.fast.compiles if cache.fast else 0)
        assert compiled[2] == compiled[3]  # the second weight ran the graphs the first compiled
        assert max_diff(images[0], images[2]) <= 1 and max_diff(images[1], images[3]) <= 1


def test_a_union_config_is_known_by_its_control_types_whatever_its_class_name(union, tmp_path):
    """xinsir trained the Union model with a class of its own; a config saved under another name still loads
    as diffusers' ControlNetUnionModel."""
    import json
    import shutil

    from desktop.engine.loading import network_class_name

    assert network_class_name({"_class_name": "ControlNetModel", "num_control_type": 6}) == "ControlNetUnionModel"
    assert network_class_name({"_class_name": "ControlNetModel_Union"}) == "ControlNetUnionModel"
    assert network_class_name({"_class_name": "ControlNetModel"}) == "ControlNetModel"
    base, net = union
    folder = tmp_path / "renamed"
    net.save_pretrained(folder, safe_serialization=True)
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "_class_name": "ControlNetModel_Union"}))
    loaded = ModelCache(choose_device("cpu")).controlnet(str(folder), family=Family.SDXL)
    assert type(loaded).__name__ == "ControlNetUnionModel"
    shutil.rmtree(folder)
