"""A VAE override (diffusers folder, diffusers-keyed file, original-keyed file) against a pipeline built
with that VAE, swapped in without reloading the base and swapped back to the base's own."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file, save_file

from desktop.domain.errors import ArchitectureMismatch
from desktop.domain.model_extras import ModelExtras
from desktop.engine.device import choose_device
from desktop.engine.model_cache import ModelCache
from desktop.engine.sampler import ControlInput
from desktop.engine.synthetic_models import TINY_VAE
from tests.conftest import scribble_pixels

from .helpers import SIZE, max_diff, ours, theirs
from .original_layouts import vae_to_ldm


@pytest.fixture(scope="module")
def other_vae(tmp_path_factory):
    """Another VAE of the tiny model's shape, in every layout a user may hold it."""
    from diffusers import AutoencoderKL

    root = tmp_path_factory.mktemp("vae")
    torch.manual_seed(5)
    AutoencoderKL(**TINY_VAE).save_pretrained(root / "folder", safe_serialization=True)
    state = load_file(str(next((root / "folder").glob("*.safetensors"))))
    save_file(state, str(root / "diffusers_keys.safetensors"))
    original = vae_to_ldm(state, dict(TINY_VAE, block_out_channels=list(TINY_VAE["block_out_channels"])))
    prefixed = {f"first_stage_model.{key}": value.contiguous() for key, value in original.items()}
    save_file(prefixed, str(root / "prefixed.safetensors"))
    save_file({k: v.contiguous() for k, v in original.items()}, str(root / "original.safetensors"))
    return root


@pytest.fixture()
def loaded(tiny_models):
    cache = ModelCache(choose_device("cpu"))
    return cache, cache.base(str(tiny_models.base)), cache.controlnet(str(tiny_models.controlnet))


@pytest.mark.parametrize("layout", [
    "folder", "diffusers_keys.safetensors", "prefixed.safetensors", "original.safetensors",
])
def test_override_matches_a_pipeline_built_with_that_vae(loaded, other_vae, tiny_models, layout):
    from diffusers import AutoencoderKL

    cache, base, net = loaded
    controls = [ControlInput(net, scribble_pixels(SIZE), weight=0.8)]
    plain, own, loads = ours(base, controls), base.vae, cache.loads
    cache.apply_extras(ModelExtras(vae=str(other_vae / layout)))
    mine = ours(base, controls)
    reference = ModelCache(choose_device("cpu")).base(str(tiny_models.base))
    reference.vae = AutoencoderKL.from_pretrained(other_vae / "folder", use_safetensors=True)
    assert max_diff(mine, theirs(reference, controls)) == 0
    assert max_diff(mine, plain) > 10  # the override decodes: the parity is not of the base's own VAE
    override = base.vae
    cache.apply_extras(ModelExtras(vae=str(other_vae / layout)))
    assert base.vae is override  # the same file again loads nothing
    cache.apply_extras(ModelExtras())
    assert base.vae is own and max_diff(ours(base, controls), plain) == 0
    assert cache.loads == loads


def test_a_vae_for_other_latents_is_refused_by_name(loaded, tmp_path):
    from diffusers import AutoencoderKL

    cache, base, _ = loaded
    AutoencoderKL(**(TINY_VAE | {"latent_channels": 16})).save_pretrained(tmp_path / "wide", safe_serialization=True)
    single = tmp_path / "wide.safetensors"
    save_file(load_file(str(next((tmp_path / "wide").glob("*.safetensors")))), str(single))
    for reference in (tmp_path / "wide", single):
        with pytest.raises(ArchitectureMismatch, match="makes 16-channel latents, but the base model works on 4"):
            cache.apply_extras(ModelExtras(vae=str(reference)))
    assert base.vae is cache.applied.own_vae


def test_a_checkpoint_or_another_part_given_as_vae_is_refused(loaded, tiny_models, tmp_path):
    cache, _, _ = loaded
    checkpoint, unet = tmp_path / "model.safetensors", tmp_path / "unet.safetensors"
    save_file({"model.diffusion_model.out.2.weight": torch.zeros(1)}, str(checkpoint))
    save_file(load_file(str(next((tiny_models.base / "unet").glob("*.safetensors")))), str(unet))
    with pytest.raises(ArchitectureMismatch, match="full Stable Diffusion checkpoint, not a VAE"):
        cache.apply_extras(ModelExtras(vae=str(checkpoint)))
    with pytest.raises(ArchitectureMismatch, match="is not a VAE"):
        cache.apply_extras(ModelExtras(vae=str(unet)))
    with pytest.raises(ArchitectureMismatch, match="holds a UNet2DConditionModel, not a VAE"):
        cache.apply_extras(ModelExtras(vae=str(tiny_models.base / "unet")))
