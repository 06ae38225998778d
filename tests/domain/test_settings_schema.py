"""One settings schema: every setting's rule is checked by the recipe and the project reader as the
schema states it, and every place that starts from a default starts from the schema's. Parametrized
over the schema, so a setting added there is covered here without a new test."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import fields

import pytest

from desktop.domain import settings_schema as schema
from desktop.domain.document import GenerationSettings
from desktop.domain.errors import InvalidRecipe
from desktop.domain.layers import ImageLayer, Layer, ScribbleLayer
from desktop.domain.project import project_from_dict
from desktop.domain.recipe import Condition, LoraEntry, Recipe, recipe_from_dict, setting_problem
from desktop.domain.settings_schema import (
    CONDITION, END, GENERATION, LAYER, LORA, MODE, RECIPE_SETTINGS, RESIZE_MODE, SCHEDULER, START, Setting,
)

ALL = tuple(dict.fromkeys(GENERATION + CONDITION + LAYER + LORA))
_IN_RECIPE = {id(s): where for group, where in ((RECIPE_SETTINGS, ""), (CONDITION, "conditions[0]."),
                                               (LORA, "loras[0].")) for s in group}


def _id(setting: Setting) -> str:
    return f"{'lora.' if setting in LORA else ''}{setting.key}"


def _recipe_with(setting: Setting, value) -> dict:
    """A good recipe whose `setting` (top level, in its condition, or in its LoRA) holds `value`."""
    data = {"prompt": "a house", "base_model": "some/model",
            "conditions": [{"kind": "scribble", "image_data": base64.b64encode(b"png").decode("ascii")}],
            "loras": [{"path": "style.safetensors"}]}
    target = {"": data, "conditions[0].": data["conditions"][0], "loras[0].": data["loras"][0]}
    target[_IN_RECIPE[id(setting)]][setting.key] = value
    return data


def _number(value) -> str:
    """A bound as a message shows it: a whole number as written, a float by `:g`."""
    return str(value) if isinstance(value, int) else f"{value:g}"


def _past_limits():
    """Each bound of each numeric setting the recipe holds, and the value one step beyond it."""
    for setting in ALL:
        if id(setting) not in _IN_RECIPE or setting.type not in (int, float):
            continue
        step = 1 if setting.type is int else setting.step
        assert step, f"{setting.key} needs a step, the finest change a widget offers"
        for side, bound, value in (("below", setting.minimum, setting.minimum - step if setting.minimum is not None
                                    else None),
                                   ("above", setting.maximum, setting.maximum + step if setting.maximum is not None
                                    else None)):
            if bound is not None:
                yield pytest.param(setting, value, id=f"{_id(setting)}-{side}")


def test_the_schema_is_whole():
    for setting in ALL:
        assert setting.type in (str, int, float, bool) and setting.label, setting.key
        if setting.type in (int, float):
            assert setting.minimum is not None and setting.maximum is not None, f"{setting.key} has no limits"
            assert setting.minimum <= setting.default <= setting.maximum, setting.key
        if setting.choices:
            assert len(set(setting.values)) == len(setting.values) and all(c.label for c in setting.choices)
            assert setting.default in setting.values and setting.initial in setting.values, setting.key
    assert [s.key for s in GENERATION] == [f.name for f in fields(GenerationSettings)][:len(GENERATION)], \
        "the schema's generation settings are the document's, in its order"


@pytest.mark.parametrize("setting", ALL, ids=_id)
def test_every_default_and_initial_value_passes_its_own_rule(setting):
    assert setting_problem(setting, setting.default) is None
    assert setting_problem(setting, setting.initial) is None
    if id(setting) in _IN_RECIPE:
        recipe_from_dict(_recipe_with(setting, setting.default))


def test_a_recipe_of_defaults_is_valid_and_holds_the_schemas_defaults():
    recipe = recipe_from_dict({"conditions": [{"image": "x.png"}], "loras": [{"path": "a.safetensors"}]})
    for setting in RECIPE_SETTINGS:
        assert getattr(recipe, setting.key) == getattr(Recipe(), setting.key) == setting.default, setting.key
    for setting in CONDITION:
        assert getattr(recipe.conditions[0], setting.key) == getattr(Condition(), setting.key) == setting.default
    assert recipe.loras[0].weight == LoraEntry("a.safetensors").weight == schema.LORA_WEIGHT.default
    assert recipe.unset == {s.key for s in RECIPE_SETTINGS if s.card_default}
    written = recipe.to_dict()
    assert all(written[s.key] == s.default for s in RECIPE_SETTINGS)


def test_new_documents_and_layers_start_at_the_schemas_initial_values():
    settings = GenerationSettings()
    for setting in GENERATION:
        assert getattr(settings, setting.key) == setting.initial, setting.key
    for layer in (Layer(name="l"), ScribbleLayer(name="s"), ImageLayer(name="i")):
        for setting in LAYER:
            assert getattr(layer, setting.key) == setting.initial, (layer.kind, setting.key)
    assert ImageLayer(name="i").resize_mode == RESIZE_MODE.initial
    assert ImageLayer(name="i").keep_unmasked == schema.KEEP_UNMASKED.initial


@pytest.mark.parametrize("setting, value", list(_past_limits()))
def test_the_recipe_refuses_a_value_one_step_past_each_limit_naming_the_key_and_the_bounds(setting, value):
    where = _IN_RECIPE[id(setting)]
    with pytest.raises(InvalidRecipe) as caught:
        recipe_from_dict(_recipe_with(setting, value))
    low, high = (setting.minimum, setting.maximum) if setting.type is float else \
        (int(setting.minimum), int(setting.maximum))
    assert str(caught.value).startswith(
        f"{where}{setting.key}: must be between {_number(low)} and {_number(high)}, got "), str(caught.value)
    assert setting_problem(setting, low) is None and setting_problem(setting, high) is None  # the bounds are in


@pytest.mark.parametrize("setting", [s for s in ALL if id(s) in _IN_RECIPE], ids=_id)
def test_the_recipe_refuses_a_value_of_another_kind_naming_the_key(setting):
    where = _IN_RECIPE[id(setting)]
    wrong, rule = {str: (5, "must be text"), int: ("5", "must be a whole number"), float: ("5", "must be a number"),
                   bool: ("yes", "must be true or false")}[setting.type]
    with pytest.raises(InvalidRecipe, match=rf"^{re.escape(where)}{setting.key}: {rule}"):
        recipe_from_dict(_recipe_with(setting, wrong))


@pytest.mark.parametrize("setting", [s for s in ALL if s.choices and id(s) in _IN_RECIPE], ids=_id)
def test_the_recipe_refuses_a_choice_outside_the_schema_listing_its_choices(setting):
    where = _IN_RECIPE[id(setting)]
    with pytest.raises(InvalidRecipe) as caught:
        recipe_from_dict(_recipe_with(setting, "no-such-choice"))
    assert str(caught.value) == f"{where}{setting.key}: must be one of {', '.join(setting.values)}, " \
                                "got 'no-such-choice'"
    for value in setting.values:
        recipe_from_dict(_recipe_with(setting, value))


@pytest.mark.parametrize("setting", [s for s in ALL if s.multiple_of and id(s) in _IN_RECIPE], ids=_id)
def test_the_recipe_refuses_a_size_off_its_multiple(setting):
    value = int(setting.minimum) + setting.multiple_of // 2
    with pytest.raises(InvalidRecipe, match=rf"^{setting.key}: must be a multiple of {setting.multiple_of}, got {value}$"):
        recipe_from_dict(_recipe_with(setting, value))


# -- the project file: a setting out of range is reset with a warning, a layer's number is clamped --------
def _project(settings: dict | None = None, layer: dict | None = None) -> dict:
    layers = [{"name": "L", "kind": "scribble", "operations": [], **(layer or {})}]
    return {"format": "controlnet-studio-project", "version": 1, "settings": settings or {}, "layers": layers}


def _out_of_range(setting: Setting):
    step = 1 if setting.type is int else setting.step
    return [(setting.minimum - step, "below"), (setting.maximum + step, "above")]


@pytest.mark.parametrize("setting, value", [
    pytest.param(s, value, id=f"{s.key}-{side}")
    for s in GENERATION if s.type in (int, float) for value, side in _out_of_range(s)
] + [pytest.param(s, "no-such-choice", id=s.key) for s in GENERATION if s.choices])
def test_a_project_setting_past_its_limit_is_reset_to_the_documents_value_with_a_warning(setting, value):
    loaded = project_from_dict(_project({setting.key: value}))
    assert getattr(loaded.document.settings, setting.key) == setting.initial
    assert loaded.warnings == [f"setting {setting.key} had an invalid value and was reset"]
    edge = setting.values[-1] if setting.choices else setting.maximum
    if setting.multiple_of:
        edge = int(setting.maximum) // setting.multiple_of * setting.multiple_of
    kept = project_from_dict(_project({setting.key: edge}))
    assert getattr(kept.document.settings, setting.key) == edge and kept.warnings == []


@pytest.mark.parametrize("setting, value, side", [
    pytest.param(s, value, side, id=f"{s.key}-{side}")
    for s in LAYER if s.type is float for value, side in _out_of_range(s)
])
def test_a_project_layer_number_past_its_limit_is_clamped_to_the_schemas_bound(setting, value, side):
    layer = project_from_dict(_project(layer={setting.key: value})).document.layers[0]
    expected = {s.key: s.initial for s in LAYER if s.type is float}
    expected[setting.key] = setting.minimum if side == "below" else setting.maximum
    if expected[START.key] >= expected[END.key]:  # a start clamped onto its end: the whole range again
        expected[START.key], expected[END.key] = START.default, END.default
    assert {key: getattr(layer, key) for key in expected} == expected


def test_a_project_layer_choice_outside_the_schema_is_what_a_new_layer_starts_with():
    png = base64.b64encode(b"png").decode("ascii")
    layer = project_from_dict(_project(layer={"kind": "image", "png": png, "mode": "nonsense",
                                              "resize_mode": ["x"]})).document.layers[0]
    assert (layer.mode, layer.resize_mode) == (MODE.initial, RESIZE_MODE.initial)
    for mode in MODE.values:
        assert project_from_dict(_project(layer={"mode": mode})).document.layers[0].mode == mode


# -- the engine's own tables cover every choice ----------------------------------------------------------
def test_every_scheduler_has_a_builder_and_every_control_mode_a_scaling_and_an_a1111_name():
    from desktop.engine.control_modes import block_scaling, residual_heights
    from desktop.conditions.result_png import parameters_text
    from desktop.engine.schedulers import BUILDERS

    assert list(BUILDERS) == list(SCHEDULER.values)
    heights = residual_heights(8, 4, 2)
    conditions = [Condition(mode=mode, image="x.png") for mode in MODE.values]
    for mode in MODE.values:
        block_scaling(mode, 1.0, heights)
    text = parameters_text(Recipe(conditions=conditions))
    assert text.count("Control Mode: ") == len(MODE.values)


def test_the_recipe_json_keys_of_the_schema_are_not_kept_as_unknown():
    data = json.loads(Recipe(conditions=[Condition(image="x.png")]).to_json())
    recipe = recipe_from_dict(data)
    assert recipe.extra == {} and recipe.conditions[0].extra == {} and recipe.unknown_keys() == []
