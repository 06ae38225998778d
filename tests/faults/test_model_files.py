"""RELIABILITY 1-4: model files that are pickles, damaged, of the wrong architecture, or unreachable."""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path

import pytest

from desktop.domain.errors import ArchitectureMismatch, ModelDamaged, ModelNotFound, ModelRejected
from desktop.engine.device import choose_device
from desktop.engine.model_cache import ModelCache

MARKER = "payload_ran"


class Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (self.marker, "code ran"))


def evil_pickle(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(Payload(path.parent / MARKER)))
    return path


@pytest.fixture()
def cache():
    return ModelCache(choose_device("cpu"))


# 1 ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".ckpt", ".pt", ".pth", ".bin"])
@pytest.mark.parametrize("role", ["base", "controlnet"])
def test_pickle_payload_is_refused_and_never_runs(tmp_path, cache, suffix, role):
    evil = evil_pickle(tmp_path / f"model{suffix}")
    with pytest.raises(ModelRejected):
        getattr(cache, role)(str(evil))
    assert not (tmp_path / MARKER).exists()


@pytest.mark.parametrize("part", ["unet", "vae", "text_encoder"])
def test_base_folder_with_a_pickled_part_is_refused(tmp_path, cache, tiny_models, part):
    folder = tmp_path / "model"
    shutil.copytree(tiny_models.base, folder)
    for weights in (folder / part).glob("*.safetensors"):
        weights.unlink()
    evil_pickle(folder / part / "diffusion_pytorch_model.bin")
    with pytest.raises(ModelRejected):
        cache.base(str(folder))
    assert not list(tmp_path.rglob(MARKER))


def test_preprocessor_network_of_pickles_is_refused(tmp_path):
    from desktop.conditions.preprocessors.neural import NetworkCache, depth_map

    folder = tmp_path / "depth"
    evil_pickle(folder / "pytorch_model.bin")
    (folder / "config.json").write_text("{}")
    import numpy as np

    with pytest.raises(ModelRejected):
        depth_map(np.zeros((8, 8, 3), np.uint8), NetworkCache(), str(folder))
    assert not (folder / MARKER).exists()


# 2 ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("cut", [0.5, 0.99])
def test_truncated_controlnet_is_damaged_and_the_loaded_one_keeps_working(tmp_path, cache, tiny_models, cut):
    from desktop.engine.sampler import ControlInput, SamplerRequest, sample
    from tests.conftest import scribble_pixels

    base = cache.base(str(tiny_models.base))
    good = cache.controlnet(str(tiny_models.controlnet))
    folder = tmp_path / "net"
    shutil.copytree(tiny_models.controlnet, folder)
    weights = next(folder.glob("*.safetensors"))
    data = weights.read_bytes()
    weights.write_bytes(data[: int(len(data) * cut)])
    with pytest.raises(ModelDamaged, match="damaged"):
        cache.controlnet(str(folder))
    request = SamplerRequest("x", steps=2, width=32, height=32, controls=[ControlInput(good, scribble_pixels(32))])
    assert sample(base, request).image.shape == (32, 32, 3)


def test_header_offsets_past_the_end_are_damaged(tmp_path, cache):
    import json
    import struct

    header = json.dumps({"w": {"dtype": "F32", "shape": [1000], "data_offsets": [0, 4000]}}).encode()
    path = tmp_path / "net.safetensors"
    path.write_bytes(struct.pack("<Q", len(header)) + header + b"\0" * 16)
    with pytest.raises(ModelDamaged):
        cache.controlnet(str(path))


# 3 ------------------------------------------------------------------------------------------
def test_vae_file_given_as_base_model_is_a_named_mismatch(tmp_path, cache, tiny_models):
    vae_file = tmp_path / "vae.safetensors"
    shutil.copy(next((Path(tiny_models.base) / "vae").glob("*.safetensors")), vae_file)
    with pytest.raises(ArchitectureMismatch, match="VAE"):
        cache.base(str(vae_file))


def test_controlnet_for_another_vae_factor_is_a_named_mismatch(tmp_path, cache, tiny_models):
    from diffusers import ControlNetModel, UNet2DConditionModel

    from desktop.domain.recipe import Condition, Recipe
    from desktop.engine.render import render

    unet = UNet2DConditionModel.from_pretrained(tiny_models.base, subfolder="unet")
    ControlNetModel.from_unet(unet).save_pretrained(tmp_path / "sd_factor_net")  # expects factor 8
    recipe = Recipe(base_model=str(tiny_models.base), width=64, height=64, steps=1, conditions=[
        Condition(image=str(tiny_models.scribble), controlnet=str(tmp_path / "sd_factor_net"))])
    with pytest.raises(ArchitectureMismatch, match="pick a ControlNet trained for this base model"):
        render(cache, recipe)


# 4 ------------------------------------------------------------------------------------------
def test_unreachable_hub_id_says_how_to_use_a_local_file(cache, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelNotFound) as info:
        cache.base("nobody/not-cached-model")
    assert "no network" in str(info.value) and ".safetensors" in str(info.value)


def test_controlnet_of_the_same_family_for_another_model_says_what_differs(cache, tiny_models):
    from desktop.engine.compat import check_controlnet_fits
    from desktop.domain.defaults import DEMO_MODEL

    base, net = cache.base(str(DEMO_MODEL)), cache.controlnet(str(tiny_models.controlnet))
    wanted, given = net.config.cross_attention_dim, base.unet.config.cross_attention_dim
    assert wanted != given
    with pytest.raises(ArchitectureMismatch, match=f"is a SD 1.x ControlNet for another model of that family "
                                                   f"\\(it reads {wanted}-wide text features, the base model gives {given}\\)"):
        check_controlnet_fits(base, net, "tiny")
