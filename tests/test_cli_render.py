"""`main.py render`: progress, an atomic PNG carrying its recipe, exact re-runs, and bad input
answered with exit 2, one line on stderr, no traceback and no output file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from desktop.cli import main
from desktop.conditions.result_png import RECIPE_KEY

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture()
def recipe_file(tmp_path, tiny_models):
    Image.open(tiny_models.scribble).resize((64, 64)).save(tmp_path / "scribble.png")
    recipe = {
        "prompt": "a red circle", "seed": 3, "steps": 3, "guidance_scale": 5.0, "width": 64, "height": 64,
        "scheduler": "euler_a", "base_model": str(tiny_models.base),
        "conditions": [{"kind": "scribble", "image": "scribble.png", "controlnet": str(tiny_models.controlnet),
                        "weight": 0.9, "mode": "prompt"}],
    }
    path = tmp_path / "recipe.json"
    path.write_text(json.dumps(recipe))
    return path


def _pixels(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def test_render_writes_png_with_recipe_and_parameters(recipe_file, tmp_path, capsys):
    out = tmp_path / "out.png"
    assert main(["render", str(recipe_file), "-o", str(out), "--device", "cpu"]) == 0
    captured = capsys.readouterr()
    assert "step 3/3" in captured.err and "wrote" in captured.out
    info = Image.open(out).info
    assert info["parameters"].startswith("a red circle\nSteps: 3, Sampler: Euler a, CFG scale: 5, Seed: 3")
    assert 'Control Mode: My prompt is more important' in info["parameters"]
    assert json.loads(info[RECIPE_KEY])["conditions"][0]["image_data"]
    assert not list(tmp_path.glob(".out.png.*"))


def test_rendering_the_png_again_reproduces_it_to_the_pixel(recipe_file, tmp_path):
    first, again = tmp_path / "first.png", tmp_path / "again.png"
    assert main(["render", str(recipe_file), "-o", str(first), "--quiet"]) == 0
    (tmp_path / "scribble.png").unlink()  # the PNG carries its control image
    assert main(["render", str(first), "-o", str(again), "--quiet"]) == 0
    assert np.array_equal(_pixels(first), _pixels(again))


def test_overrides_change_the_result(recipe_file, tmp_path):
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    assert main(["render", str(recipe_file), "-o", str(a), "--quiet"]) == 0
    assert main(["render", str(recipe_file), "-o", str(b), "--quiet", "--seed", "4", "--steps", "2"]) == 0
    assert not np.array_equal(_pixels(a), _pixels(b))
    assert json.loads(Image.open(b).info[RECIPE_KEY])["seed"] == 4


def _bad_inputs(tmp_path: Path, recipe_file: Path, tiny_models) -> dict[str, list[str]]:
    data = json.loads(recipe_file.read_text())

    def variant(name: str, **changes) -> str:
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps({**data, **changes}))
        return str(path)

    (tmp_path / "broken.json").write_text("{not json")
    (tmp_path / "evil.ckpt").write_bytes(b"\x80\x04not really")
    (tmp_path / "notimage.png").write_text("hello")
    out = str(tmp_path / "never.png")
    cond = data["conditions"][0]
    return {
        "missing recipe": ["render", str(tmp_path / "nope.json"), "-o", out],
        "bad json": ["render", str(tmp_path / "broken.json"), "-o", out],
        "zero steps": ["render", variant("steps", steps=0), "-o", out],
        "size": ["render", variant("size", width=100), "-o", out],
        "nan guidance": ["render", variant("nan", guidance_scale=float("nan")), "-o", out],
        "missing image": ["render", variant("img", conditions=[{**cond, "image": "missing.png"}]), "-o", out],
        "not an image": ["render", variant("txt", conditions=[{**cond, "image": "notimage.png"}]), "-o", out],
        "pickle model": ["render", variant("pkl", base_model=str(tmp_path / "evil.ckpt")), "-o", out],
        "missing model": ["render", variant("mm", base_model=str(tmp_path / "gone")), "-o", out],
        "weight": ["render", variant("w", conditions=[{**cond, "weight": 3}]), "-o", out],
        "output type": ["render", str(recipe_file), "-o", str(tmp_path / "out.jpg")],
        "output folder": ["render", str(recipe_file), "-o", str(tmp_path / "no" / "dir.png")],
        "device": ["render", str(recipe_file), "-o", out, "--device", "tpu"],
        "png without recipe": ["render", str(tiny_models.scribble), "-o", out],
    }


def test_each_bad_input_exits_2_with_one_line_and_no_file(recipe_file, tmp_path, tiny_models, capsys):
    for name, argv in _bad_inputs(tmp_path, recipe_file, tiny_models).items():
        code = main(argv)
        err = capsys.readouterr().err.strip()
        assert code == 2, name
        assert len(err.splitlines()) == 1 and err.startswith("error: "), (name, err)
        assert "Traceback" not in err
        assert not (tmp_path / "never.png").exists(), name


def test_real_process_bad_input_and_help(tmp_path):
    result = subprocess.run(
        [sys.executable, "main.py", "render", str(tmp_path / "missing.json"), "-o", str(tmp_path / "x.png")],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["error: cannot read recipe missing.json: it does not exist"]
    help_text = subprocess.run([sys.executable, "main.py", "--help"], cwd=ROOT, capture_output=True, text=True,
                               timeout=120).stdout
    assert "render" in help_text


def test_unknown_recipe_keys_are_named_and_kept(recipe_file, tmp_path, capsys):
    """A key this version does not apply (A1111's hypernetworks, say) must not be ignored without a word (#14)."""
    data = json.loads(recipe_file.read_text())
    data["hypernetworks"] = [{"path": "x.safetensors", "weight": 0.8}]
    data["conditions"][0]["future_option"] = 1
    recipe_file.write_text(json.dumps(data))
    out = tmp_path / "out.png"
    assert main(["render", str(recipe_file), "-o", str(out), "--quiet"]) == 0
    notes = [line for line in capsys.readouterr().err.splitlines() if line.startswith("note:")]
    assert notes == ["note: not used by this version, kept in the recipe: 'hypernetworks', 'conditions[0].future_option'"]
    kept = json.loads(Image.open(out).info[RECIPE_KEY])
    assert kept["hypernetworks"] == data["hypernetworks"] and kept["conditions"][0]["future_option"] == 1


def test_a_recipe_the_app_wrote_has_nothing_unknown(tiny_models):
    from desktop.domain.recipe import Condition, Recipe

    recipe = Recipe(conditions=[Condition(image_data=b"x", extra={"layer": "Scribble"})])
    assert recipe.unknown_keys() == []


def test_a_recipe_that_leaves_size_and_guidance_unset_takes_the_demo_models_card(tmp_path):
    from desktop.domain.defaults import DEMO_MODEL, model_card

    card = model_card(str(DEMO_MODEL))
    recipe = tmp_path / "bare.json"
    recipe.write_text(json.dumps({"prompt": "a red circle on a blue background", "steps": 2, "seed": 1}))
    out = tmp_path / "bare.png"
    assert main(["render", str(recipe), "-o", str(out), "--quiet"]) == 0
    embedded = json.loads(Image.open(out).info[RECIPE_KEY])
    assert (embedded["width"], embedded["height"]) == (card.defaults["width"], card.defaults["height"])
    assert embedded["guidance_scale"] == card.defaults["guidance_scale"] != 7.5 and embedded["steps"] == 2
    assert _pixels(out).shape == (64, 64, 3)
    recipe.write_text(json.dumps({"prompt": "a red circle on a blue background", "steps": 2, "guidance_scale": 7.5}))
    assert main(["render", str(recipe), "-o", str(tmp_path / "set.png"), "--quiet"]) == 0
    assert json.loads(Image.open(tmp_path / "set.png").info[RECIPE_KEY])["guidance_scale"] == 7.5  # set: kept
