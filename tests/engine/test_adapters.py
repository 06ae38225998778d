"""T2I-Adapters through the real folder loader, as one more kind of guidance: to the pixel against
diffusers' adapter pipelines (SD 1.x and SDXL, three- and one-channel adapters), features computed once
per generation, nothing spent where inactive, beside a ControlNet, refused for the wrong family."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from desktop.domain.errors import WrongFamily
from desktop.domain.family import Family
from desktop.engine.device import choose_device
from desktop.engine.model_cache import ModelCache
from desktop.engine.sampler import ControlInput, SamplerRequest, sample
from desktop.engine.schedulers import make_scheduler
from desktop.engine.synthetic_families import build_tiny_family_adapter
from tests.conftest import scribble_pixels

from .helpers import max_diff

SIZE = 64


@pytest.fixture(scope="module")
def adapters(tmp_path_factory):
    root = tmp_path_factory.mktemp("adapters")
    return {
        "sd1": build_tiny_family_adapter(Family.SD1, root / "sd1_adapter"),
        "sd1_sketch": build_tiny_family_adapter(Family.SD1, root / "sd1_sketch", in_channels=1, seed=7),
        "sdxl": build_tiny_family_adapter(Family.SDXL, root / "sdxl_adapter", seed=8),
    }


@pytest.fixture()
def cache():
    return ModelCache(choose_device("cpu"))


def _request(controls, **overrides) -> SamplerRequest:
    settings = dict(prompt="a red circle on a blue background", negative_prompt="", seed=5, steps=4,
                    guidance_scale=6.0, width=SIZE, height=SIZE, scheduler="euler", controls=controls,
                    preview_every=0)
    return SamplerRequest(**(settings | overrides))


def _pipeline_image(base, control: ControlInput, req: SamplerRequest, image: Image.Image) -> np.ndarray:
    """diffusers' own adapter pipeline on the same loaded parts."""
    from diffusers import StableDiffusionAdapterPipeline, StableDiffusionXLAdapterPipeline

    scheduler = make_scheduler(req.scheduler, base.scheduler_config)
    common = dict(vae=base.vae, text_encoder=base.text_encoder, tokenizer=base.tokenizer, unet=base.unet,
                  adapter=control.network, scheduler=scheduler)
    extra = {}
    if base.family is Family.SDXL:
        pipe = StableDiffusionXLAdapterPipeline(**common, text_encoder_2=base.text_encoder_2,
                                                tokenizer_2=base.tokenizer_2)
        extra["adapter_conditioning_factor"] = control.end
    else:
        pipe = StableDiffusionAdapterPipeline(**common, safety_checker=None, feature_extractor=None,
                                              requires_safety_checker=False)
    pipe.set_progress_bar_config(disable=True)
    output = pipe(
        req.prompt, image=image, num_inference_steps=req.steps, guidance_scale=req.guidance_scale,
        negative_prompt=req.negative_prompt or None, generator=torch.Generator("cpu").manual_seed(req.seed),
        height=req.height, width=req.width, output_type="np", adapter_conditioning_scale=control.weight, **extra,
    ).images[0]
    return (output * 255).round().astype(np.uint8)


@pytest.mark.parametrize(("base_name", "adapter_name", "end"), [
    ("sd1", "sd1", 1.0), ("sd1", "sd1_sketch", 1.0), ("sdxl", "sdxl", 1.0), ("sdxl", "sdxl", 0.5),
])
def test_an_adapter_matches_the_diffusers_adapter_pipeline(cache, family_models, adapters, base_name, adapter_name,
                                                           end):
    base = cache.base(str(getattr(family_models, base_name)))
    adapter = cache.controlnet(str(adapters[adapter_name]), family=base.family)
    pixels = scribble_pixels(SIZE)
    control = ControlInput(adapter, pixels, weight=0.8, end=end)
    req = _request([control])
    ours = sample(base, req).image
    picture = Image.fromarray(pixels).convert("L" if adapter.config.in_channels == 1 else "RGB")
    assert max_diff(ours, _pipeline_image(base, control, req, picture)) == 0
    assert max_diff(ours, sample(base, _request([])).image) > 10  # it steers: the parity is not of an idle adapter


def test_features_are_computed_once_and_an_inactive_adapter_costs_nothing(cache, family_models, adapters):
    base = cache.base(str(family_models.sd1))
    adapter = cache.controlnet(str(adapters["sd1"]), family=Family.SD1)
    calls = []
    hook = adapter.register_forward_hook(lambda *_: calls.append(1))
    try:
        steered = sample(base, _request([ControlInput(adapter, scribble_pixels(SIZE))], steps=6)).image
        assert len(calls) == 1  # once per generation, not per step
        calls.clear()
        idle = sample(base, _request([ControlInput(adapter, scribble_pixels(SIZE), weight=0.0)], steps=6)).image
        assert calls == []
    finally:
        hook.remove()
    assert max_diff(idle, sample(base, _request([], steps=6)).image) == 0
    late = sample(base, _request([ControlInput(adapter, scribble_pixels(SIZE), start=0.5)], steps=6)).image
    assert 0 < max_diff(late, steered)  # start/end hold for adapters as for ControlNets


def test_an_adapter_and_a_controlnet_steer_one_image_together(cache, family_models, adapters):
    base = cache.base(str(family_models.sd1))
    adapter = ControlInput(cache.controlnet(str(adapters["sd1"]), family=Family.SD1), scribble_pixels(SIZE))
    net = ControlInput(cache.controlnet(str(family_models.sd1_net), family=Family.SD1),
                       scribble_pixels(SIZE, variant=1))
    both = sample(base, _request([adapter, net])).image
    assert max_diff(both, sample(base, _request([adapter])).image) > 5  # each adds its part to the other's
    assert max_diff(both, sample(base, _request([net])).image) > 5


@pytest.mark.parametrize(("base_name", "adapter_name", "says"), [
    ("sd1", "sdxl", "made for SDXL models, but the base model is SD 1.x"),
    ("sdxl", "sd1", "but the base model is SDXL"),
])
def test_an_adapter_of_another_family_is_refused_in_one_sentence(cache, family_models, adapters, base_name,
                                                                 adapter_name, says):
    base = cache.base(str(getattr(family_models, base_name)))
    with pytest.raises(WrongFamily) as refused:
        cache.controlnet(str(adapters[adapter_name]), family=base.family)
    assert "T2I-Adapter" in str(refused.value) and says in str(refused.value)


def _adapter_recipe(tmp_path, family_models, adapter, **overrides) -> Path:
    Image.fromarray(scribble_pixels(SIZE)).save(tmp_path / "scribble.png")
    recipe = {"prompt": "a red circle", "seed": 3, "steps": 3, "guidance_scale": 5.0, "width": SIZE, "height": SIZE,
              "scheduler": "euler", "base_model": str(family_models.sd1),
              "conditions": [{"kind": "scribble", "image": "scribble.png", "controlnet": str(adapter), "weight": 0.9}]}
    path = tmp_path / "recipe.json"
    path.write_text(json.dumps(recipe | overrides))
    return path


def test_a_recipe_names_an_adapter_where_it_names_a_controlnet(tmp_path, family_models, adapters, capsys):
    from desktop.cli import main

    recipe = _adapter_recipe(tmp_path, family_models, adapters["sd1"])
    assert main(["render", str(recipe), "-o", str(tmp_path / "adapter.png"), "--quiet", "--device", "cpu"]) == 0
    plain = _adapter_recipe(tmp_path, family_models, adapters["sd1"], conditions=[])
    assert main(["render", str(plain), "-o", str(tmp_path / "plain.png"), "--quiet", "--device", "cpu"]) == 0
    assert max_diff(np.asarray(Image.open(tmp_path / "adapter.png").convert("RGB")),
                    np.asarray(Image.open(tmp_path / "plain.png").convert("RGB"))) > 10
    odd = _adapter_recipe(tmp_path, family_models, adapters["sd1"], width=72)
    assert main(["render", str(odd), "-o", str(tmp_path / "odd.png"), "--quiet", "--device", "cpu"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "needs a width and height that are multiples of 16; 72 x 64 is not" in err[0]
    assert not (tmp_path / "odd.png").exists()


def test_an_adapter_on_the_fast_path_gives_the_eager_image(family_models, adapters):
    """The compiled UNet takes the features as one more input (a graph of its own); channels_last included."""
    from desktop.engine.fast_path import FastPathOptions

    eager_cache = ModelCache(choose_device("cpu"))
    fast_cache = ModelCache(choose_device("cpu"), FastPathOptions(backend="eager", min_parameters=0))
    images = []
    for cache in (eager_cache, fast_cache):
        base = cache.base(str(family_models.sd1))
        adapter = cache.controlnet(str(adapters["sd1"]), family=Family.SD1)
        net = cache.controlnet(str(family_models.sd1_net), family=Family.SD1)
        controls = [ControlInput(adapter, scribble_pixels(SIZE), end=0.5), ControlInput(net, scribble_pixels(SIZE, variant=1))]
        images.append(sample(base, _request(controls), fast=cache.fast).image)
    assert fast_cache.fast.compiles >= 2  # the UNet with and without the adapter's features, and the ControlNet
    assert max_diff(*images) <= 1


def test_an_adapter_refuses_an_inpaint_layer_in_one_sentence(cache, family_models, adapters):
    from desktop.domain.errors import ArchitectureMismatch
    from desktop.engine.compat import check_network_fits

    base = cache.base(str(family_models.sd1))
    adapter = cache.controlnet(str(adapters["sd1"]), family=Family.SD1)
    with pytest.raises(ArchitectureMismatch, match="cannot take an inpaint layer"):
        check_network_fits(base, adapter, "my-adapter", SIZE, SIZE, "inpaint")
    masked = np.where(scribble_pixels(SIZE) > 0, 1.0, -1.0).astype(np.float32)  # the inpaint model's image
    with pytest.raises(ArchitectureMismatch, match="cannot take an inpaint layer"):
        sample(base, _request([ControlInput(adapter, masked)]))
