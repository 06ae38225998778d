"""Property tests: any bytes or any JSON value given to the recipe loader, the project loader and
the OpenPose reader gives a usable document or a typed error, never another exception.

"Usable" is what comes next: a recipe that loads can be written into its PNG (UTF-8 JSON), a
project that opens can be saved, people that parse can be drawn. The values include what JSON
allows but floats and UTF-8 do not: integers of hundreds or thousands of digits, 1e999 (infinity),
lone surrogates (the escape "\\ud800") and deep nesting."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from desktop.conditions.openpose_json import load_openpose_text, people_from_openpose
from desktop.conditions.pose_render import render_openpose
from desktop.domain.errors import StudioError
from desktop.domain.project import project_from_dict, project_from_text, project_to_dict
from desktop.domain.recipe import recipe_from_dict, recipe_from_json


def _nested(depth: int) -> list:
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


huge_ints = st.integers(300, 4000).map(lambda digits: int("7" * digits)) | st.integers(300, 4000).map(
    lambda digits: -int("9" * digits))
odd_floats = st.sampled_from([1e308 * 10, -1e308 * 10, float("nan"), 1e308, -5e-324])
lone_surrogates = st.sampled_from(["\ud800", "a red \udfff circle", "\udc80"])
deep = st.integers(60, 3000).map(_nested)
hostile = huge_ints | odd_floats | lone_surrogates | deep

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20) | hostile,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=6),
    max_leaves=30,
)
recipe_keys = st.sampled_from(["prompt", "seed", "steps", "guidance_scale", "width", "height", "scheduler",
                               "base_model", "conditions", "negative_prompt"])
condition_like = st.dictionaries(st.sampled_from(["kind", "image", "weight", "start", "end", "mode", "enabled",
                                                  "preprocess", "params", "pose", "image_data", "resize_mode"]),
                                 json_values, max_size=8)
recipe_like = st.dictionaries(recipe_keys, json_values | st.lists(condition_like, max_size=3), max_size=10)

# JSON text the parser itself chokes on: 4300+ digits, nesting past the stack, escapes, infinity.
hostile_tokens = (
    st.integers(1, 6000).map(lambda digits: "9" * digits)
    | st.integers(1, 200_000).map(lambda depth: "[" * depth + "]" * depth)
    | st.sampled_from(['"\\ud800"', '"x\\udfff"', "1e999", "-1e999", "1" + "0" * 400 + ".5"])
)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _writable(document: dict) -> None:
    """What a PNG's text chunk and a project save do with it."""
    json.dumps(document, ensure_ascii=False).encode("utf-8")


@FUZZ
@given(st.binary(max_size=300))
def test_recipe_from_any_bytes(data):
    try:
        recipe_from_json(data.decode("utf-8", errors="replace"))
    except StudioError:
        pass


@FUZZ
@given(json_values | recipe_like)
@example({"guidance_scale": 10**400})
@example({"prompt": "a \ud800 house"})
@example({"conditions": [], "plugin": _nested(100)})
def test_recipe_from_any_json(value):
    try:
        recipe = recipe_from_dict(value)
    except StudioError:
        return
    _writable(recipe.to_dict(embed_images=True))
    again = recipe_from_dict(json.loads(json.dumps(recipe.to_dict(embed_images=True))))
    as_text = lambda r: json.dumps(r.to_dict(embed_images=True), sort_keys=True)  # noqa: E731 - NaN != NaN
    assert as_text(again) == as_text(recipe)


@FUZZ
@given(recipe_keys, hostile_tokens)
@example("seed", "1" + "0" * 5000)
@example("guidance_scale", "1" + "0" * 400)
@example("prompt", '"\\ud800"')
def test_recipe_from_hostile_json_text(key, token):
    try:
        recipe = recipe_from_json(f'{{"{key}": {token}}}')
    except StudioError:
        return
    _writable(recipe.to_dict(embed_images=True))


project_like = st.fixed_dictionaries({"format": st.just("controlnet-studio-project")}, optional={
    "version": json_values, "settings": json_values | st.dictionaries(recipe_keys, json_values),
    "layers": st.lists(st.dictionaries(st.sampled_from(["kind", "name", "weight", "operations", "people", "png",
                                                        "enabled", "start", "end", "id", "params"]),
                                       json_values | st.sampled_from(["scribble", "pose", "image"]), max_size=8),
                       max_size=3) | json_values,
    "history": json_values | st.lists(st.fixed_dictionaries({"recipe": st.dictionaries(recipe_keys, json_values)})),
})


@FUZZ
@given(st.binary(max_size=300))
def test_project_from_any_bytes(data):
    try:
        project_from_text(data.decode("utf-8", errors="replace"))
    except StudioError:
        pass


@FUZZ
@given(json_values | project_like)
@example({"format": "controlnet-studio-project", "settings": {"guidance_scale": 10**400}})
@example({"format": "controlnet-studio-project", "settings": {"prompt": "\udfff"}})
@example({"format": "controlnet-studio-project", "layers": [{"kind": "scribble", "name": "\ud800"}]})
@example({"format": "controlnet-studio-project", "history": [{"recipe": {"prompt": float("nan")}}]})
def test_project_from_any_json(value):
    try:
        loaded = project_from_dict(value)
    except StudioError:
        return
    assert all(isinstance(w, str) and w.strip() for w in loaded.warnings)  # each one a sentence to show
    saved = project_to_dict(loaded.document)
    _writable(saved)
    again = project_from_dict(json.loads(json.dumps(saved)))  # what we save opens again, as it was
    same = json.dumps(project_to_dict(again.document), sort_keys=True) == json.dumps(saved, sort_keys=True)
    assert again.warnings == [] and same  # compared as text: a stranger's history may hold NaN, never equal to itself


@FUZZ
@given(recipe_keys, hostile_tokens)
@example("seed", "1" + "0" * 5000)
@example("prompt", '"\\ud800"')
def test_project_from_hostile_json_text(key, token):
    try:
        loaded = project_from_text(f'{{"format": "controlnet-studio-project", "settings": {{"{key}": {token}}}}}')
    except StudioError:
        return
    _writable(project_to_dict(loaded.document))


openpose_like = st.fixed_dictionaries({"people": st.lists(st.dictionaries(
    st.sampled_from(["pose_keypoints_2d", "hand_left_keypoints_2d", "face_keypoints_2d"]),
    st.lists(st.floats(allow_nan=True) | st.integers() | huge_ints | st.text(max_size=2), max_size=60) | json_values),
    max_size=3) | json_values}, optional={"canvas_width": json_values, "canvas_height": json_values})


@FUZZ
@given(json_values | openpose_like)
@example({"people": [{"pose_keypoints_2d": [10**400, 10, 1]}]})
@example({"canvas_width": 10**400, "people": []})
@example({"people": [{"pose_keypoints_2d": [1e300, 10, 1, 20, 20, 1]}]})
def test_openpose_from_any_json(value):
    try:
        people = people_from_openpose(value, 64, 64)
    except StudioError:
        return
    assert all(len(p.body) == 18 for p in people)
    render_openpose(people, 64, 64)


@FUZZ
@given(st.binary(max_size=300))
def test_openpose_from_any_bytes(data):
    try:
        load_openpose_text(data.decode("utf-8", errors="replace"), 64, 64)
    except StudioError:
        pass


@FUZZ
@given(hostile_tokens, hostile_tokens)
@example("1" + "0" * 5000, "512")
@example("1" + "0" * 400, "512")
@example("[" * 100_000 + "]" * 100_000, "512")
def test_openpose_from_hostile_json_text(coordinate, canvas):
    text = f'{{"canvas_width": {canvas}, "people": [{{"pose_keypoints_2d": [{coordinate}, 10, 1, 20, 20, 1]}}]}}'
    try:
        people = load_openpose_text(text, 64, 64)
    except StudioError:
        return
    render_openpose(people, 64, 64)
