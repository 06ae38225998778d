"""A base model's card fills what a recipe leaves unset, and names the ControlNet for each kind."""

from __future__ import annotations

import json

import pytest

from desktop.domain.errors import InvalidRecipe
from desktop.domain.model_card import CARD_FILE
from desktop.domain.recipe import recipe_from_dict
from desktop.domain.defaults import DEMO_MODEL, default_controlnet, model_card, with_card_defaults

CARD = {"version": 1, "defaults": {"width": 96, "height": 64, "guidance_scale": 4.5, "steps": 12, "scheduler": "ddim"},
        "guidance_range": [1, 6], "controlnets": {"controlnet_pose": ["pose"], "controlnet_lines": ["canny", "lines"]},
        "other_controlnets": False}


@pytest.fixture()
def carded_model(tmp_path):
    folder = tmp_path / "model"
    (folder / "controlnet_pose").mkdir(parents=True)
    (folder / CARD_FILE).write_text(json.dumps(CARD))
    return folder


def test_unset_values_come_from_the_card_and_set_ones_stay(carded_model):
    recipe = recipe_from_dict({"prompt": "x", "base_model": str(carded_model), "guidance_scale": 7.5})
    filled = with_card_defaults(recipe)
    assert (filled.width, filled.height, filled.steps, filled.scheduler) == (96, 64, 12, "ddim")
    assert filled.guidance_scale == 7.5 and not filled.unset
    everything = recipe_from_dict({"prompt": "x", "base_model": str(carded_model), "width": 128, "height": 128,
                                   "guidance_scale": 2.0, "steps": 3, "scheduler": "euler"})
    assert with_card_defaults(everything) == everything


def test_a_model_without_a_card_keeps_the_recipe_defaults(tmp_path):
    recipe = recipe_from_dict({"prompt": "x", "base_model": str(tmp_path)})
    assert with_card_defaults(recipe) is recipe
    assert (recipe.width, recipe.guidance_scale) == (512, 7.5)


def test_the_card_names_the_controlnet_for_a_kind(carded_model):
    assert default_controlnet("pose", str(carded_model), "conditions[0]") == str(carded_model / "controlnet_pose")
    with pytest.raises(InvalidRecipe, match="has no depth ControlNet \\(it has canny, lines, pose\\)"):
        default_controlnet("depth", str(carded_model), "conditions[0]")
    with pytest.raises(InvalidRecipe, match="has no canny ControlNet"):  # named on the card, missing on disk
        default_controlnet("canny", str(carded_model), "conditions[0]")


def test_the_demo_model_ships_a_card_that_serves_its_controlnets():
    card = model_card(str(DEMO_MODEL))
    assert card is not None and card.defaults["width"] == 64 and card.defaults["guidance_scale"] <= card.guidance_range[1]
    for folder, kinds in card.controlnets.items():
        assert (DEMO_MODEL / folder / "config.json").is_file()
        for kind in kinds:
            assert default_controlnet(kind, str(DEMO_MODEL), "c") == str(DEMO_MODEL / folder)
    recipe = with_card_defaults(recipe_from_dict({"prompt": "a red circle on a blue background"}))
    assert (recipe.width, recipe.height, recipe.guidance_scale) == (64, 64, card.defaults["guidance_scale"])


def test_a_card_that_serves_some_kinds_leaves_the_others_to_the_family(tmp_path):
    folder = tmp_path / "model"
    (folder / "controlnet_pose").mkdir(parents=True)
    (folder / CARD_FILE).write_text(json.dumps({"version": 1, "defaults": {"steps": 30},
                                                "controlnets": {"controlnet_pose": ["pose"]}}))
    assert default_controlnet("pose", str(folder), "c") == str(folder / "controlnet_pose")
    assert default_controlnet("canny", str(folder), "c") == "lllyasviel/control_v11p_sd15_canny"


def test_half_a_size_in_the_recipe_keeps_the_other_half_from_the_recipe_too(carded_model):
    recipe = recipe_from_dict({"prompt": "x", "base_model": str(carded_model), "height": 512})
    filled = with_card_defaults(recipe)
    assert (filled.width, filled.height) == (512, 512) and filled.steps == 12
