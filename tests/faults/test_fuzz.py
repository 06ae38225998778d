"""Property tests: any bytes or any JSON value given to the recipe loader, the project loader and
the OpenPose reader gives a valid document or the typed error, never another exception."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from desktop.conditions.openpose_json import load_openpose_text, people_from_openpose
from desktop.domain.errors import InvalidProject, InvalidRecipe
from desktop.domain.project import project_from_dict, project_from_text
from desktop.domain.recipe import recipe_from_dict, recipe_from_json

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=6),
    max_leaves=30,
)
recipe_keys = st.sampled_from(["prompt", "seed", "steps", "guidance_scale", "width", "height", "scheduler",
                               "base_model", "conditions", "negative_prompt"])
condition_like = st.dictionaries(st.sampled_from(["kind", "image", "weight", "start", "end", "mode", "enabled",
                                                  "preprocess", "params", "pose", "image_data", "resize_mode"]),
                                 json_values, max_size=8)
recipe_like = st.dictionaries(recipe_keys, json_values | st.lists(condition_like, max_size=3), max_size=10)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.binary(max_size=300))
def test_recipe_from_any_bytes(data):
    try:
        recipe_from_json(data.decode("utf-8", errors="replace"))
    except InvalidRecipe:
        pass


@FUZZ
@given(json_values | recipe_like)
def test_recipe_from_any_json(value):
    try:
        recipe = recipe_from_dict(value)
    except InvalidRecipe:
        return
    again = recipe_from_dict(json.loads(json.dumps(recipe.to_dict(embed_images=True))))
    as_text = lambda r: json.dumps(r.to_dict(embed_images=True), sort_keys=True)  # noqa: E731 - NaN != NaN
    assert as_text(again) == as_text(recipe)


project_like = st.fixed_dictionaries({"format": st.just("controlnet-studio-project")}, optional={
    "version": json_values, "settings": json_values | st.dictionaries(recipe_keys, json_values),
    "layers": st.lists(st.dictionaries(st.sampled_from(["kind", "name", "weight", "operations", "people", "png",
                                                        "enabled", "start", "end", "id"]), json_values | st.sampled_from(
        ["scribble", "pose", "image"]), max_size=8), max_size=3) | json_values,
    "history": json_values,
})


@FUZZ
@given(st.binary(max_size=300))
def test_project_from_any_bytes(data):
    try:
        project_from_text(data.decode("utf-8", errors="replace"))
    except InvalidProject:
        pass


@FUZZ
@given(json_values | project_like)
def test_project_from_any_json(value):
    try:
        loaded = project_from_dict(value)
    except InvalidProject:
        return
    assert isinstance(loaded.warnings, list)


openpose_like = st.fixed_dictionaries({"people": st.lists(st.dictionaries(
    st.sampled_from(["pose_keypoints_2d", "hand_left_keypoints_2d", "face_keypoints_2d"]),
    st.lists(st.floats(allow_nan=True) | st.integers() | st.text(max_size=2), max_size=60) | json_values),
    max_size=3) | json_values}, optional={"canvas_width": json_values, "canvas_height": json_values})


@FUZZ
@given(json_values | openpose_like)
def test_openpose_from_any_json(value):
    try:
        people = people_from_openpose(value, 64, 64)
    except InvalidRecipe:
        return
    assert all(len(p.body) == 18 for p in people)


@FUZZ
@given(st.binary(max_size=300))
def test_openpose_from_any_bytes(data):
    try:
        load_openpose_text(data.decode("utf-8", errors="replace"), 64, 64)
    except InvalidRecipe:
        pass
