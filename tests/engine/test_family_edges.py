"""Edges of family-aware loading found in review: half precision with an upcast VAE, hub failures of the
HTTP client, refiners and other UNets named, pickle-only repos, sharded fp16 variants, caching."""

from __future__ import annotations

import json
import shutil
import struct

import pytest
import torch

from desktop.domain.errors import ModelDamaged, ModelNotFound, ModelRejected, UnsupportedModel
from desktop.domain.family import Family
from desktop.engine.device import DeviceChoice, choose_device
from desktop.engine.model_cache import ModelCache
from desktop.engine.sampler import ControlInput, SamplerRequest, sample
from tests.conftest import scribble_pixels

from .original_layouts import write_fp16_variant_folder, write_original_controlnet


def test_half_precision_decodes_with_a_vae_kept_in_float32(family_models):
    """CUDA and MPS run in float16; a VAE that overflows there (force_upcast) stays float32 and decodes."""
    cache = ModelCache(DeviceChoice(torch.device("cpu"), torch.float16))
    base = cache.base(str(family_models.sd1))
    assert base.unet.dtype == torch.float16 and base.vae.dtype == torch.float32
    net = cache.controlnet(str(family_models.sd1_net), family=Family.SD1)
    request = SamplerRequest(prompt="a house", steps=2, width=64, height=64, preview_every=1,
                             controls=[ControlInput(net, scribble_pixels(64))])
    assert sample(base, request, on_step=lambda update: None).image.shape == (64, 64, 3)


class _ConnectError(Exception):
    """What an HTTP client raises with no network: not an OSError."""


_ConnectError.__module__ = "httpx"


def _hub_answers_the_probe(monkeypatch) -> None:
    """Offline mode off and the one probe answered, so the hub library itself is asked (and fails here)."""
    from desktop.hub import local_cache as hub_local

    monkeypatch.setattr(hub_local, "offline_mode", lambda: False)
    monkeypatch.setattr(hub_local, "hub_reachable", lambda: True)


def test_an_uncached_hub_model_without_network_is_one_sentence(monkeypatch):
    import huggingface_hub

    def offline(*args, **kwargs):
        raise _ConnectError("[Errno -2] Name or service not known")

    monkeypatch.setattr(huggingface_hub, "list_repo_files", offline)
    _hub_answers_the_probe(monkeypatch)  # the connection drops after the probe
    with pytest.raises(ModelNotFound, match="cannot reach the model hub to get someone/not-cached"):
        ModelCache(choose_device("cpu")).base("someone/not-cached")


def test_a_hub_repo_of_pickles_is_refused_before_anything_downloads(monkeypatch):
    import huggingface_hub

    downloads = []
    monkeypatch.setattr(huggingface_hub, "list_repo_files", lambda repo: [
        "model_index.json", "unet/config.json", "unet/diffusion_pytorch_model.bin", "vae/diffusion_pytorch_model.bin",
        "text_encoder/pytorch_model.bin"])
    monkeypatch.setattr(huggingface_hub, "snapshot_download", lambda *a, **k: downloads.append(k) or "/nowhere")
    _hub_answers_the_probe(monkeypatch)
    with pytest.raises(ModelRejected, match="only pickle weights for unet"):
        ModelCache(choose_device("cpu")).base("someone/old-pickles")
    assert all(k.get("local_files_only") for k in downloads)  # only the cache was looked at


def test_sharded_fp16_variants_are_recognised():
    from desktop.hub.downloads import BASE_FOLDERS, choose_weight_files

    files = ["unet/diffusion_pytorch_model.fp16-00001-of-00002.safetensors",
             "unet/diffusion_pytorch_model.fp16-00002-of-00002.safetensors",
             "unet/diffusion_pytorch_model.safetensors.index.fp16.json",
             "unet/diffusion_pytorch_model-00001-of-00002.safetensors",
             "unet/diffusion_pytorch_model-00002-of-00002.safetensors",
             "unet/diffusion_pytorch_model.safetensors.index.json"]
    assert choose_weight_files(files, BASE_FOLDERS, prefer_fp16=True) == sorted(files[:3])
    assert choose_weight_files(files, BASE_FOLDERS, prefer_fp16=False) == sorted(files[3:])


def test_sharded_fp16_folder_reads_as_the_fp16_variant(tmp_path):
    from desktop.engine.safetensors_check import weights_variant

    for name in ("diffusion_pytorch_model.fp16-00001-of-00002.safetensors",
                 "diffusion_pytorch_model.fp16-00002-of-00002.safetensors"):
        (tmp_path / name).write_bytes(b"")
    assert weights_variant(tmp_path) == "fp16"
    (tmp_path / "diffusion_pytorch_model-00001-of-00002.safetensors").write_bytes(b"")
    assert weights_variant(tmp_path) is None


def test_a_saved_sdxl_refiner_folder_is_named(family_models, tmp_path):
    folder = shutil.copytree(family_models.sdxl, tmp_path / "refiner")
    index = json.loads((folder / "model_index.json").read_text())
    index.update(text_encoder=[None, None], tokenizer=[None, None])  # as diffusers saves a refiner
    (folder / "model_index.json").write_text(json.dumps(index))
    with pytest.raises(UnsupportedModel, match="SDXL refiner"):
        ModelCache(choose_device("cpu")).base(str(folder))


@pytest.mark.parametrize("channels", [5, 8])
def test_a_unet_of_other_input_channels_is_named_before_loading(family_models, tmp_path, channels):
    from desktop.engine.model_peek import peek_base_info

    folder = shutil.copytree(family_models.sd1, tmp_path / "depth")
    config = json.loads((folder / "unet" / "config.json").read_text())
    (folder / "unet" / "config.json").write_text(json.dumps(config | {"in_channels": channels}))
    with pytest.raises(UnsupportedModel, match=f"{channels} input channels"):
        peek_base_info(str(folder))


def test_a_vae_override_from_an_fp16_only_folder_loads(family_models, tmp_path):
    from desktop.engine.vae_override import load_vae_override

    fp16 = write_fp16_variant_folder(family_models.sd1, tmp_path / "fp16")
    own = ModelCache(choose_device("cpu")).base(str(family_models.sd1)).vae
    vae = load_vae_override(str(fp16 / "vae"), own, choose_device("cpu"))
    for ours, theirs in zip(vae.state_dict().values(), own.state_dict().values()):
        torch.testing.assert_close(ours, theirs.half().float())


def test_a_plain_controlnet_file_is_loaded_once_whatever_the_base(family_models, tmp_path):
    cache = ModelCache(choose_device("cpu"))
    file = write_original_controlnet(family_models.sd1_net, tmp_path / "control_sd15_scribble.safetensors")
    cache.base(str(family_models.sd1))
    net = cache.controlnet(str(file), family=Family.SD1)
    cache.base(str(shutil.copytree(family_models.sd1, tmp_path / "another_sd1")))
    loads = cache.loads
    assert cache.controlnet(str(file), family=Family.SD1) is net and cache.loads == loads


def test_a_header_with_offsets_that_are_not_numbers_is_damaged(tmp_path):
    from desktop.engine.safetensors_check import read_safetensors_header

    header = json.dumps({"w": {"dtype": "F32", "shape": [1], "data_offsets": [None, 4]}}).encode()
    path = tmp_path / "odd.safetensors"
    path.write_bytes(struct.pack("<Q", len(header)) + header + b"\0" * 4)
    with pytest.raises(ModelDamaged):
        read_safetensors_header(path)


def test_a_text_encoder_only_lora_names_its_family():
    from desktop.engine.lora_layout import LoraLayout

    assert LoraLayout(False, 1, None, (768, None)).family_label == "SD 1.x"
    assert LoraLayout(False, 1, None, (1024, None)).family_label == "SD 2.x"


def test_an_incomplete_cached_snapshot_offline_says_so(family_models, monkeypatch):
    import huggingface_hub.constants as hub_constants

    from .original_layouts import write_hub_snapshot

    snapshot = write_hub_snapshot(family_models.sd1, hub_constants.HF_HUB_CACHE, "someone/half-downloaded")
    shutil.rmtree(snapshot / "unet")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelNotFound, match="cached copy of someone/half-downloaded is incomplete"):
        ModelCache(choose_device("cpu")).base("someone/half-downloaded")


def test_the_catalogs_base_models_are_known_before_they_download():
    from desktop.engine.model_peek import peek_base_info

    assert peek_base_info("stabilityai/stable-diffusion-xl-base-1.0").family is Family.SDXL
    assert peek_base_info("stabilityai/stable-diffusion-2-1").native_size == 768
    assert peek_base_info("someone/unknown-model") is None


def test_a_missing_or_foreign_lora_is_refused_before_the_base_model_loads(family_models, tmp_path,
                                                                           monkeypatch):
    from desktop.domain.errors import WrongFamily
    from desktop.domain.recipe import LoraEntry, Recipe
    from desktop.engine.render import PreviewSettings, prepare_request

    from .extras_files import write_kohya_lora

    sdxl_lora = write_kohya_lora(tmp_path / "xl_style.safetensors",
                                 ModelCache(choose_device("cpu")).base(str(family_models.sdxl)), seed=1)
    cache = ModelCache(choose_device("cpu"))
    monkeypatch.setattr(cache, "base", lambda *a, **k: pytest.fail("the base model loaded first"))
    missing = Recipe(base_model=str(family_models.sd1), width=64, height=64,
                     loras=[LoraEntry(str(tmp_path / "gone.safetensors"))])
    with pytest.raises(ModelNotFound, match="LoRA not found"):
        prepare_request(cache, missing, PreviewSettings())
    with pytest.raises(WrongFamily, match="xl_style.safetensors is for SDXL models, but the base model is SD 1.x"):
        prepare_request(cache, missing.with_overrides(loras=[LoraEntry(str(sdxl_lora))]), PreviewSettings())


def test_out_of_memory_while_switching_models_frees_the_old_one_and_tries_once_more(family_models, monkeypatch):
    from desktop.domain.errors import OutOfMemory
    from desktop.engine import model_cache

    cache = ModelCache(choose_device("cpu"))
    old = cache.base(str(family_models.sd1))
    real_load, calls = model_cache.load_base_model, []

    def load(ref, device, progress=None):
        calls.append(cache._base)  # what the cache still holds while it loads
        if len(calls) == 1:
            raise OutOfMemory("out of memory while loading")
        return real_load(ref, device, progress)

    monkeypatch.setattr(model_cache, "load_base_model", load)
    new = cache.base(str(family_models.sd2))
    assert calls == [old, None]  # the second try ran with the old model released
    assert cache.base(str(family_models.sd2)) is new and new.family is Family.SD2
