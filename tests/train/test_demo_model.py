"""The built-in demo model ships in resources/, is the default, and renders through the normal
engine path: a recipe without base_model uses it, a scribble without controlnet its ControlNet."""

from __future__ import annotations

import numpy as np

from desktop.domain.recipe import Condition, Recipe
from desktop.domain.defaults import DEMO_MODEL, default_base_model, demo_model_installed
from desktop.engine.render import render
from desktop.train.evaluate import held_out_samples, shape_mask, iou


def test_demo_model_ships_as_safetensors_and_is_small():
    assert demo_model_installed()
    files = list(DEMO_MODEL.rglob("*"))
    assert not [f for f in files if f.suffix in (".bin", ".ckpt", ".pt", ".pth")]
    weights = [f for f in files if f.suffix == ".safetensors"]
    assert len(weights) == 6  # base (text encoder, UNet, VAE) and three ControlNets: scribble, pose, edges
    assert sum(f.stat().st_size for f in weights) < 20 * 2**20  # small enough to ship in the installer
    assert default_base_model() == str(DEMO_MODEL)


def test_recipe_without_models_renders_on_the_demo(cpu_cache):
    from desktop.conditions.image_io import encode_png

    sample = held_out_samples(1, 64, seed=31_337)[0]
    recipe = Recipe(prompt=sample.prompt, seed=3, steps=20, guidance_scale=5.0, width=64, height=64, conditions=[
        Condition(kind="scribble", image="outline.png", image_data=encode_png(sample.outline))])
    result = render(cpu_cache, recipe)
    assert result.image.shape == (64, 64, 3)
    assert iou(shape_mask(result.image, sample.colour, sample.background), sample.mask) > 0.5
    assert np.std(result.image) > 10  # a picture, not a flat field
