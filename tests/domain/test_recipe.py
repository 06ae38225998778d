"""Recipe round trip, unknown keys kept, and validation naming the field and the rule."""

from __future__ import annotations

import json

import pytest

from desktop.domain.errors import InvalidRecipe, UntrustedPath
from desktop.domain.recipe import (
    MAX_CONDITIONS, RECIPE_VERSION, load_recipe_file, recipe_from_dict, recipe_from_json, runs_at,
)

GOOD = {
    "prompt": "a house", "negative_prompt": "", "seed": 42, "steps": 20, "guidance_scale": 7.5,
    "width": 512, "height": 512, "scheduler": "unipc", "base_model": "some/model",
    "conditions": [{"kind": "scribble", "image": "scribble.png", "controlnet": "some/net",
                    "weight": 1.0, "start": 0.0, "end": 1.0, "mode": "balanced", "enabled": True}],
}


def _with(path: str, value):
    data = json.loads(json.dumps(GOOD))
    target = data
    keys = path.split(".")
    for key in keys[:-1]:
        target = target[int(key)] if key.isdigit() else target[key]
    target[keys[-1]] = value
    return data


def test_round_trip_keeps_unknown_keys_and_writes_version():
    data = _with("conditions.0.future_option", {"x": 1})
    data["plugin_setting"] = [1, 2]
    recipe = recipe_from_dict(data)
    again = recipe.to_dict()
    assert again["version"] == RECIPE_VERSION
    assert again["plugin_setting"] == [1, 2]
    assert again["conditions"][0]["future_option"] == {"x": 1}
    assert recipe_from_dict(again) == recipe


def test_relative_paths_resolve_against_the_recipe_folder(tmp_path):
    (tmp_path / "scribble.png").write_bytes(b"x")
    path = tmp_path / "r.json"
    path.write_text(json.dumps(GOOD))
    recipe = load_recipe_file(path)
    assert recipe.local_file("scribble.png", "image") == str(tmp_path / "scribble.png")
    assert recipe.model_reference("some/net") == "some/net"


def test_a_file_missing_from_the_recipe_folder_is_not_looked_for_in_the_current_folder(tmp_path, monkeypatch):
    (tmp_path / "recipes").mkdir()
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "scribble.png").write_bytes(b"x")
    monkeypatch.chdir(tmp_path / "elsewhere")
    path = tmp_path / "recipes" / "r.json"
    path.write_text(json.dumps(GOOD))
    with pytest.raises(InvalidRecipe) as info:
        load_recipe_file(path).local_file("scribble.png", "conditions[0].image")
    assert str(info.value) == f"conditions[0].image: 'scribble.png' was not found in the recipe's folder {path.parent}"


def test_a_self_contained_recipe_refuses_every_local_file_alike(tmp_path):
    (tmp_path / "there.png").write_bytes(b"x")
    recipe = recipe_from_dict(GOOD, tmp_path, self_contained=True)
    messages = []
    for name in (str(tmp_path / "there.png"), str(tmp_path / "absent.png"), "there.png", "../there.png"):
        with pytest.raises(UntrustedPath) as info:
            recipe.local_file(name, "conditions[0].image")
        messages.append(str(info.value).replace(name, "NAME"))
    assert len(set(messages)) == 1
    assert recipe.model_reference("some/net") == "some/net"  # models are not local files


def test_a_self_contained_recipe_loads_hub_models_only(tmp_path, monkeypatch):
    (tmp_path / "owner" / "name").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    recipe = recipe_from_dict(GOOD, self_contained=True).with_overrides(local_models=False)  # a PNG's
    assert recipe.preprocessor_model("someone/depth-v2.1", "params.model") == "someone/depth-v2.1"
    for name in ("/models/depth", "~/depth", "./depth", "depth", "someone/../depth", "a/b/c", "C:/depth",
                 "owner/name"):  # the last is a folder here: the loader would read it
        with pytest.raises(UntrustedPath, match=r"^params\.model names the local model "):
            recipe.preprocessor_model(name, "params.model")
    assert recipe_from_dict(GOOD).preprocessor_model("./depth", "params.model") == "./depth"  # a user's own recipe
    # the app's recipes: files embedded, but the networks the user picked in a layer's fields load
    assert recipe_from_dict(GOOD, self_contained=True).preprocessor_model("/models/depth", "params.model") == "/models/depth"


def test_a_recipe_holds_a_bounded_number_of_conditions():
    """Each condition is a control image at the output size: 200 tiny images in a PNG asked for 4.9 GB."""
    condition = GOOD["conditions"][0]
    assert len(recipe_from_dict({**GOOD, "conditions": [condition] * MAX_CONDITIONS}).conditions) == MAX_CONDITIONS
    with pytest.raises(InvalidRecipe) as info:
        recipe_from_dict({**GOOD, "conditions": [condition] * 200})
    assert str(info.value) == f"conditions: must hold at most {MAX_CONDITIONS} conditions, got 200"


def test_a_utf8_byte_order_mark_is_accepted(tmp_path):
    path = tmp_path / "r.json"
    path.write_text(json.dumps(GOOD), encoding="utf-8-sig")
    assert load_recipe_file(path).prompt == "a house"


@pytest.mark.parametrize(("text", "message"), [
    (json.dumps(GOOD).replace('"guidance_scale": 7.5', '"guidance_scale": 1' + "0" * 400),
     "guidance_scale: must be a finite number, got a number with too many digits"),
    (json.dumps(GOOD).replace('"weight": 1.0', '"weight": ' + "9" * 400),
     "conditions[0].weight: must be a finite number, got a number with too many digits"),
    (json.dumps(GOOD).replace('"seed": 42', '"seed": 1' + "0" * 5000), "recipe: holds a number with too many digits"),
    (json.dumps(GOOD).replace('"seed": 42', '"seed": 1' + "0" * 400),
     "seed: must be between 0 and 4294967295, got a number with too many digits"),
    (json.dumps(GOOD).replace('"a house"', '"a \\ud800 house"'),
     "recipe: holds text with a broken character (a lone surrogate)"),
    ('{"prompt": "x", "plugin": ' + "[" * 100_000 + "]" * 100_000 + "}", "recipe: is nested too deeply"),
    ('{"prompt": "x", "plugin": ' + "[" * 500 + "]" * 500 + "}", "recipe: is nested too deeply"),
    (json.dumps(GOOD).replace('"scheduler": "unipc"', '"scheduler": "' + "x" * 2_000_000 + '"'),
     "scheduler: must be one of unipc, dpmpp_2m_karras, euler_a, euler, ddim, got '" + "x" * 39 + "..."),
])
def test_numbers_text_and_depth_json_allows_but_a_render_cannot_use_are_one_sentence(text, message):
    with pytest.raises(InvalidRecipe) as info:
        recipe_from_json(text)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        ("steps", 0, "steps"), ("steps", 151, "steps"), ("steps", 2.5, "steps"),
        ("guidance_scale", -1, "guidance_scale"), ("guidance_scale", 31, "guidance_scale"),
        ("guidance_scale", float("nan"), "guidance_scale"), ("guidance_scale", float("inf"), "guidance_scale"),
        ("width", 500, "width"), ("height", 2056, "height"), ("width", 56, "width"),
        ("seed", -1, "seed"), ("seed", 2**32, "seed"), ("seed", "42", "seed"),
        ("scheduler", "plms", "scheduler"), ("prompt", 5, "prompt"),
        ("conditions.0.weight", 2.5, "conditions[0].weight"), ("conditions.0.weight", -0.1, "conditions[0].weight"),
        ("conditions.0.start", 0.5, None), ("conditions.0.end", 1.5, "conditions[0].end"),
        ("conditions.0.mode", "loud", "conditions[0].mode"), ("conditions.0.kind", "magic", "conditions[0].kind"),
        ("conditions.0.enabled", "yes", "conditions[0].enabled"), ("conditions.0.image", None, "conditions[0].image"),
        ("conditions", {}, "conditions"),
    ],
)
def test_validation_names_the_field(path, value, field):
    data = _with(path, value)
    if path == "conditions.0.start":
        data["conditions"][0]["end"] = 0.5
        field = "conditions[0].start"
    with pytest.raises(InvalidRecipe) as info:
        recipe_from_dict(data)
    assert info.value.field == field
    assert str(info.value).startswith(field)


def test_bad_json_and_non_objects_are_invalid_recipes():
    for text in ("{", "[]", "42", '"x"', "null"):
        with pytest.raises(InvalidRecipe):
            recipe_from_json(text)


def test_empty_prompt_and_unicode_are_valid():
    recipe = recipe_from_dict(_with("prompt", "")).with_overrides(negative_prompt="ñ 日本 🏠")
    assert recipe.validate().prompt == ""


def test_condition_activity_follows_diffusers_rule():
    assert [runs_at(True, 1.0, 0.2, 0.6, i, 10) for i in range(10)] == [
        False, False, True, True, True, True, False, False, False, False]
    assert not runs_at(True, 0.0, 0.0, 1.0, 5, 10)
    assert not runs_at(False, 1.0, 0.0, 1.0, 5, 10)


def test_embedded_images_survive_json():
    recipe = recipe_from_dict(GOOD)
    recipe.conditions[0].image_data = b"\x89PNG fake"
    again = recipe_from_json(json.dumps(recipe.to_dict(embed_images=True)))
    assert again.conditions[0].image_data == b"\x89PNG fake"
