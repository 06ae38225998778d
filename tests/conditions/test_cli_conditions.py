"""`preprocess` and `pose` sub-commands, and recipes with preprocess / params / pose keys."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from desktop.cli import main
from desktop.conditions.openpose_json import people_to_openpose
from desktop.conditions.pose_render import render_openpose
from desktop.domain.pose import t_pose


@pytest.fixture()
def photo_file(tmp_path, photo):
    path = tmp_path / "photo.png"
    Image.fromarray(photo).save(path)
    return path


def test_preprocess_canny_writes_the_control_image(photo_file, tmp_path, capsys):
    out = tmp_path / "edges.png"
    assert main(["preprocess", "canny", str(photo_file), "-o", str(out), "--param", "low=50", "--width", "64",
                 "--height", "64"]) == 0
    edges = np.asarray(Image.open(out))
    assert edges.shape == (64, 64, 3) and set(np.unique(edges)) <= {0, 255}
    assert "control_v11p_sd15_canny" in capsys.readouterr().out


def test_pose_render_matches_the_renderer(tmp_path):
    people = [t_pose(256, 192)]
    pose = tmp_path / "pose.json"
    pose.write_text(json.dumps(people_to_openpose(people, 256, 192)))
    out = tmp_path / "pose.png"
    assert main(["pose", "render", str(pose), "-o", str(out)]) == 0
    assert np.array_equal(np.asarray(Image.open(out)), render_openpose(people, 256, 192))


def test_pose_detect_writes_openpose_json(photo_file, tmp_path, tiny_networks, monkeypatch):
    import desktop.conditions.preprocessors.neural as neural

    original = neural.detect_people
    monkeypatch.setattr(neural, "detect_people", lambda image, cache, detector, pose_model, *a: original(
        image, cache, detector, pose_model, 0.0, 0.0))
    out = tmp_path / "people.json"
    assert main(["pose", "detect", str(photo_file), "-o", str(out), "--detector", str(tiny_networks.detector),
                 "--pose-model", str(tiny_networks.pose)]) == 0
    data = json.loads(out.read_text())
    assert data["people"] and len(data["people"][0]["pose_keypoints_2d"]) == 54


@pytest.mark.parametrize("argv", [
    ["preprocess", "magic", "{photo}", "-o", "{out}"],
    ["preprocess", "canny", "{missing}", "-o", "{out}"],
    ["preprocess", "canny", "{photo}", "-o", "{out}", "--param", "low=999"],
    ["preprocess", "canny", "{photo}", "-o", "{out}", "--param", "oops"],
    ["preprocess", "inpaint", "{photo}", "-o", "{out}"],
    ["pose", "render", "{missing}", "-o", "{out}"],
    ["pose", "render", "{photo}", "-o", "{out}"],
    ["pose", "detect", "{photo}", "-o", "{nofolder}/people.json"],
    ["bench", "--model", "tiny", "--json", "{nofolder}/bench.json"],
    ["bench", "--model", "tiny", "--size", "32"],
    ["bench", "--model", "tiny", "--steps", "1"],
    ["train", "evaluate", "--grid", "{nofolder}/grid.png"],
])
def test_bad_condition_input_exits_2_with_one_line(argv, photo_file, tmp_path, capsys):
    out = tmp_path / "never.png"
    args = [a.format(photo=photo_file, out=out, missing=tmp_path / "missing.png", nofolder=tmp_path / "nofolder")
            for a in argv]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ")
    assert not out.exists()


def test_recipe_with_preprocessor_and_pose_keypoints_renders(tmp_path, photo_file, tiny_models, capsys):
    people = people_to_openpose([t_pose(64, 64)], 64, 64)
    recipe = {
        "prompt": "a person", "steps": 2, "width": 64, "height": 64, "base_model": str(tiny_models.base),
        "conditions": [
            {"kind": "canny", "image": photo_file.name, "preprocess": "canny", "params": {"low": 40},
             "resize_mode": "crop_and_resize", "controlnet": str(tiny_models.controlnet)},
            {"kind": "pose", "pose": people, "controlnet": str(tiny_models.controlnet2)},
        ],
    }
    path = tmp_path / "recipe.json"
    path.write_text(json.dumps(recipe))
    out = tmp_path / "out.png"
    assert main(["render", str(path), "-o", str(out), "--quiet"]) == 0
    again = tmp_path / "again.png"
    assert main(["render", str(out), "-o", str(again), "--quiet"]) == 0
    assert np.array_equal(np.asarray(Image.open(out)), np.asarray(Image.open(again)))


def test_moving_a_weight_never_reruns_the_preprocessor(tmp_path, photo_file, tiny_models):
    from desktop.conditions.prepare import PREPROCESS_CACHE
    from desktop.domain.recipe import Condition, Recipe
    from desktop.engine.device import choose_device
    from desktop.engine.model_cache import ModelCache
    from desktop.engine.render import PreviewSettings, prepare_request

    cache = ModelCache(choose_device("cpu"))
    condition = Condition(kind="canny", image=str(photo_file), preprocess="canny", params={"low": 77},
                          controlnet=str(tiny_models.controlnet))
    recipe = Recipe(base_model=str(tiny_models.base), width=64, height=64, conditions=[condition])
    prepare_request(cache, recipe, PreviewSettings())
    runs = PREPROCESS_CACHE.runs
    moved = recipe.with_overrides(conditions=[Condition(**{**condition.__dict__, "weight": 0.4})])
    prepare_request(cache, moved, PreviewSettings())
    assert PREPROCESS_CACHE.runs == runs
