"""A base model's card reaches what a peek says about it: the app's size and guidance range come from it."""

from __future__ import annotations

import json

from desktop.domain.family import Family, ModelInfo
from desktop.domain.model_card import CARD_FILE
from desktop.domain.defaults import DEMO_MODEL
from desktop.engine.model_peek import peek_base_info

CARD = {"version": 1, "defaults": {"width": 96, "height": 96, "guidance_scale": 4.0}, "guidance_range": [1, 6]}


def _configs_only(folder, card: dict | str | None = None):
    """An SD 1.x folder as a peek sees it (configs, no weights), with `card` beside them."""
    (folder / "unet").mkdir(parents=True)
    (folder / "scheduler").mkdir()
    (folder / "unet" / "config.json").write_text(json.dumps({"cross_attention_dim": 768, "in_channels": 4}))
    (folder / "scheduler" / "scheduler_config.json").write_text(json.dumps({"prediction_type": "epsilon"}))
    if card is not None:
        (folder / CARD_FILE).write_text(card if isinstance(card, str) else json.dumps(card))
    return str(folder)


def test_the_demo_models_card_is_read_and_its_size_is_native():
    info = peek_base_info(str(DEMO_MODEL))
    assert info.card is not None and info.card.guidance_range == (1.0, 7.5)
    assert info.native_size == 64 and info.label.endswith("64 px")


def test_a_folder_with_a_card_takes_its_size_and_one_without_keeps_its_familys(tmp_path):
    carded = peek_base_info(_configs_only(tmp_path / "carded", CARD))
    assert carded.card.defaults["guidance_scale"] == 4.0 and carded.native_size == 96
    plain = peek_base_info(_configs_only(tmp_path / "plain"))
    assert plain.card is None and plain.native_size == 512
    guidance_only = peek_base_info(_configs_only(tmp_path / "guidance", CARD | {"defaults": {"steps": 12}}))
    assert guidance_only.card.guidance_range == (1.0, 6.0) and guidance_only.native_size == 512


def test_a_damaged_card_is_ignored(tmp_path):
    info = peek_base_info(_configs_only(tmp_path / "damaged", "{not json"))
    assert info.card is None and info.native_size == 512


def test_model_info_stays_hashable_and_compares_without_its_card(tmp_path):
    carded = peek_base_info(_configs_only(tmp_path / "carded", CARD))
    same_kind = ModelInfo(Family.SD1, native_size=96)
    assert carded == same_kind and hash(carded) == hash(same_kind)
    assert {carded, same_kind} == {same_kind}
