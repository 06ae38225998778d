"""Model cards are data from strangers: every field is checked, a bad card is ignored with a reason."""

from __future__ import annotations

import json
import logging

import pytest

from desktop.domain.model_card import CARD_FILE, ModelCard, ModelCardError, parse_model_card, read_model_card
from desktop.domain.recipe import recipe_from_dict

GOOD = {"version": 1, "defaults": {"width": 64, "height": 64, "guidance_scale": 5, "steps": 20, "scheduler": "unipc"},
        "guidance_range": [1, 7.5], "controlnets": {"controlnet_pose": ["pose"], "controlnet_edges": ["canny", "lineart"]}}


def test_a_good_card_reads_back_as_written():
    card = parse_model_card(json.dumps(GOOD))
    assert card.defaults == {"width": 64, "height": 64, "guidance_scale": 5.0, "steps": 20, "scheduler": "unipc"}
    assert card.guidance_range == (1.0, 7.5)
    assert card.controlnet_for("canny") == "controlnet_edges" and card.controlnet_for("depth") is None
    assert parse_model_card(card.to_json()) == card


@pytest.mark.parametrize("change, field", [
    ({"version": 2}, "version"),
    ({"defaults": {"width": 65}}, "defaults.width"),
    ({"defaults": {"steps": 0}}, "defaults.steps"),
    ({"defaults": {"guidance_scale": "high"}}, "defaults.guidance_scale"),
    ({"defaults": {"scheduler": "plms"}}, "defaults.scheduler"),
    ({"defaults": {"base_model": "/etc/passwd"}}, "'base_model'"),
    ({"guidance_range": [8, 2]}, "guidance_range"),
    ({"controlnets": {"../../elsewhere": ["pose"]}}, "sub-folder"),
    ({"controlnets": {"controlnet_pose": ["dance"]}}, "controlnets.controlnet_pose"),
])
def test_each_bad_field_is_named(change, field):
    with pytest.raises(ModelCardError, match=field.replace(".", r"\.")):
        parse_model_card(json.dumps({**GOOD, **change}))


def test_a_damaged_card_on_disk_is_ignored_with_a_reason(tmp_path, caplog):
    (tmp_path / CARD_FILE).write_text("{not json")
    with caplog.at_level(logging.WARNING):
        assert read_model_card(tmp_path) is None
    assert "ignored: not JSON" in caplog.text
    (tmp_path / CARD_FILE).write_text("[" * 30_000)  # deeper than the parser goes, under the size cap
    assert read_model_card(tmp_path) is None and "nested too deeply" in caplog.text
    (tmp_path / CARD_FILE).write_text(json.dumps(GOOD) + " " * 70_000)
    assert read_model_card(tmp_path) is None
    assert read_model_card(tmp_path / "missing") is None


def test_a_recipe_knows_what_it_left_to_the_card():
    recipe = recipe_from_dict({"prompt": "x", "steps": 8})
    assert recipe.unset == {"width", "height", "guidance_scale", "scheduler"}
    assert recipe.with_overrides(width=128, guidance_scale=3.0).unset == {"height", "scheduler"}
    assert isinstance(ModelCard({}, (1.0, 2.0)).controlnets, dict)
