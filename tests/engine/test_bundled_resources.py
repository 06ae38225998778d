"""The tokenizer and configs every family needs ship in resources/ and are the real ones.

Only configs load here: the big models are built on the meta device, so nothing is allocated.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import torch

from desktop.domain.catalog import (
    DEFAULT_BASE_MODELS,
    OFFICIAL_CONTROLNETS,
    SD15_BASE,
    SDXL_UNION,
    default_controlnet_id,
)
from desktop.domain.family import V_PREDICTION, Family
from desktop.engine.tokenizers import CLIP_TOKENIZER, PAD_TOKENS, family_tokenizers, load_clip_tokenizer

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "resources" / "configs"
APP_KINDS = ("scribble", "canny", "pose", "depth", "normal", "seg", "lines", "lineart", "softedge",
             "shuffle", "tile", "inpaint")

# Reference ids from OpenAI CLIP / Hugging Face tokenizations quoted in public test suites.
KNOWN_IDS = {
    "a photo of a cat": [49406, 320, 1125, 539, 320, 2368, 49407],
    "a photo of an astronaut riding a horse on mars":
        [49406, 320, 1125, 539, 550, 18376, 6765, 320, 4558, 525, 7496, 49407],
    "Apple CoreML developer tools on a Macbook Air are fast":
        [49406, 3055, 19622, 5780, 10929, 5771, 525, 320, 20617, 1922, 631, 1953, 49407],
    "the black dog": [49406, 518, 1449, 1929, 49407],
    "Hello, World! 123": [49406, 3306, 267, 1002, 256, 272, 273, 274, 49407],
}


@pytest.fixture(scope="module")
def clip():
    return load_clip_tokenizer()


@pytest.mark.parametrize("text", KNOWN_IDS)
def test_bundled_tokenizer_gives_clips_ids(clip, text):
    assert clip(text).input_ids == KNOWN_IDS[text]


def test_bundled_tokenizer_is_the_full_clip_vocabulary(clip):
    assert len(clip) == 49408
    assert clip.model_max_length == 77
    assert (clip.bos_token_id, clip.eos_token_id, clip.pad_token_id) == (49406, 49407, 49407)
    assert clip.unk_token == "<|endoftext|>"


def test_only_the_slow_files_ship_and_loading_writes_nothing():
    load_clip_tokenizer("!")
    assert sorted(p.name for p in CLIP_TOKENIZER.iterdir()) == [
        "merges.txt", "special_tokens_map.json", "tokenizer_config.json", "vocab.json"]


def test_vocab_is_simple_tokenizers_rule_over_the_merges():
    """256 bytes, the same with </w>, one token per merge, then the two specials."""
    spec = importlib.util.spec_from_file_location("make_clip_tokenizer", ROOT / "tools" / "make_clip_tokenizer.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    lines = (CLIP_TOKENIZER / "merges.txt").read_text(encoding="utf-8").split("\n")
    assert lines[0] == "#version: 0.2" and lines[-1] == ""
    assert tool.build_vocab(lines[1:-1]) == json.loads((CLIP_TOKENIZER / "vocab.json").read_text(encoding="utf-8"))


def test_padding_follows_each_encoder():
    sd1, = family_tokenizers(Family.SD1)
    sd2, = family_tokenizers(Family.SD2)
    xl_1, xl_2 = family_tokenizers(Family.SDXL)
    padded = {name: tok("a cat", padding="max_length", max_length=77).input_ids
              for name, tok in (("sd1", sd1), ("sd2", sd2), ("xl_1", xl_1), ("xl_2", xl_2))}
    assert padded["sd1"] == padded["xl_1"] == [49406, 320, 2368] + [49407] * 74
    assert padded["sd2"] == padded["xl_2"] == [49406, 320, 2368, 49407] + [0] * 73
    assert PAD_TOKENS[Family.SDXL] == ("<|endoftext|>", "!")


def test_open_clip_pad_reads_exclamation_marks_as_pad_like_diffusers():
    """The real SD 2.x / SDXL tokenizer_2 configs make "!" special (huggingface/diffusers#4153)."""
    assert load_clip_tokenizer("!")("Hello, World! 123").input_ids == [49406, 3306, 267, 1002, 0, 272, 273, 274, 49407]


def _config(path: str) -> dict:
    return json.loads((CONFIGS / path).read_text(encoding="utf-8"))


@pytest.mark.parametrize("folder, family", [("sd2", Family.SD2), ("sd2_v", Family.SD2), ("sdxl", Family.SDXL)])
def test_unet_and_text_encoders_match_the_family(folder, family):
    from diffusers import UNet2DConditionModel
    from transformers import CLIPTextConfig

    unet = UNet2DConditionModel.load_config(CONFIGS / folder / "unet")
    text_time = unet.get("addition_embed_type") == "text_time"
    assert Family.from_context_dim(unet["cross_attention_dim"], text_time=text_time) is family
    assert unet["cross_attention_dim"] == family.context_dim
    encoders = ["text_encoder", "text_encoder_2"][: family.text_encoders]
    widths = [CLIPTextConfig.from_pretrained(CONFIGS / folder / name, local_files_only=True).hidden_size
              for name in encoders]
    assert sum(widths) == family.context_dim


def test_sd2_configs_are_openclip_vit_h():
    from transformers import CLIPTextConfig

    for folder in ("sd2", "sd2_v"):
        text = CLIPTextConfig.from_pretrained(CONFIGS / folder / "text_encoder", local_files_only=True)
        assert (text.hidden_size, text.num_hidden_layers, text.num_attention_heads) == (1024, 23, 16)
        assert (text.hidden_act, text.intermediate_size, text.vocab_size) == ("gelu", 4096, 49408)
        assert _config(f"{folder}/unet/config.json")["attention_head_dim"] == [5, 10, 20, 20]
        assert _config(f"{folder}/unet/config.json")["use_linear_projection"] is True


def test_sd2_base_is_epsilon_512_and_sd2_v_is_v_prediction_768():
    from diffusers import DDIMScheduler, PNDMScheduler

    base = PNDMScheduler.from_config(PNDMScheduler.load_config(CONFIGS / "sd2" / "scheduler"))
    v = DDIMScheduler.from_config(DDIMScheduler.load_config(CONFIGS / "sd2_v" / "scheduler"))
    assert base.config.prediction_type == "epsilon" and v.config.prediction_type == V_PREDICTION
    assert _config("sd2/unet/config.json")["sample_size"] * 8 == 512
    assert _config("sd2_v/unet/config.json")["sample_size"] * 8 == 768
    assert _config("sd2_v/unet/config.json")["upcast_attention"] is True
    assert _config("sd2/model_index.json")["scheduler"] == ["diffusers", "PNDMScheduler"]
    assert _config("sd2_v/model_index.json")["scheduler"] == ["diffusers", "DDIMScheduler"]


def test_sdxl_configs_are_the_base_1_0_ones():
    from diffusers import AutoencoderKL, EulerDiscreteScheduler
    from transformers import CLIPTextConfig

    unet = _config("sdxl/unet/config.json")
    assert unet["addition_embed_type"] == "text_time" and unet["projection_class_embeddings_input_dim"] == 2816
    assert unet["transformer_layers_per_block"] == [1, 2, 10] and unet["sample_size"] * 8 == 1024
    vae = AutoencoderKL.load_config(CONFIGS / "sdxl" / "vae")
    assert vae["scaling_factor"] == 0.13025 and vae["force_upcast"] is True
    big_g = CLIPTextConfig.from_pretrained(CONFIGS / "sdxl" / "text_encoder_2", local_files_only=True)
    assert (big_g.hidden_size, big_g.num_hidden_layers, big_g.projection_dim) == (1280, 32, 1280)
    assert _config("sdxl/text_encoder_2/config.json")["architectures"] == ["CLIPTextModelWithProjection"]
    scheduler = EulerDiscreteScheduler.from_config(EulerDiscreteScheduler.load_config(CONFIGS / "sdxl" / "scheduler"))
    assert scheduler.config.timestep_spacing == "leading" and scheduler.config.steps_offset == 1
    index = _config("sdxl/model_index.json")
    assert index["_class_name"] == "StableDiffusionXLPipeline" and index["tokenizer_2"] == ["transformers", "CLIPTokenizer"]


@pytest.mark.parametrize("folder", ["sd2", "sd2_v", "sdxl"])
def test_no_family_folder_needs_a_tokenizer_or_feature_extractor_on_disk(folder):
    index = _config(f"{folder}/model_index.json")
    assert index.get("feature_extractor", [None, None]) == [None, None]
    assert not (CONFIGS / folder / "tokenizer").exists()


@pytest.mark.parametrize("unet_folder, controlnet_folder", [("sd2", "controlnet_sd2"), ("sdxl", "controlnet_sdxl")])
def test_controlnet_configs_fit_their_unet(unet_folder, controlnet_folder):
    """Built on the meta device: same parameter shapes as diffusers' ControlNet made from the UNet."""
    from diffusers import ControlNetModel, UNet2DConditionModel

    with torch.device("meta"):
        unet = UNet2DConditionModel.from_config(UNet2DConditionModel.load_config(CONFIGS / unet_folder / "unet"))
        ours = ControlNetModel.from_config(ControlNetModel.load_config(CONFIGS / controlnet_folder))
        theirs = ControlNetModel.from_unet(unet)
    assert {k: v.shape for k, v in ours.state_dict().items()} == {k: v.shape for k, v in theirs.state_dict().items()}


def test_sd15_defaults_are_unchanged():
    assert SD15_BASE == DEFAULT_BASE_MODELS[Family.SD1] == "stable-diffusion-v1-5/stable-diffusion-v1-5"
    assert DEFAULT_BASE_MODELS[Family.SD2] == "stabilityai/stable-diffusion-2-1"
    assert DEFAULT_BASE_MODELS[Family.SDXL] == "stabilityai/stable-diffusion-xl-base-1.0"
    for kind in APP_KINDS:
        assert default_controlnet_id(Family.SD1, kind) == OFFICIAL_CONTROLNETS[kind]


def test_sd2_and_sdxl_controlnets_only_where_one_serves_the_kind():
    sd2 = {kind: default_controlnet_id(Family.SD2, kind) for kind in APP_KINDS}
    assert sd2 == {
        "scribble": "thibaud/controlnet-sd21-scribble-diffusers",
        "canny": "thibaud/controlnet-sd21-canny-diffusers",
        "pose": "thibaud/controlnet-sd21-openposev2-diffusers",
        "depth": "thibaud/controlnet-sd21-depth-diffusers",
        "normal": "thibaud/controlnet-sd21-normalbae-diffusers",
        "seg": "thibaud/controlnet-sd21-ade20k-diffusers",
        "lines": None,
        "lineart": "thibaud/controlnet-sd21-lineart-diffusers",
        "softedge": "thibaud/controlnet-sd21-hed-diffusers",
        "shuffle": None, "tile": None, "inpaint": None,
    }
    sdxl = {kind: default_controlnet_id(Family.SDXL, kind) for kind in APP_KINDS}
    assert {kind: net for kind, net in sdxl.items() if net} == {
        "scribble": "xinsir/controlnet-scribble-sdxl-1.0",
        "canny": "diffusers/controlnet-canny-sdxl-1.0",
        "pose": "xinsir/controlnet-openpose-sdxl-1.0",
        "depth": "diffusers/controlnet-depth-sdxl-1.0",
        "normal": SDXL_UNION, "seg": SDXL_UNION, "lines": SDXL_UNION, "lineart": SDXL_UNION, "softedge": SDXL_UNION,
    }
    assert SDXL_UNION == "xinsir/controlnet-union-sdxl-1.0"
    assert default_controlnet_id(Family.SDXL, "no such kind") is None
