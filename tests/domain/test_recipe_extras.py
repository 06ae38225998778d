"""Recipe fields for LoRAs, embeddings and a VAE: validation naming the field, the round trip, the file
gate, and `<lora:name:weight>` prompt tags."""

from __future__ import annotations

import json

import pytest

from desktop.domain.app_settings import load_settings, save_settings
from desktop.domain.errors import InvalidRecipe, UntrustedPath
from desktop.domain.model_extras import LoraChoice, ModelExtras, model_extras
from desktop.domain.prompt_tags import LoraTag, split_lora_tags
from desktop.domain.recipe import LoraEntry, Recipe, load_recipe_file, recipe_from_dict

EXTRAS = {
    "loras": [{"path": "style.safetensors", "weight": 0.8, "block_weights": [1, 0]}, {"path": "b.safetensors"}],
    "embeddings": ["bad-hands.safetensors"],
    "vae": "vae-ft-mse.safetensors",
}


def test_fields_round_trip_and_are_no_longer_unknown():
    recipe = recipe_from_dict({"prompt": "a house", **EXTRAS})
    assert recipe.loras == [LoraEntry("style.safetensors", 0.8, {"block_weights": [1, 0]}), LoraEntry("b.safetensors")]
    assert recipe.embeddings == ["bad-hands.safetensors"] and recipe.vae == "vae-ft-mse.safetensors"
    data = recipe.to_dict()
    assert data["loras"] == [EXTRAS["loras"][0], {"path": "b.safetensors", "weight": 1.0}]
    assert data["embeddings"] == EXTRAS["embeddings"] and data["vae"] == EXTRAS["vae"]
    assert recipe_from_dict(json.loads(recipe.to_json())) == recipe
    assert recipe.unknown_keys() == ["'loras[0].block_weights'"]


def test_a_recipe_without_them_writes_none():
    data = recipe_from_dict({"prompt": "a house"}).to_dict()
    assert not {"loras", "embeddings", "vae"} & set(data)


@pytest.mark.parametrize("change, field, rule", [
    ({"loras": {"path": "a.safetensors"}}, "loras", "must be a list"),
    ({"loras": ["a.safetensors"]}, "loras[0]", "must be an object"),
    ({"loras": [{"weight": 1}]}, "loras[0].path", "names no LoRA file"),
    ({"loras": [{"path": "a.safetensors", "weight": "strong"}]}, "loras[0].weight", "must be a number"),
    ({"loras": [{"path": "a.safetensors", "weight": 4.5}]}, "loras[0].weight", "between -4 and 4"),
    ({"loras": [{"path": "a.safetensors", "weight": 1e999}]}, "loras[0].weight", "finite"),
    ({"loras": [{"path": "a.ckpt"}]}, "loras[0].path", "pickle file"),
    ({"loras": [{"path": "a.png"}]}, "loras[0].path", "not a .safetensors file"),
    ({"loras": [{"path": "a\nb.safetensors"}]}, "loras[0].path", "control characters"),
    ({"loras": [{"path": "a.safetensors"}] * 33}, "loras", "at most 32"),
    ({"embeddings": "x.safetensors"}, "embeddings", "must be a list"),
    ({"embeddings": [3]}, "embeddings[0]", "must be a file name"),
    ({"embeddings": ["x.pt"]}, "embeddings[0]", "pickle file"),
    ({"embeddings": ["a/x.safetensors", "b/x.safetensors"]}, "embeddings[1]", "token 'x' of embeddings[0]"),
    ({"vae": "vae.ckpt"}, "vae", "pickle file"),
    ({"vae": 3}, "vae", "must be text"),
])
def test_bad_values_name_the_field_and_the_rule(change, field, rule):
    with pytest.raises(InvalidRecipe) as info:
        recipe_from_dict({"prompt": "x", **change})
    assert info.value.field == field and rule in str(info.value)


def test_files_pass_the_recipe_gate(tmp_path):
    for name in ("style.safetensors", "bad-hands.safetensors", "vae-ft-mse.safetensors"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "b.safetensors").write_bytes(b"x")
    path = tmp_path / "r.json"
    path.write_text(json.dumps({"prompt": "a <lora:ink:0.5> house", **EXTRAS}))
    extras = model_extras(load_recipe_file(path))
    assert extras.loras == (LoraChoice(str(tmp_path / "style.safetensors"), 0.8),
                            LoraChoice(str(tmp_path / "b.safetensors"), 1.0))
    assert extras.embeddings == (str(tmp_path / "bad-hands.safetensors"),)
    assert extras.vae == str(tmp_path / "vae-ft-mse.safetensors")
    assert extras.prompt == "a  house"
    stranger = load_recipe_file(path).with_overrides(self_contained=True, local_models=False)  # a PNG's
    with pytest.raises(UntrustedPath, match="loras\\[0\\].path names the local model file"):
        model_extras(stranger)
    for field in ("loras", "embeddings", "vae"):  # each one alone is refused too
        alone = recipe_from_dict({field: EXTRAS[field]}, tmp_path, self_contained=True).with_overrides(
            local_models=False)
        with pytest.raises(UntrustedPath):
            model_extras(alone)
    # the app's own recipe (self-contained: it reads no image file) names model files like its base model
    own = load_recipe_file(path).with_overrides(self_contained=True)
    assert model_extras(own).loras == extras.loras


def test_a_file_missing_from_the_recipe_folder_names_the_field(tmp_path):
    with pytest.raises(InvalidRecipe, match=r"^embeddings\[0\]: 'x.safetensors' was not found"):
        model_extras(recipe_from_dict({"embeddings": ["x.safetensors"]}, tmp_path))


def test_prompt_tags_are_parsed_as_a1111_writes_them():
    text, tags = split_lora_tags("a cat <lora:ink style:0.6>, <LORA:detail>, <lora:neg:-1.5>", "prompt")
    assert text == "a cat , , " and tags == [LoraTag("ink style", 0.6), LoraTag("detail", 1.0), LoraTag("neg", -1.5)]
    assert split_lora_tags("no tags <hypernet:x:1>", "prompt") == ("no tags <hypernet:x:1>", [])


@pytest.mark.parametrize("tag, rule", [
    ("<lora:../x>", "without path separators"), ("<lora:a/b>", "without path separators"),
    ("<lora:a\\b>", "without path separators"), ("<lora:>", "without path separators"),
    ("<lora:x:nan>", "weight between -4 and 4"), ("<lora:x:5>", "weight between -4 and 4"),
    ("<lora:x:1:0.5>", "more than one weight"),
])
def test_bad_prompt_tags_are_refused(tag, rule):
    with pytest.raises(InvalidRecipe, match=f"^prompt: .*{rule}"):
        split_lora_tags(f"a cat {tag}", "prompt")


def test_tags_resolve_in_the_lora_folder_or_are_reported(tmp_path):
    (tmp_path / "ink.safetensors").write_bytes(b"x")
    recipe = Recipe(prompt="a <lora:ink:0.5> cat", negative_prompt="<lora:ink> blurry")
    without = model_extras(recipe)
    assert without.loras == () and without.prompt == "a  cat" and without.negative_prompt == " blurry"
    assert without.notices == (
        "negative prompt names LoRA 'ink'; LoRAs apply from the prompt only, so the tag was ignored",
        "prompt names LoRA 'ink' but no LoRA folder is set (render --lora-dir, or Tools > LoRA Folder in the "
        "app); the tag was ignored",
    )
    found = model_extras(recipe.with_overrides(lora_dir=tmp_path))
    assert found.loras == (LoraChoice(str(tmp_path / "ink.safetensors"), 0.5),)
    with pytest.raises(InvalidRecipe, match="^prompt: names LoRA 'gone', but the LoRA folder .* has no 'gone.safe"):
        model_extras(recipe.with_overrides(prompt="<lora:gone>", lora_dir=tmp_path))
    with pytest.raises(InvalidRecipe, match="is not a folder"):
        model_extras(recipe.with_overrides(lora_dir=tmp_path / "missing"))
    # a stranger's PNG may pick among the user's own LoRAs by name (as A1111 PNGs do), nothing else
    stranger = recipe.with_overrides(lora_dir=tmp_path, self_contained=True, local_models=False)
    assert model_extras(stranger).loras == found.loras
    for name in ("../ink", "sub/ink", "..\\ink"):
        with pytest.raises(InvalidRecipe):
            model_extras(stranger.with_overrides(prompt=f"<lora:{name}>"))


def test_the_same_lora_twice_is_refused(tmp_path):
    (tmp_path / "ink.safetensors").write_bytes(b"x")
    recipe = Recipe(prompt="<lora:ink>", loras=[LoraEntry(str(tmp_path / "ink.safetensors"))], lora_dir=tmp_path)
    with pytest.raises(InvalidRecipe, match=r"^prompt: names the LoRA 'ink.safetensors' a second time "
                                            r"\(first in loras\[0\].path\)"):
        model_extras(recipe)


def test_describe_names_every_file():
    extras = ModelExtras(loras=(LoraChoice("/l/a.safetensors", 0.8),), embeddings=("/e/b.safetensors",), vae="/v/c")
    assert extras.describe() == "LoRAs: /l/a.safetensors (0.8); embeddings: /e/b.safetensors; VAE: /v/c"
    assert ModelExtras().describe() == ""


def test_the_lora_folder_setting_round_trips(tmp_path):
    path = tmp_path / "settings.json"
    loaded = load_settings(path).settings
    assert loaded.lora_folder == ""
    loaded.lora_folder = str(tmp_path)
    save_settings(loaded, path)
    assert load_settings(path).settings.lora_folder == str(tmp_path)
    path.write_text(json.dumps({"lora_folder": 3}))
    assert load_settings(path).settings.lora_folder == ""


def test_a_tag_finds_a_lora_kept_in_a_subfolder_as_a1111_does(tmp_path):
    (tmp_path / "styles").mkdir()
    (tmp_path / "styles" / "ink[v2].safetensors").write_bytes(b"x")
    (tmp_path / "styles" / "inkv.safetensors").write_bytes(b"x")
    recipe = Recipe(prompt="a cat <lora:ink[v2]:0.7>", lora_dir=tmp_path)
    assert model_extras(recipe).loras == (LoraChoice(str(tmp_path / "styles" / "ink[v2].safetensors"), 0.7),)
