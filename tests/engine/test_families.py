"""Each family through the real folder loader, against diffusers' own pipelines to the pixel."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from desktop.domain.errors import MissingModelPart, UnsupportedModel, WrongFamily
from desktop.domain.family import V_PREDICTION, Family
from desktop.engine.device import choose_device
from desktop.engine.model_cache import ModelCache
from desktop.engine.sampler import ControlInput, SamplerRequest, sample
from desktop.engine.schedulers import make_scheduler
from tests.conftest import scribble_pixels

from .helpers import max_diff
from .original_layouts import write_fp16_variant_folder, write_hub_snapshot

SIZE = 64


@pytest.fixture()
def cache():
    return ModelCache(choose_device("cpu"))


def _request(controls, scheduler="euler", **overrides) -> SamplerRequest:
    settings = dict(prompt="a red circle on a blue background", negative_prompt="", seed=3, steps=4,
                    guidance_scale=6.0, width=SIZE, height=SIZE, scheduler=scheduler, controls=controls,
                    preview_every=0)
    return SamplerRequest(**(settings | overrides))


def _sdxl_pipeline_image(base, controls: list[ControlInput], req: SamplerRequest) -> np.ndarray:
    from diffusers import StableDiffusionXLControlNetPipeline
    from diffusers.models.controlnets import MultiControlNetModel

    pipe = StableDiffusionXLControlNetPipeline(
        vae=base.vae, text_encoder=base.text_encoder, text_encoder_2=base.text_encoder_2, tokenizer=base.tokenizer,
        tokenizer_2=base.tokenizer_2, unet=base.unet, controlnet=MultiControlNetModel([c.network for c in controls]),
        scheduler=make_scheduler(req.scheduler, base.scheduler_config), add_watermarker=False,
    )
    pipe.set_progress_bar_config(disable=True)
    output = pipe(
        req.prompt, image=[Image.fromarray(c.image) for c in controls], num_inference_steps=req.steps,
        guidance_scale=req.guidance_scale, negative_prompt=req.negative_prompt or None,
        generator=torch.Generator("cpu").manual_seed(req.seed), height=req.height, width=req.width,
        output_type="np", controlnet_conditioning_scale=[c.weight for c in controls],
        control_guidance_start=[c.start for c in controls], control_guidance_end=[c.end for c in controls],
    ).images[0]
    return (output * 255).round().astype(np.uint8)


@pytest.mark.parametrize("scheduler", ["euler", "dpmpp_2m_karras"])
@pytest.mark.parametrize("negative", ["", "blurry"])
def test_sdxl_with_two_controlnets_matches_the_diffusers_pipeline(cache, family_models, scheduler, negative):
    base = cache.base(str(family_models.sdxl))
    assert base.family is Family.SDXL and base.info.native_size == 1024
    controls = [
        ControlInput(cache.controlnet(str(family_models.sdxl_net), family=Family.SDXL), scribble_pixels(SIZE),
                     weight=0.8, start=0.0, end=0.5),
        ControlInput(cache.controlnet(str(family_models.sdxl_net2), family=Family.SDXL),
                     scribble_pixels(SIZE, variant=1), weight=1.2, start=0.25, end=1.0),
    ]
    req = _request(controls, scheduler, negative_prompt=negative)
    ours = sample(base, req).image
    assert max_diff(ours, _sdxl_pipeline_image(base, controls, req)) == 0
    without = sample(base, _request([], scheduler, negative_prompt=negative)).image
    assert max_diff(ours, without) > 10  # the ControlNets steer: the parity above is not of two idle nets


def test_sdxl_time_ids_follow_the_size(cache, family_models):
    """The micro-conditioning carries the requested size (changing it changes the image, not only its size)."""
    from desktop.engine.prompt import encode_prompts

    base = cache.base(str(family_models.sdxl))
    conditioning, _ = encode_prompts(base, "a cat", "", 64, 128)
    assert conditioning.time_ids.tolist() == [[64, 128, 0, 0, 64, 128]] * 2
    assert conditioning.pooled.shape == (2, base.text_encoder_2.config.projection_dim)
    assert torch.count_nonzero(conditioning.embeds[0]) == 0  # SDXL's empty negative prompt is zeros
    assert conditioning.embeds.shape[-1] == base.unet.config.cross_attention_dim


@pytest.mark.parametrize("name", ["sd2", "sd2_v"])
def test_sd2_folders_match_the_diffusers_pipeline(cache, family_models, name):
    from .helpers import theirs

    base = cache.base(str(getattr(family_models, name)))
    assert base.family is Family.SD2
    assert base.info.prediction == (V_PREDICTION if name == "sd2_v" else "epsilon")
    assert base.info.native_size == (768 if name == "sd2_v" else 512)
    net = cache.controlnet(str(family_models.sd2_net), family=Family.SD2)
    controls = [ControlInput(net, scribble_pixels(SIZE), weight=0.9)]
    req = _request(controls, "unipc")
    assert max_diff(sample(base, req).image, theirs(base, controls, width=SIZE, height=SIZE, steps=4, seed=3,
                                                    guidance_scale=6.0)) == 0


@pytest.mark.parametrize(("base_name", "net_name"), [
    ("sd1", "sdxl_net"), ("sdxl", "sd1_net"), ("sd2", "sdxl_net"), ("sdxl", "sd2_net"), ("sd1", "sd2_net"),
    ("sd2", "sd1_net"),
])
def test_a_controlnet_of_another_family_is_refused_before_its_weights_load(cache, family_models, base_name,
                                                                            net_name, monkeypatch):
    from diffusers import ControlNetModel

    base = cache.base(str(getattr(family_models, base_name)))

    def never(*args, **kwargs):
        raise AssertionError("weights were read")

    monkeypatch.setattr(ControlNetModel, "from_pretrained", never)
    with pytest.raises(WrongFamily, match=base.family.label):
        cache.controlnet(str(getattr(family_models, net_name)), family=base.family)


def test_fp16_variant_only_folder_loads_and_matches(cache, family_models, tmp_path):
    fp16 = write_fp16_variant_folder(family_models.sdxl, tmp_path / "fp16")
    assert not list(fp16.glob("*/diffusion_pytorch_model.safetensors"))
    base = cache.base(str(fp16))
    assert base.family is Family.SDXL and base.unet.dtype == torch.float32
    reference = ModelCache(choose_device("cpu")).base(str(family_models.sdxl))
    for ours, theirs in zip(base.unet.state_dict().values(), reference.unet.state_dict().values()):
        torch.testing.assert_close(ours, theirs.half().float())


def test_cached_hub_snapshot_loads_offline(cache, family_models, monkeypatch):
    import huggingface_hub.constants as hub_constants

    write_hub_snapshot(family_models.sd2, hub_constants.HF_HUB_CACHE, "someone/tiny-sd2")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    base = cache.base("someone/tiny-sd2")
    assert base.family is Family.SD2


def test_sdxl_folder_without_its_second_text_encoder_names_it(cache, family_models, tmp_path):
    broken = shutil.copytree(family_models.sdxl, tmp_path / "sdxl")
    shutil.rmtree(broken / "text_encoder_2")
    with pytest.raises(MissingModelPart, match="text_encoder_2"):
        cache.base(str(broken))


def test_inpainting_folder_is_refused_by_name(cache, family_models, tmp_path):
    folder = shutil.copytree(family_models.sd1, tmp_path / "inpaint")
    config = json.loads((folder / "unet" / "config.json").read_text())
    (folder / "unet" / "config.json").write_text(json.dumps(config | {"in_channels": 9}))
    with pytest.raises(UnsupportedModel, match="inpainting model"):
        cache.base(str(folder))


def test_hub_downloads_take_one_precision_per_folder():
    from desktop.hub.downloads import BASE_FOLDERS, choose_weight_files

    files = ["model_index.json", "unet/config.json", "unet/diffusion_pytorch_model.safetensors",
             "unet/diffusion_pytorch_model.fp16.safetensors", "vae/diffusion_pytorch_model.fp16.safetensors",
             "text_encoder/model.safetensors", "unet/diffusion_pytorch_model.bin",
             "vae_1_0/diffusion_pytorch_model.safetensors", "sd_xl_base_1.0.safetensors",
             "text_encoder_2/model-00001-of-00002.safetensors", "text_encoder_2/model-00002-of-00002.safetensors",
             "text_encoder_2/model.safetensors.index.json"]
    assert choose_weight_files(files, BASE_FOLDERS, prefer_fp16=False) == [
        "text_encoder/model.safetensors", "text_encoder_2/model-00001-of-00002.safetensors",
        "text_encoder_2/model-00002-of-00002.safetensors", "text_encoder_2/model.safetensors.index.json",
        "unet/diffusion_pytorch_model.safetensors", "vae/diffusion_pytorch_model.fp16.safetensors"]
    assert "unet/diffusion_pytorch_model.fp16.safetensors" in choose_weight_files(files, BASE_FOLDERS, True)
    net_files = ["config.json", "diffusion_pytorch_model.safetensors", "diffusion_pytorch_model_promax.safetensors"]
    assert choose_weight_files(net_files, (".",), prefer_fp16=True) == ["diffusion_pytorch_model.safetensors"]


@pytest.mark.parametrize("mode", ["prompt", "control", "cfg-rw"])
def test_control_modes_scale_each_residual_of_the_sdxl_layout(cache, family_models, mode):
    """SDXL ControlNets return 9 down residuals + mid over three levels; every mode scales each by its rule."""
    import numpy as np

    from desktop.engine.conditioning import Conditioning, sdxl_time_ids
    from desktop.engine.guidance import guidance_inputs, prepare_guidance

    base = cache.base(str(family_models.sdxl))
    net = cache.controlnet(str(family_models.sdxl_net), family=Family.SDXL)
    req = _request([ControlInput(net, scribble_pixels(SIZE), weight=0.7, mode=mode)])
    prepared = prepare_guidance(base, req.controls, SIZE, SIZE, True, SIZE // 8)
    torch.manual_seed(0)
    latent_in = torch.randn(2, 4, SIZE // 8, SIZE // 8)
    conditioning = Conditioning(torch.randn(2, 77, base.unet.config.cross_attention_dim),
                                torch.randn(2, base.text_encoder_2.config.projection_dim),
                                sdxl_time_ids(SIZE, SIZE, 2, torch.float32, torch.device("cpu")))
    t = torch.tensor(500)
    with torch.inference_mode():
        summed = guidance_inputs(prepared, latent_in, t, conditioning, True, lambda module: module)
        down, mid = summed.down, summed.mid
        raw_down, raw_mid = net(latent_in, t, **conditioning.unet_kwargs(), controlnet_cond=prepared[0].image_both,
                                return_dict=False)
    raw, got = [*raw_down, raw_mid], [*down, mid]
    assert len(raw) == 10 and [r.shape[-2] for r in raw] == [8, 8, 8, 4, 4, 4, 2, 2, 2, 2]
    count = len(raw)
    for i, (g, r) in enumerate(zip(got, raw)):
        if mode == "prompt":
            torch.testing.assert_close(g, r * 0.7 * 0.825 ** (count - 1 - i))
            continue
        scale = 0.7 * (64.0 / r.shape[-2] if mode == "cfg-rw" else float(np.logspace(-1, 0, count)[i]))
        torch.testing.assert_close(g[0], torch.zeros_like(g[0]))  # conditional half only
        torch.testing.assert_close(g[1], r[1] * scale, rtol=1e-3, atol=1e-4)  # batch 1 vs 2: float noise


def test_a_config_this_version_cannot_build_is_not_called_damaged(cache, family_models, tmp_path):
    folder = shutil.copytree(family_models.sd1, tmp_path / "odd")
    config = json.loads((folder / "unet" / "config.json").read_text())
    config["down_block_types"] = ["FancyDownBlock2D", "DownBlock2D"]
    (folder / "unet" / "config.json").write_text(json.dumps(config))
    with pytest.raises(UnsupportedModel, match="cannot be loaded: .*FancyDownBlock2D") as info:
        cache.base(str(folder))
    assert "damaged" not in str(info.value)
