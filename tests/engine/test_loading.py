"""Loading through the real code paths: folders, single files, hub ids, and every refusal."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from desktop.domain.errors import ArchitectureMismatch, ModelDamaged, ModelNotFound
from desktop.domain.recipe import Condition, Recipe
from desktop.engine.device import choose_device
from desktop.engine.model_cache import ModelCache
from desktop.engine.model_ref import parse_model_ref
from desktop.engine.render import PreviewSettings, prepare_request, render
from tests.conftest import scribble_pixels

from .helpers import max_diff, ours
from desktop.engine.sampler import ControlInput

@pytest.fixture()
def cache():
    return ModelCache(choose_device("cpu"))


@pytest.mark.parametrize("damage", ["truncate", "header", "empty"])
def test_damaged_safetensors_is_named_and_the_loaded_model_stays(tmp_path, cache, tiny_models, damage):
    base = cache.base(str(tiny_models.base))
    folder = tmp_path / "damaged"
    shutil.copytree(tiny_models.base, folder)
    weights = next((folder / "unet").glob("*.safetensors"))
    data = weights.read_bytes()
    weights.write_bytes({"truncate": data[: len(data) // 2], "header": b"\xff" * 64, "empty": b""}[damage])
    with pytest.raises(ModelDamaged, match="damaged"):
        cache.base(str(folder))
    assert cache.base(str(tiny_models.base)) is base  # still loaded: no second load
    assert ours(base, []).shape == (32, 32, 3)


def test_truncated_single_file_controlnet_is_damaged(tmp_path, cache, tiny_models):
    source = next(Path(tiny_models.controlnet).glob("*.safetensors")).read_bytes()
    broken = tmp_path / "net.safetensors"
    broken.write_bytes(source[:-1000])
    with pytest.raises(ModelDamaged):
        cache.controlnet(str(broken))


def test_single_file_controlnet_with_config_beside_it_matches_the_folder(tmp_path, cache, tiny_models):
    single = tmp_path / "my_net.safetensors"
    shutil.copy(next(Path(tiny_models.controlnet).glob("*.safetensors")), single)
    shutil.copy(Path(tiny_models.controlnet) / "config.json", tmp_path / "my_net.json")
    base = cache.base(str(tiny_models.base))
    from_file = cache.controlnet(str(single))
    from_folder = cache.controlnet(str(tiny_models.controlnet))
    assert from_file is not from_folder
    a = ours(base, [ControlInput(from_file, scribble_pixels(32))])
    b = ours(base, [ControlInput(from_folder, scribble_pixels(32))])
    assert max_diff(a, b) == 0


def test_vae_file_given_as_controlnet_is_a_named_mismatch(tmp_path, cache, tiny_models):
    vae_file = tmp_path / "vae.safetensors"
    shutil.copy(next((Path(tiny_models.base) / "vae").glob("*.safetensors")), vae_file)
    with pytest.raises(ArchitectureMismatch, match="not a ControlNet.*VAE"):
        cache.controlnet(str(vae_file))


def test_controlnet_folder_given_as_base_is_a_named_mismatch(cache, tiny_models):
    with pytest.raises(ArchitectureMismatch, match="ControlNetModel"):
        cache.base(str(tiny_models.controlnet))


def test_sdxl_shaped_controlnet_on_sd15_base_is_refused_before_sampling(tmp_path, cache, tiny_models, monkeypatch):
    from diffusers import ControlNetModel

    config = json.loads((Path(tiny_models.controlnet) / "config.json").read_text())
    config.update(cross_attention_dim=64, addition_embed_type="text_time", addition_time_embed_dim=8,
                  projection_class_embeddings_input_dim=8 * 6 + 64, transformer_layers_per_block=1)
    config.pop("_class_name", None)
    config.pop("_diffusers_version", None)
    ControlNetModel(**config).save_pretrained(tmp_path / "xl_net", safe_serialization=True)
    recipe = Recipe(base_model=str(tiny_models.base), width=64, height=64, conditions=[
        Condition(kind="scribble", image=str(tiny_models.scribble), controlnet=str(tmp_path / "xl_net"))])
    sampled = []
    monkeypatch.setattr("desktop.engine.render.sample", lambda *a, **k: sampled.append(1))
    with pytest.raises(ArchitectureMismatch, match="SDXL"):
        render(cache, recipe)
    assert sampled == []


def test_hub_id_offline_says_how_to_use_a_local_file(cache, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelNotFound, match="local folder or .safetensors"):
        cache.controlnet("lllyasviel/control_v11p_sd15_scribble_does_not_exist_locally")


def test_missing_path_is_not_found(cache, tmp_path):
    with pytest.raises(ModelNotFound):
        cache.base(str(tmp_path / "nowhere" / "model.safetensors"))


def test_reference_kinds(tmp_path, tiny_models):
    assert parse_model_ref(str(tiny_models.base)).kind == "folder"
    assert parse_model_ref("lllyasviel/control_v11p_sd15_scribble").kind == "hub"
    single = tmp_path / "x.safetensors"
    single.write_bytes(b"")
    assert parse_model_ref(str(single)).kind == "file"


def test_cache_reuses_models_and_swaps_only_the_changed_controlnet(cache, tiny_models):
    recipe = Recipe(base_model=str(tiny_models.base), width=64, height=64, steps=2, conditions=[
        Condition(image=str(tiny_models.scribble), controlnet=str(tiny_models.controlnet)),
        Condition(image=str(tiny_models.scribble2), controlnet=str(tiny_models.controlnet2))])
    prepare_request(cache, recipe, PreviewSettings())
    assert cache.loads == 3
    prepare_request(cache, recipe.with_overrides(seed=5, prompt="other"), PreviewSettings())
    assert cache.loads == 3
    swapped = recipe.with_overrides(conditions=[recipe.conditions[0], Condition(
        image=str(tiny_models.scribble2), controlnet=str(tiny_models.zero_controlnet))])
    prepare_request(cache, swapped, PreviewSettings())
    assert cache.loads == 4


def test_render_embeds_control_images_for_rerun(cache, tiny_models):
    recipe = Recipe(base_model=str(tiny_models.base), width=64, height=64, steps=2, conditions=[
        Condition(image=str(tiny_models.scribble), controlnet=str(tiny_models.controlnet))])
    result = render(cache, recipe)
    assert result.recipe.conditions[0].image_data is not None
    assert result.image.dtype == np.uint8
