"""Inpaint conditions in recipes: the mask from a file or embedded, what the sampler is fed, and a
PNG that renders again with neither the photo nor the mask file present."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest
from PIL import Image

from desktop.cli import main
from desktop.conditions.image_io import encode_png, read_image
from desktop.domain.errors import InvalidRecipe
from desktop.domain.recipe import load_recipe_file, recipe_from_dict
from desktop.conditions.result_png import RECIPE_KEY
from desktop.engine.render import PreviewSettings, prepare_request

SIZE = 64


def _photo() -> np.ndarray:
    pixels = np.full((SIZE, SIZE, 3), 200, np.uint8)
    pixels[8:40, 8:40] = (30, 90, 160)
    return pixels


def _mask() -> np.ndarray:
    mask = np.zeros((SIZE, SIZE), np.uint8)
    mask[32:56, 20:60] = 255
    return mask


@pytest.fixture()
def inpaint_recipe(tmp_path, tiny_models):
    Image.fromarray(_photo()).save(tmp_path / "photo.png")
    Image.fromarray(_mask()).save(tmp_path / "mask.png")
    data = {
        "prompt": "a red circle", "seed": 5, "steps": 2, "width": SIZE, "height": SIZE,
        "base_model": str(tiny_models.base),
        "conditions": [{"kind": "inpaint", "image": "photo.png", "preprocess": "inpaint",
                        "params": {"mask": "mask.png"}, "controlnet": str(tiny_models.controlnet)}],
    }
    path = tmp_path / "inpaint.json"
    path.write_text(json.dumps(data))
    return path


def test_the_sampler_is_fed_minus_one_exactly_where_the_mask_is_white(inpaint_recipe, cpu_cache):
    _, request, embedded = prepare_request(cpu_cache, load_recipe_file(inpaint_recipe), PreviewSettings())
    control = request.controls[0].image
    masked = control[..., 0] == -1.0
    assert np.array_equal(masked, _mask() > 127)
    assert np.allclose(control[~masked], (_photo() / 255.0)[~masked], atol=1e-6)
    condition = embedded.conditions[0]
    assert "mask" not in condition.params
    assert np.array_equal(read_image(condition.mask_data)[..., 0], _mask())


def test_an_embedded_mask_feeds_the_same_control_as_a_mask_file(inpaint_recipe, cpu_cache):
    from_file = load_recipe_file(inpaint_recipe)
    data = json.loads(inpaint_recipe.read_text())
    data["conditions"][0]["params"] = {}
    data["conditions"][0]["mask_data"] = base64.b64encode(encode_png(_mask())).decode()
    embedded = recipe_from_dict(data, inpaint_recipe.parent)
    _, a, _ = prepare_request(cpu_cache, from_file, PreviewSettings())
    _, b, _ = prepare_request(cpu_cache, embedded, PreviewSettings())
    assert np.array_equal(a.controls[0].image, b.controls[0].image)


def test_the_result_png_renders_again_without_the_photo_or_mask_file(inpaint_recipe, tmp_path):
    first, again = tmp_path / "first.png", tmp_path / "again.png"
    assert main(["render", str(inpaint_recipe), "-o", str(first), "--quiet"]) == 0
    (tmp_path / "photo.png").unlink()
    (tmp_path / "mask.png").unlink()
    stored = json.loads(Image.open(first).info[RECIPE_KEY])["conditions"][0]
    assert stored["mask_data"] and "mask" not in stored.get("params", {})
    assert main(["render", str(first), "-o", str(again), "--quiet"]) == 0
    assert np.array_equal(np.asarray(Image.open(first)), np.asarray(Image.open(again)))


def test_a_damaged_embedded_mask_is_named(tiny_models):
    data = {"conditions": [{"kind": "inpaint", "image": "photo.png", "mask_data": "not base64!"}]}
    with pytest.raises(InvalidRecipe, match=r"conditions\[0\]\.mask_data"):
        recipe_from_dict(data)


def test_an_inpaint_recipe_without_a_mask_says_so(inpaint_recipe, cpu_cache):
    data = json.loads(inpaint_recipe.read_text())
    data["conditions"][0]["params"] = {}
    with pytest.raises(InvalidRecipe, match="needs a mask image"):
        prepare_request(cpu_cache, recipe_from_dict(data, inpaint_recipe.parent), PreviewSettings())


def test_keep_unmasked_gives_back_the_photo_outside_the_mask(inpaint_recipe, tmp_path):
    data = json.loads(inpaint_recipe.read_text())
    plain, kept = tmp_path / "plain.png", tmp_path / "kept.png"
    assert main(["render", str(inpaint_recipe), "-o", str(plain), "--quiet"]) == 0
    data["conditions"][0]["keep_unmasked"] = True
    kept_recipe = tmp_path / "kept.json"
    kept_recipe.write_text(json.dumps(data))
    assert main(["render", str(kept_recipe), "-o", str(kept), "--quiet"]) == 0
    far_from_mask = np.zeros((SIZE, SIZE), bool)
    far_from_mask[:20, :] = True  # the mask is rows 32..55
    plain_pixels, kept_pixels = np.asarray(Image.open(plain))[..., :3], np.asarray(Image.open(kept))[..., :3]
    assert not np.array_equal(plain_pixels[far_from_mask], _photo()[far_from_mask])
    assert np.array_equal(kept_pixels[far_from_mask], _photo()[far_from_mask])
    inside = _mask() > 127
    assert np.array_equal(kept_pixels[inside], plain_pixels[inside])
    assert json.loads(Image.open(kept).info[RECIPE_KEY])["conditions"][0]["keep_unmasked"] is True


def test_keep_unmasked_on_another_kind_is_named():
    data = {"conditions": [{"kind": "canny", "image": "photo.png", "preprocess": "canny", "keep_unmasked": True}]}
    with pytest.raises(InvalidRecipe, match=r"conditions\[0\]\.keep_unmasked"):
        recipe_from_dict(data)


def test_previews_keep_the_unmasked_area_too(inpaint_recipe, cpu_cache):
    import cv2

    from desktop.engine.render import render

    data = json.loads(inpaint_recipe.read_text())
    data["conditions"][0]["keep_unmasked"] = True
    previews = []
    render(cpu_cache, recipe_from_dict(data, inpaint_recipe.parent), previews=PreviewSettings(every=1),
           on_step=lambda update: update.preview is not None and previews.append(update.preview))
    assert previews
    small = previews[-1]
    photo = cv2.resize(_photo(), (small.shape[1], small.shape[0]), interpolation=cv2.INTER_AREA)
    top = small.shape[0] // 4  # the mask starts at half height: the top quarter is far from it
    assert np.array_equal(small[:top], photo[:top])
