"""Single-file ControlNets of every family and layout against the diffusers folders they were written from."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from desktop.domain.errors import ArchitectureMismatch, MissingModelPart, ModelDamaged, UnsupportedModel, WrongFamily
from desktop.domain.family import Family
from desktop.engine.device import choose_device
from desktop.engine.model_cache import ModelCache
from desktop.engine.sampler import ControlInput, SamplerRequest, sample
from desktop.engine.single_file_controlnet import DIFFUSERS, ORIGINAL, inspect_controlnet, load_single_file_controlnet
from tests.conftest import scribble_pixels

from .helpers import max_diff
from .original_layouts import write_diffusers_single_controlnet, write_original_controlnet

NETS = {Family.SD1: "sd1_net", Family.SD2: "sd2_net", Family.SDXL: "sdxl_net"}
BASES = {Family.SD1: "sd1", Family.SD2: "sd2", Family.SDXL: "sdxl"}
SHUFFLE_YAML = "model:\n  target: cldm.cldm.ControlLDM\n  params:\n    global_average_pooling: {}\n"


def _write(layout: str, net: Path, path: Path) -> Path:
    if layout == "diffusers":
        return write_diffusers_single_controlnet(net, path)
    return write_original_controlnet(net, path, prefixed=layout != "bare",
                                     dtype=torch.float16 if layout == "fp16" else None)


@pytest.fixture()
def no_weights_read(monkeypatch):
    """Any tensor read fails: what passes was decided from the header alone."""
    from desktop.engine.checkpoint_reader import TensorReader

    def refuse(self, name, dtype=None):
        raise AssertionError(f"{name} was read")

    monkeypatch.setattr(TensorReader, "read", refuse)


def _folder_net(family_models, family: Family):
    from diffusers import ControlNetModel

    return ControlNetModel.from_pretrained(getattr(family_models, NETS[family]))


def _base_unet(family_models, family: Family):
    from diffusers import UNet2DConditionModel

    return UNet2DConditionModel.from_pretrained(getattr(family_models, BASES[family]) / "unet")


@pytest.mark.parametrize("family", list(Family))
@pytest.mark.parametrize("layout", ["prefixed", "bare", "diffusers", "fp16"])
def test_single_file_controlnet_holds_the_folders_tensors(family_models, tmp_path, family, layout):
    file = _write(layout, getattr(family_models, NETS[family]), tmp_path / "net.safetensors")
    info = inspect_controlnet(file)
    assert info.family is family
    assert info.layout == (DIFFUSERS if layout == "diffusers" else ORIGINAL)
    assert info.prefix == ("control_model." if layout in ("prefixed", "fp16") else "")
    # SDXL's text-time width shows in no weight: the base model's UNet says it.
    base_unet = _base_unet(family_models, family) if family is Family.SDXL else None
    net = load_single_file_controlnet(file, torch.float32, expected_family=family, base_unet=base_unet)
    reference = _folder_net(family_models, family)
    assert net.config.addition_time_embed_dim == reference.config.addition_time_embed_dim
    ours, theirs = net.state_dict(), reference.state_dict()
    assert ours.keys() == theirs.keys()
    for key, value in theirs.items():
        assert torch.equal(ours[key], value.half().float() if layout == "fp16" else value), key


@pytest.mark.parametrize("layout", ["prefixed", "diffusers"])
def test_sdxl_controlnet_with_fewer_transformer_layers(family_models, tmp_path, layout):
    """Like diffusers' -mid and -small SDXL ControlNets: attention blocks with fewer (even no)
    transformer layers than the base's; the depths come from the file."""
    from diffusers import ControlNetModel

    config = json.loads((family_models.sdxl_net / "config.json").read_text())
    config = {k: v for k, v in config.items() if not k.startswith("_")} | {"transformer_layers_per_block": [1, 0, 1]}
    torch.manual_seed(0)
    reference = ControlNetModel(**config)
    reference.save_pretrained(tmp_path / "mid", safe_serialization=True)
    file = _write(layout, tmp_path / "mid", tmp_path / "mid.safetensors")
    net = load_single_file_controlnet(file, torch.float32, expected_family=Family.SDXL,
                                      base_unet=_base_unet(family_models, Family.SDXL))
    assert list(net.config.transformer_layers_per_block) == [1, 0, 1]
    ours = net.state_dict()
    assert ours.keys() == reference.state_dict().keys()
    assert all(torch.equal(ours[key], value) for key, value in reference.state_dict().items())


@pytest.mark.parametrize("family", list(Family))
def test_difference_file_equals_the_absolute_controlnet(family_models, tmp_path, family):
    base_folder = getattr(family_models, BASES[family])
    file = write_original_controlnet(getattr(family_models, NETS[family]), tmp_path / "diff.safetensors",
                                     diff_base_folder=base_folder)
    assert inspect_controlnet(file).difference
    with pytest.raises(MissingModelPart, match="difference file"):
        load_single_file_controlnet(file, torch.float32)
    net = load_single_file_controlnet(file, torch.float32, base_unet=_base_unet(family_models, family))
    reference = _folder_net(family_models, family).state_dict()
    for key, value in net.state_dict().items():
        torch.testing.assert_close(value, reference[key], rtol=0, atol=1e-6)


@pytest.mark.parametrize(("net_family", "base_family"), [
    (Family.SDXL, Family.SD1), (Family.SD1, Family.SDXL), (Family.SD2, Family.SD1), (Family.SD1, Family.SD2),
])
def test_controlnet_of_another_family_is_refused_from_the_header(family_models, tmp_path, net_family,
                                                                 base_family, no_weights_read):
    file = write_original_controlnet(getattr(family_models, NETS[net_family]), tmp_path / "net.safetensors")
    expected = f"is an {net_family.label} ControlNet but the base model is {base_family.label}"
    with pytest.raises(WrongFamily, match=expected):
        load_single_file_controlnet(file, torch.float32, expected_family=base_family)


@pytest.mark.parametrize(("name", "yaml", "family", "pooled"), [
    ("control_v11e_sd15_shuffle", None, Family.SD1, True),
    ("my_net", "True", Family.SD1, True),
    ("control_v11e_sd15_shuffle", "False", Family.SD1, False),
    ("my_net", None, Family.SD2, False),
    ("controlnet_sdxl_shuffle", None, Family.SDXL, False),
])
def test_shuffle_controlnets_pool_globally(family_models, tmp_path, name, yaml, family, pooled):
    """sd-webui-controlnet's rule: the yaml beside the file, else "shuffle" in an SD 1.x/2.x file's name."""
    file = write_original_controlnet(getattr(family_models, NETS[family]), tmp_path / f"{name}.safetensors")
    if yaml is not None:
        (tmp_path / f"{name}.yaml").write_text(SHUFFLE_YAML.format(yaml), encoding="utf-8")
    base_unet = _base_unet(family_models, family) if family is Family.SDXL else None
    assert load_single_file_controlnet(file, torch.float32, base_unet=base_unet).config.global_pool_conditions is pooled


def test_diffusers_file_keeps_the_config_beside_it(family_models, tmp_path):
    folder = family_models.sd1_net
    file = write_diffusers_single_controlnet(folder, tmp_path / "net.safetensors")
    config = json.loads((folder / "config.json").read_text())
    config |= {"global_pool_conditions": True, "upcast_attention": True}
    (tmp_path / "net.json").write_text(json.dumps(config), encoding="utf-8")
    info = inspect_controlnet(file)
    assert info.config_file == tmp_path / "net.json" and info.global_pool
    net = load_single_file_controlnet(file, torch.float32)
    assert net.config.upcast_attention and net.config.global_pool_conditions


def test_controlnet_from_file_steers_as_the_folders_does(family_models, tmp_path):
    cache = ModelCache(choose_device("cpu"))
    base = cache.base(str(family_models.sd2))
    file = write_original_controlnet(family_models.sd2_net, tmp_path / "control_sd21_scribble.safetensors")
    images = []
    for net in (cache.controlnet(str(file), family=Family.SD2), cache.controlnet(str(family_models.sd2_net))):
        request = SamplerRequest(prompt="a house", seed=2, steps=3, width=64, height=64, scheduler="unipc",
                                 controls=[ControlInput(net, scribble_pixels(64))], preview_every=0)
        images.append(sample(base, request).image)
    assert max_diff(*images) == 0


def test_files_that_are_not_controlnets_are_refused(family_models, tmp_path, no_weights_read):
    vae = tmp_path / "vae.safetensors"
    shutil.copy(next((family_models.sd1 / "vae").glob("*.safetensors")), vae)
    with pytest.raises(ArchitectureMismatch, match="vae.safetensors is not a ControlNet .*VAE"):
        inspect_controlnet(vae)
    control_lora = tmp_path / "control-lora-canny.safetensors"
    save_file({"lora_controlnet": torch.zeros(1), "input_hint_block.0.weight": torch.zeros(16, 3, 3, 3)}, control_lora)
    with pytest.raises(UnsupportedModel, match="Control-LoRA"):
        inspect_controlnet(control_lora)


def test_truncated_controlnet_file_is_damaged(family_models, tmp_path):
    file = write_original_controlnet(family_models.sd1_net, tmp_path / "net.safetensors")
    data = file.read_bytes()
    file.write_bytes(data[: len(data) - 500])
    with pytest.raises(ModelDamaged, match="damaged"):
        load_single_file_controlnet(file, torch.float32)


@pytest.mark.parametrize("fast", [False, True], ids=["plain", "fast path: LoRA baked into the UNet"])
def test_a_difference_file_through_the_cache_uses_the_loaded_base_even_under_a_lora(family_models, tmp_path, fast):
    """A1111 adds the base model's own weights; a LoRA on the base must not leak into the ControlNet."""
    from desktop.domain.model_extras import LoraChoice, ModelExtras
    from desktop.engine.fast_path import FastPathOptions

    from .extras_files import write_kohya_lora

    options = FastPathOptions(backend="eager", channels_last=False, min_parameters=0) if fast else None
    cache = ModelCache(choose_device("cpu"), options)
    base = cache.base(str(family_models.sd1))
    lora = write_kohya_lora(tmp_path / "style.safetensors", base, seed=3)
    cache.apply_extras(ModelExtras(loras=(LoraChoice(str(lora), 1.0),), prompt="a house"))
    diff = write_original_controlnet(family_models.sd1_net, tmp_path / "diff_control_sd15.safetensors",
                                     diff_base_folder=family_models.sd1)
    net = cache.controlnet(str(diff), family=Family.SD1)
    reference = _folder_net(family_models, Family.SD1).state_dict()
    for key, value in net.state_dict().items():
        torch.testing.assert_close(value, reference[key], rtol=0, atol=1e-6)
    assert cache.controlnet(str(diff), family=Family.SD1) is net  # kept while the base stays
