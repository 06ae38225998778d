"""A region per condition: white is where it steers. An all-white region is no region to the pixel;
outside its region a condition adds nothing to the UNet's inputs (ControlNets and adapters alike); its
half of the image follows it; recipes carry the region as a file or embedded, and a stranger's recipe
may not name a local file for it."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from desktop.cli import main
from desktop.conditions.result_png import RECIPE_KEY
from desktop.domain.errors import UntrustedPath
from desktop.domain.family import Family
from desktop.domain.recipe import recipe_from_dict
from desktop.engine.conditioning import Conditioning
from desktop.engine.device import choose_device
from desktop.engine.guidance import guidance_inputs, prepare_guidance
from desktop.engine.model_cache import ModelCache
from desktop.engine.region_guidance import region_weights
from desktop.engine.render import PreviewSettings, prepare_request
from desktop.engine.sampler import ControlInput, SamplerRequest, sample
from desktop.engine.synthetic_families import build_tiny_family_adapter
from tests.conftest import scribble_pixels

from .helpers import max_diff

SIZE = 128


@pytest.fixture(scope="module")
def networks(family_models, tmp_path_factory):
    cache = ModelCache(choose_device("cpu"))
    base = cache.base(str(family_models.sd1))
    adapter = build_tiny_family_adapter(Family.SD1, tmp_path_factory.mktemp("region_adapter") / "adapter")
    return base, {"controlnet": cache.controlnet(str(family_models.sd1_net), family=Family.SD1),
                  "adapter": cache.controlnet(str(adapter), family=Family.SD1)}


def _left_half() -> np.ndarray:
    region = np.zeros((SIZE, SIZE), np.float32)
    region[:, : SIZE // 2] = 1.0
    return region


def _image(base, controls) -> np.ndarray:
    request = SamplerRequest("a red circle on a blue background", seed=3, steps=4, guidance_scale=6.0, width=SIZE,
                             height=SIZE, scheduler="euler", controls=controls, preview_every=0)
    return sample(base, request).image.astype(float)


@pytest.mark.parametrize("kind", ["controlnet", "adapter"])
def test_a_white_region_is_no_region_to_the_pixel(networks, kind):
    base, nets = networks
    assert region_weights(np.full((32, 48), 255, np.uint8), SIZE, SIZE) is None  # a white mask of any size
    whole = _image(base, [ControlInput(nets[kind], scribble_pixels(SIZE))])
    ones = _image(base, [ControlInput(nets[kind], scribble_pixels(SIZE), region=np.ones((SIZE, SIZE), np.float32))])
    assert max_diff(whole, ones) == 0


@pytest.mark.parametrize("kind", ["controlnet", "adapter"])
def test_outside_its_region_a_condition_adds_nothing_to_the_unet(networks, kind):
    base, nets = networks
    control = ControlInput(nets[kind], scribble_pixels(SIZE), region=_left_half())
    [guidance] = prepare_guidance(base, [control], SIZE, SIZE, True, SIZE // 8)
    torch.manual_seed(0)
    latent_in = torch.randn(2, 4, SIZE // 8, SIZE // 8)
    conditioning = Conditioning(torch.randn(2, 77, base.unet.config.cross_attention_dim))
    with torch.inference_mode():
        part = guidance_inputs([guidance], latent_in, torch.tensor(500), conditioning, True, lambda module: module)
        whole = guidance.inner.inputs(latent_in, torch.tensor(500), conditioning, True, lambda module: module)
    parts = [*part.down, part.mid] if kind == "controlnet" else list(part.intrablock)
    wholes = [*whole.down, whole.mid] if kind == "controlnet" else list(whole.intrablock)
    for got, full in zip(parts, wholes, strict=True):
        half = got.shape[-1] // 2
        if half == 0:  # a 1-pixel grid straddles the edge: the average of the region over it
            torch.testing.assert_close(got, full * 0.5)
            continue
        assert torch.count_nonzero(got[..., half:]) == 0
        torch.testing.assert_close(got[..., :half], full[..., :half])


@pytest.mark.parametrize("kind", ["controlnet", "adapter"])
def test_a_half_region_steers_its_half_and_leaks_less_into_the_other(networks, kind):
    """Measured on the tiny random models at 128 px (docs/PERFORMANCE.md has the figures): the region's
    half stays close to the whole-image control, the other half closer to no control than the whole is."""
    base, nets = networks
    none = _image(base, [])
    whole = _image(base, [ControlInput(nets[kind], scribble_pixels(SIZE))])
    region = _image(base, [ControlInput(nets[kind], scribble_pixels(SIZE), region=_left_half())])
    quarter = SIZE // 4

    def near(a, b):
        return float(np.abs(a[:, :quarter] - b[:, :quarter]).mean())

    def far(a, b):
        return float(np.abs(a[:, -quarter:] - b[:, -quarter:]).mean())

    assert near(region, whole) < 0.6 * near(none, whole)
    assert far(region, none) < 0.85 * far(whole, none)


def _region_recipe(tmp_path, family_models, region_file: str | None, **overrides):
    Image.fromarray(scribble_pixels(SIZE)).save(tmp_path / "scribble.png")
    condition = {"kind": "scribble", "image": "scribble.png", "controlnet": str(family_models.sd1_net)}
    if region_file:
        condition["region_mask"] = region_file
    recipe = {"prompt": "a red circle", "seed": 3, "steps": 3, "guidance_scale": 5.0, "width": SIZE, "height": SIZE,
              "scheduler": "euler", "base_model": str(family_models.sd1), "conditions": [condition]} | overrides
    path = tmp_path / f"recipe-{Path(region_file).stem if region_file else 'none'}.json"
    path.write_text(json.dumps(recipe))
    return path


def _pixels(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def test_a_recipe_carries_its_region_as_a_file_or_embedded(tmp_path, family_models):
    Image.new("L", (64, 64), 255).save(tmp_path / "white.png")
    left = np.zeros((64, 64), np.uint8)
    left[:, :32] = 255
    Image.fromarray(left).save(tmp_path / "left.png")
    outputs = {}
    for name in (None, "white.png", "left.png"):
        out = tmp_path / f"out-{Path(name).stem if name else 'none'}.png"
        assert main(["render", str(_region_recipe(tmp_path, family_models, name)), "-o", str(out), "--quiet"]) == 0
        outputs[name] = _pixels(out)
    assert np.array_equal(outputs[None], outputs["white.png"])
    assert max_diff(outputs[None], outputs["left.png"]) > 5
    written = json.loads(Image.open(tmp_path / "out-left.png").info[RECIPE_KEY])
    assert written["conditions"][0]["region_mask_data"]  # the PNG carries its region
    (tmp_path / "left.png").unlink()
    again = tmp_path / "again.png"
    assert main(["render", str(tmp_path / "out-left.png"), "-o", str(again), "--quiet"]) == 0
    assert np.array_equal(_pixels(again), outputs["left.png"])


def test_a_strangers_recipe_may_not_name_a_local_region_file(tmp_path, family_models):
    Image.new("L", (64, 64), 0).save(tmp_path / "private.png")
    data = json.loads(_region_recipe(tmp_path, family_models, str(tmp_path / "private.png")).read_text())
    data["conditions"][0].pop("image")  # a stranger's recipe embeds its control image
    data["conditions"][0]["image_data"] = base64.b64encode((tmp_path / "scribble.png").read_bytes()).decode()
    recipe = recipe_from_dict(data, base_dir=tmp_path, self_contained=True)
    with pytest.raises(UntrustedPath, match=r"^conditions\[0\]\.region_mask names the local file"):
        prepare_request(ModelCache(choose_device("cpu")), recipe, PreviewSettings())


def test_a_region_begun_with_the_eraser_takes_away_from_everywhere():
    """No region steers everywhere, so erasing first leaves everywhere but the erased stroke."""
    from desktop.conditions.layer_images import region_mask
    from desktop.domain.layers import ScribbleLayer, Stroke

    erased = Stroke(((0.0, 32.0, 1.0), (64.0, 32.0, 1.0)), 8.0, erase=True)
    mask = region_mask(ScribbleLayer(name="s", region_operations=(erased,)), 64, 64)
    assert mask[0, 0] == 255 and mask[63, 63] == 255 and mask[32, 32] == 0
    painted = Stroke(((0.0, 32.0, 1.0), (64.0, 32.0, 1.0)), 8.0)
    mask = region_mask(ScribbleLayer(name="s", region_operations=(painted, erased)), 64, 64)
    assert mask.max() < 128  # painted, then erased: nowhere (but for a soft edge)


def test_a_recipe_keeps_its_region_without_embedding_its_images():
    from desktop.domain.recipe import Condition, Recipe

    recipe = Recipe(conditions=[Condition(image="a.png", region_mask_data=b"\x89PNG region")])
    again = recipe_from_dict(json.loads(recipe.to_json()))
    assert again.conditions[0].region_mask_data == b"\x89PNG region"
