"""Issue 13, item 2: a recipe from a stranger's PNG or project never reads your files.

`render theirs.png` whose recipe names a local file (absolute, `../`, an inpaint mask, an OpenPose
file) is refused with one sentence that is the same whether or not the file exists, and nothing is
written; `--allow-local-files` reads them as asked. The models such a recipe asks for are named
before anything loads, and again in the final line."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from desktop.cli import main
from desktop.conditions.openpose_json import people_to_openpose
from desktop.domain.errors import ModelNotFound, UntrustedPath
from desktop.domain.pose import t_pose
from desktop.domain.document import build_recipe
from desktop.domain.project import project_from_dict
from desktop.conditions.result_png import RECIPE_KEY
from desktop.engine.render import PreviewSettings, prepare_request

PRIVATE_COLOUR = (123, 45, 67)


@pytest.fixture(scope="module")
def theirs(tmp_path_factory, tiny_models) -> Path:
    """A result PNG as a stranger would post it: rendered by the app from a JSON recipe."""
    folder = tmp_path_factory.mktemp("stranger")
    Image.open(tiny_models.scribble).resize((64, 64)).save(folder / "scribble.png")
    recipe = {"prompt": "a red circle", "seed": 3, "steps": 2, "width": 64, "height": 64,
              "base_model": str(tiny_models.base),
              "conditions": [{"kind": "scribble", "image": "scribble.png", "controlnet": str(tiny_models.controlnet)}]}
    (folder / "recipe.json").write_text(json.dumps(recipe))
    assert main(["render", str(folder / "recipe.json"), "-o", str(folder / "theirs.png"), "--quiet"]) == 0
    return folder / "theirs.png"


@pytest.fixture()
def home(tmp_path) -> Path:
    """Your folder: a private photo and a pose file, beside the Downloads folder the PNG lands in."""
    folder = tmp_path / "home"
    folder.mkdir()
    (tmp_path / "Downloads").mkdir()
    Image.new("RGB", (64, 64), PRIVATE_COLOUR).save(folder / "private.png")
    (folder / "pose.json").write_text(json.dumps(people_to_openpose([t_pose(64, 64)], 64, 64)))
    return folder


def _edited(png: Path, target: Path, edit: Callable[[dict, dict], None]) -> Path:
    """`png` with its recipe changed by edit(recipe, first condition), as a stranger can."""
    with Image.open(png) as image:
        recipe = json.loads(image.info[RECIPE_KEY])
        pixels = image.convert("RGB")
    edit(recipe, recipe["conditions"][0])
    info = PngImagePlugin.PngInfo()
    info.add_itxt(RECIPE_KEY, json.dumps(recipe), zip=True)
    pixels.save(target, pnginfo=info)
    return target


def _absolute_image(home: Path) -> Callable[[dict, dict], None]:
    def edit(recipe, condition):
        del condition["image_data"]
        condition["image"] = str(home / "private.png")
    return edit


def _relative_image(home: Path) -> Callable[[dict, dict], None]:
    def edit(recipe, condition):
        del condition["image_data"]
        condition["image"] = "../home/private.png"
    return edit


def _mask_file(home: Path) -> Callable[[dict, dict], None]:
    def edit(recipe, condition):
        condition.update(kind="inpaint", preprocess="inpaint", params={"mask": str(home / "private.png")})
    return edit


def _pose_file(home: Path) -> Callable[[dict, dict], None]:
    def edit(recipe, condition):
        del condition["image_data"], condition["image"]
        condition.update(kind="pose", pose=str(home / "pose.json"))
    return edit


ATTACKS = {
    "absolute image": (_absolute_image, "conditions[0].image", "private.png"),
    "../ image": (_relative_image, "conditions[0].image", "private.png"),
    "params.mask": (_mask_file, "conditions[0].params.mask", "private.png"),
    "pose file": (_pose_file, "conditions[0].pose", "pose.json"),
}


def _render(png: Path, out: Path, capsys, *flags: str) -> tuple[int, list[str]]:
    code = main(["render", str(png), "-o", str(out), "--quiet", *flags])
    return code, capsys.readouterr().err.strip().splitlines()


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_a_png_recipe_naming_a_local_file_is_refused_alike_whether_it_exists_or_not(attack, theirs, home, capsys):
    make_edit, field, private = ATTACKS[attack]
    png = _edited(theirs, home.parent / "Downloads" / "theirs.png", make_edit(home))
    out = home.parent / "Downloads" / "out.png"

    code, err = _render(png, out, capsys)
    assert code == 2 and len(err) == 1, err
    assert err[0].startswith(f"error: {field} names the local file ")
    assert err[0].endswith("add --allow-local-files to read it")
    assert not out.exists()

    (home / private).unlink()
    again_code, again_err = _render(png, out, capsys)
    assert (again_code, again_err) == (code, err)  # nothing tells the stranger whether your file is there
    assert not out.exists()


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_allow_local_files_reads_what_the_png_recipe_names(attack, theirs, home, capsys):
    make_edit, _, _ = ATTACKS[attack]
    png = _edited(theirs, home.parent / "Downloads" / "theirs.png", make_edit(home))
    out = home.parent / "Downloads" / "out.png"
    code, err = _render(png, out, capsys, "--allow-local-files")
    assert code == 0, err
    if attack.endswith("image"):
        embedded = json.loads(Image.open(out).info[RECIPE_KEY])["conditions"][0]["image_data"]
        photo = np.asarray(Image.open(io.BytesIO(base64.b64decode(embedded))).convert("RGB"))
        assert (photo == PRIVATE_COLOUR).all()  # read as asked, and embedded


def test_the_private_pixels_never_reach_an_output_without_the_flag(theirs, home, capsys):
    out = home.parent / "Downloads" / "out.png"
    for make_edit, _, _ in ATTACKS.values():
        png = _edited(theirs, home.parent / "Downloads" / "theirs.png", make_edit(home))
        assert _render(png, out, capsys)[0] == 2
    assert list((home.parent / "Downloads").iterdir()) == [home.parent / "Downloads" / "theirs.png"]


def test_the_models_a_png_asks_for_are_named_before_anything_loads(theirs, tiny_models, tmp_path, capsys,
                                                                   monkeypatch):
    from desktop.engine.model_cache import ModelCache

    def refuse(self, reference, progress=None):
        raise ModelNotFound("stopped before loading")

    named = f"base model {tiny_models.base} (SD 1.x, 512 px); ControlNets: {tiny_models.controlnet}"
    monkeypatch.setattr(ModelCache, "base", refuse)
    code, err = _render(theirs, tmp_path / "out.png", capsys)
    assert code == 2
    assert err == [f"recipe from theirs.png uses {named}", "error: stopped before loading"]


def test_the_final_line_names_the_models_too(theirs, tiny_models, tmp_path, capsys):
    assert main(["render", str(theirs), "-o", str(tmp_path / "again.png"), "--quiet"]) == 0
    captured = capsys.readouterr()
    named = f"base model {tiny_models.base} (SD 1.x, 512 px); ControlNets: {tiny_models.controlnet}"
    assert captured.err.strip().splitlines() == [f"recipe from theirs.png uses {named}"]
    assert captured.out.startswith(f"wrote {tmp_path / 'again.png'} (64 x 64, ") and captured.out.rstrip().endswith(
        f"; {named})")


def test_a_model_name_with_control_characters_cannot_fake_the_line(theirs, tmp_path, capsys):
    def edit(recipe, condition):
        recipe["base_model"] = "someone/model\n\x1b[32mall files embedded, nothing read"

    code, err = _render(_edited(theirs, tmp_path / "evil.png", edit), tmp_path / "out.png", capsys)
    assert code == 2
    assert err == ["error: base_model: must be a hub id or a path, without control characters"]


def test_render_help_documents_the_flag(capsys):
    with pytest.raises(SystemExit):
        main(["render", "--help"])
    assert "--allow-local-files" in capsys.readouterr().out


def test_a_project_layer_naming_a_mask_file_is_not_read(home, tiny_models, cpu_cache):
    """A stranger's project: an image layer whose params name your photo as its mask."""
    photo = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 200, 200)).save(photo, format="PNG")
    project = {"format": "controlnet-studio-project", "version": 1,
               "settings": {"base_model": str(tiny_models.base), "width": 64, "height": 64, "steps": 2},
               "layers": [{"id": "photo", "name": "Photo", "kind": "image", "controlnet": str(tiny_models.controlnet),
                           "png": base64.b64encode(photo.getvalue()).decode(), "preprocessor": "canny",
                           "condition_kind": "canny", "params": {"mask": str(home / "private.png")}}]}
    document = project_from_dict(project).document
    recipe = build_recipe(document.snapshot(), {"photo": photo.getvalue()})
    with pytest.raises(UntrustedPath, match=r"^conditions\[0\]\.params\.mask names the local file"):
        prepare_request(cpu_cache, recipe, PreviewSettings())


# -- preprocessor networks: a recipe's params.model, detector and pose_model ---------------------------
@pytest.fixture(scope="module")
def depth_model(tmp_path_factory) -> Path:
    """A real (tiny, random) depth network on your disk, which the old code loaded for a stranger."""
    from tests.conditions.tiny_networks import build_depth

    return build_depth(tmp_path_factory.mktemp("yours") / "depth")


def _depth_condition(model: str) -> Callable[[dict, dict], None]:
    def edit(recipe, condition):
        condition.update(kind="depth", preprocess="depth", params={"model": model})
    return edit


@pytest.mark.parametrize("name", ["absolute", "relative"])
def test_a_png_recipe_naming_a_local_preprocessor_model_is_refused_alike_whether_it_exists_or_not(
        name, theirs, depth_model, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(depth_model.parent)
    model = str(depth_model) if name == "absolute" else "depth"
    png, out = _edited(theirs, tmp_path / "theirs.png", _depth_condition(model)), tmp_path / "out.png"

    code, err = _render(png, out, capsys)
    assert code == 2 and len(err) == 1, err
    assert err[0] == (f"error: conditions[0].params.model names the local model {model!r}, which a recipe from a PNG "
                      "or project may not load; add --allow-local-files to read it")
    assert not out.exists()

    depth_model.rename(depth_model.with_name("moved"))
    try:
        assert _render(png, out, capsys) == (code, err)  # nothing tells the stranger whether the folder is there
    finally:
        depth_model.with_name("moved").rename(depth_model)
    assert main(["render", str(png), "-o", str(out), "--quiet", "--allow-local-files"]) == 0


def test_a_hub_shaped_name_that_is_a_local_folder_is_refused_not_read(theirs, depth_model, tmp_path, monkeypatch,
                                                                       capsys):
    """The loader would read `owner/name` from the current folder before asking the hub."""
    monkeypatch.chdir(depth_model.parent.parent)
    model = f"{depth_model.parent.name}/depth"
    code, err = _render(_edited(theirs, tmp_path / "theirs.png", _depth_condition(model)), tmp_path / "out.png", capsys)
    assert code == 2
    assert err == [f"error: conditions[0].params.model names the local model {model!r}, which a recipe from a PNG "
                   "or project may not load; add --allow-local-files to read it"]


@pytest.mark.parametrize(("preprocess", "param"), [("depth", "model"), ("normal", "model"), ("seg", "model"),
                                                   ("pose", "detector"), ("pose", "pose_model")])
def test_every_preprocessor_model_parameter_is_gated(preprocess, param, theirs, tmp_path, capsys):
    def edit(recipe, condition):
        condition.update(kind=preprocess, preprocess=preprocess, params={param: "~/models/private"})

    code, err = _render(_edited(theirs, tmp_path / "theirs.png", edit), tmp_path / "out.png", capsys)
    assert code == 2
    assert err == [f"error: conditions[0].params.{param} names the local model '~/models/private', which a recipe "
                   "from a PNG or project may not load; add --allow-local-files to read it"]


def test_a_hub_preprocessor_model_is_named_with_the_others_before_it_loads(theirs, tiny_models, tmp_path, capsys):
    png = _edited(theirs, tmp_path / "theirs.png", _depth_condition("someone/their-depth"))
    code, err = _render(png, tmp_path / "out.png", capsys)
    assert code == 2
    named = f"base model {tiny_models.base} (SD 1.x, 512 px); ControlNets: {tiny_models.controlnet}"
    assert err[0] == f"recipe from theirs.png uses {named}; preprocessor models: someone/their-depth"
    assert err[1].startswith("error: the depth estimation network someone/their-depth is not downloaded yet")  # offline


def test_a_preprocessor_model_name_with_control_characters_cannot_fake_the_line(theirs, tmp_path, capsys):
    png = _edited(theirs, tmp_path / "theirs.png", _depth_condition("someone/depth\n\x1b[32mnothing loaded"))
    code, err = _render(png, tmp_path / "out.png", capsys)
    assert code == 2
    assert err == ["error: conditions[0].params.model: must be a hub id or a path, without control characters"]


def test_each_model_is_named_once(tiny_models):
    from desktop.domain.recipe import Condition, Recipe
    from desktop.engine.render import model_references

    conditions = [Condition(kind="depth", image_data=b"png", controlnet="someone/net", preprocess="depth",
                            params={"model": "someone/depth"}) for _ in range(3)]
    recipe = Recipe(base_model="someone/base", conditions=conditions, self_contained=True)
    assert model_references(recipe).describe() == (
        "base model someone/base; ControlNets: someone/net; preprocessor models: someone/depth")


@pytest.mark.parametrize("field", ["base_model", "controlnet"])
def test_a_project_model_name_with_a_nul_is_dropped_with_a_warning(field):
    """A NUL is no path at all: the app would crash on its first look-up of the name."""
    layer = {"id": "s", "name": "Sketch", "kind": "scribble", "operations": [], "controlnet": "someone/net"}
    project = {"format": "controlnet-studio-project", "version": 1,
               "settings": {"base_model": "someone/base"}, "layers": [layer]}
    (project["settings"] if field == "base_model" else layer)[field] = "someone/\0net\x1b[2J"
    loaded = project_from_dict(project)
    settings, layer = loaded.document.settings, loaded.document.layers[0]
    assert (settings.base_model, layer.controlnet) == (
        (None, "someone/net") if field == "base_model" else ("someone/base", None))
    assert loaded.warnings == ["setting base_model had an invalid value and was reset" if field == "base_model"
                               else "layer Sketch: its ControlNet name was damaged and was cleared"]
