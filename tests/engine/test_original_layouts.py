"""The layout writers are right by diffusers' own loaders (not ours): what they write loads back
to the exact weights of the tiny model it was written from."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from desktop.domain.family import V_PREDICTION, Family
from desktop.engine.synthetic_families import HEAD_DIM, build_tiny_family, build_tiny_family_controlnet

from .original_layouts import (
    CONTROL_PREFIX,
    UNET_PREFIX,
    write_diffusers_single_controlnet,
    write_fp16_variant_folder,
    write_hub_snapshot,
    write_original_checkpoint,
    write_original_controlnet,
)

# (family, build options, the pipeline class real files of that kind load as)
CHECKPOINTS = {
    "sd1": (Family.SD1, {}, "StableDiffusionPipeline"),
    "sd2-v": (Family.SD2, {"prediction": V_PREDICTION}, "StableDiffusionPipeline"),
    "sdxl": (Family.SDXL, {}, "StableDiffusionXLPipeline"),
    "sd1-inpainting": (Family.SD1, {"inpainting": True}, "StableDiffusionInpaintPipeline"),
}
MODULES = ("unet", "vae", "text_encoder", "text_encoder_2")
# How A1111 reads the old SD 1.x text-encoder layout (modules/sd_models.py).
A1111_SD1_REPLACEMENTS = {
    "cond_stage_model.transformer.embeddings.": "cond_stage_model.transformer.text_model.embeddings.",
    "cond_stage_model.transformer.encoder.": "cond_stage_model.transformer.text_model.encoder.",
    "cond_stage_model.transformer.final_layer_norm.": "cond_stage_model.transformer.text_model.final_layer_norm.",
}


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """Each kind of tiny model, built once: name -> (family, folder)."""
    root = tmp_path_factory.mktemp("families")
    return {name: (family, build_tiny_family(root / name, family, **options))
            for name, (family, options, _) in CHECKPOINTS.items()}


@pytest.fixture(scope="module")
def controlnets(models, tmp_path_factory):
    root = tmp_path_factory.mktemp("controlnets")
    return {name: build_tiny_family_controlnet(models[name][1], root / name) for name in ("sd1", "sd2-v", "sdxl")}


def assert_same_weights(expected: torch.nn.Module, actual: torch.nn.Module, dtype: torch.dtype | None = None):
    want, got = expected.state_dict(), actual.state_dict()
    assert want.keys() == got.keys()
    for key, value in want.items():
        value = value.to(dtype) if dtype is not None and value.is_floating_point() else value
        assert got[key].dtype == value.dtype and torch.equal(got[key], value), key


@pytest.mark.parametrize("name", CHECKPOINTS)
def test_original_checkpoint_loads_in_diffusers_unchanged(name, models, tmp_path):
    import diffusers

    family, folder = models[name]
    path = write_original_checkpoint(folder, tmp_path / "model.safetensors", family=family)
    pipeline = getattr(diffusers, CHECKPOINTS[name][2])
    loaded = pipeline.from_single_file(str(path), config=str(folder), local_files_only=True)
    original = pipeline.from_pretrained(folder)
    for module in MODULES[: 2 + family.text_encoders]:
        assert_same_weights(getattr(original, module), getattr(loaded, module))


def test_original_keys_follow_each_familys_real_files(models, tmp_path):
    keys = {name: load_file(write_original_checkpoint(folder, tmp_path / f"{name}.safetensors", family=family))
            for name, (family, folder) in models.items() if name in ("sd1", "sd2-v", "sdxl")}
    sd1, sd2, sdxl = keys["sd1"], keys["sd2-v"], keys["sdxl"]
    assert sd1["first_stage_model.decoder.mid.attn_1.q.weight"].ndim == 4  # 1x1 convolutions
    assert sd1["cond_stage_model.transformer.text_model.embeddings.position_ids"].dtype == torch.int64
    assert "model.diffusion_model.output_blocks.2.1.conv.weight" in sd1  # upsampler straight after resnets
    assert "model.diffusion_model.output_blocks.2.2.conv.weight" in sdxl  # ... or after an attention
    assert "betas" in sd1 and "alphas_cumprod" in sd2 and "betas" not in sdxl
    width = sd2["cond_stage_model.model.ln_final.weight"].shape[0]
    assert sd2["cond_stage_model.model.transformer.resblocks.0.attn.in_proj_weight"].shape == (3 * width, width)
    assert "cond_stage_model.model.transformer.resblocks.2.ln_1.weight" in sd2  # the block SD 2.x skips
    assert "cond_stage_model.model.logit_scale" in sd2
    assert "model.diffusion_model.label_emb.0.0.weight" in sdxl
    assert "conditioner.embedders.0.transformer.text_model.final_layer_norm.weight" in sdxl
    assert "conditioner.embedders.1.model.text_projection" in sdxl


def test_fp16_checkpoint_holds_the_rounded_weights(models, tmp_path):
    from diffusers import StableDiffusionXLPipeline

    family, folder = models["sdxl"]
    path = write_original_checkpoint(folder, tmp_path / "fp16.safetensors", family=family, dtype=torch.float16)
    state = load_file(path)
    assert state["conditioner.embedders.0.transformer.text_model.embeddings.position_ids"].dtype == torch.int64
    assert {v.dtype for k, v in state.items() if not k.endswith("position_ids")} == {torch.float16}
    loaded = StableDiffusionXLPipeline.from_single_file(
        str(path), config=str(folder), local_files_only=True, dtype=torch.float16
    )
    original = StableDiffusionXLPipeline.from_pretrained(folder)
    for module in MODULES:
        assert_same_weights(getattr(original, module), getattr(loaded, module), torch.float16)


def test_old_clip_keys_are_what_a1111_renames(models, tmp_path):
    family, folder = models["sd1"]
    new = load_file(write_original_checkpoint(folder, tmp_path / "new.safetensors", family=family))
    old = load_file(write_original_checkpoint(folder, tmp_path / "old.safetensors", family=family, old_clip_keys=True))
    assert not any(key.startswith("cond_stage_model.transformer.text_model.") for key in old)
    renamed = {}
    for key, value in old.items():
        prefix = next((p for p in A1111_SD1_REPLACEMENTS if key.startswith(p)), None)
        renamed[key if prefix is None else A1111_SD1_REPLACEMENTS[prefix] + key[len(prefix):]] = value
    assert renamed.keys() == new.keys()
    assert all(torch.equal(renamed[key], new[key]) for key in new)


@pytest.mark.parametrize("name", ["sd1", "sd2-v"])
@pytest.mark.parametrize("prefixed", [True, False])
def test_original_controlnet_loads_in_diffusers_unchanged(name, prefixed, controlnets, tmp_path):
    from diffusers import ControlNetModel

    folder = controlnets[name]
    path = write_original_controlnet(folder, tmp_path / "control.safetensors", prefixed=prefixed)
    assert any(key.startswith(CONTROL_PREFIX) for key in load_file(path)) == prefixed
    loaded = ControlNetModel.from_single_file(str(path), config=str(folder), local_files_only=True)
    assert_same_weights(ControlNetModel.from_pretrained(folder), loaded)


def test_original_sdxl_controlnet_converts_with_diffusers_mapping(controlnets, tmp_path):
    """diffusers' ControlNet converter skips `label_emb` (its SDXL original keys are a TODO there),
    so that one embedding is checked with diffusers' own UNet mapping for it."""
    from diffusers.loaders.single_file_utils import DIFFUSERS_TO_LDM_MAPPING, convert_controlnet_checkpoint

    folder = controlnets["sdxl"]
    checkpoint = load_file(write_original_controlnet(folder, tmp_path / "control.safetensors"))
    converted = convert_controlnet_checkpoint(checkpoint, json.loads((folder / "config.json").read_text()))
    for diffusers_key, ldm_key in DIFFUSERS_TO_LDM_MAPPING["controlnet"]["addition_embed_type"].items():
        converted[diffusers_key] = checkpoint[CONTROL_PREFIX + ldm_key]
    expected = load_file(folder / "diffusion_pytorch_model.safetensors")
    assert converted.keys() == expected.keys()
    assert all(torch.equal(converted[key], expected[key]) for key in expected)


def test_difference_controlnet_adds_back_to_the_full_one(models, controlnets, tmp_path):
    """Loaded the way ComfyUI and sd-webui-controlnet load 1.0 "diff" files: a weight whose name
    the base UNet also has gets the base's weight added."""
    family, base = models["sd1"]
    net = controlnets["sd1"]
    full = load_file(write_original_controlnet(net, tmp_path / "full.safetensors"))
    diff = load_file(write_original_controlnet(net, tmp_path / "diff.safetensors", diff_base_folder=base))
    unet = load_file(write_original_checkpoint(base, tmp_path / "base.safetensors", family=family))
    assert diff.pop("difference").shape == ()
    restored = {}
    for key, value in diff.items():
        base_key = UNET_PREFIX + key.removeprefix(CONTROL_PREFIX)
        restored[key] = value + unet[base_key] if base_key in unet else value
    assert restored.keys() == full.keys()
    assert all(torch.allclose(restored[key], full[key], atol=1e-6) for key in full)
    assert torch.count_nonzero(diff[CONTROL_PREFIX + "input_blocks.1.0.in_layers.2.weight"]) == 0  # a copy of the base


def test_diffusers_single_controlnet_loads_without_config(controlnets, tmp_path):
    from diffusers import ControlNetModel

    folder = controlnets["sdxl"]
    path = write_diffusers_single_controlnet(folder, tmp_path / "sdxl_canny.safetensors")
    assert [p.name for p in tmp_path.iterdir()] == ["sdxl_canny.safetensors"]
    assert "controlnet_cond_embedding.conv_in.weight" in load_file(path)
    loaded = ControlNetModel.from_single_file(str(path), config=str(folder), local_files_only=True)
    assert_same_weights(ControlNetModel.from_pretrained(folder), loaded)


def test_fp16_variant_folder_loads_as_variant_only(models, tmp_path):
    from diffusers import StableDiffusionXLPipeline

    _, folder = models["sdxl"]
    dest = write_fp16_variant_folder(folder, tmp_path / "fp16")
    weights = sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*.safetensors"))
    assert weights and all(name.endswith(".fp16.safetensors") for name in weights)
    loaded = StableDiffusionXLPipeline.from_pretrained(dest, variant="fp16", dtype=torch.float16)
    original = StableDiffusionXLPipeline.from_pretrained(folder)
    for module in MODULES:
        assert_same_weights(getattr(original, module), getattr(loaded, module), torch.float16)


def test_hub_snapshot_is_found_offline(models, tmp_path):
    from diffusers import StableDiffusionPipeline
    from huggingface_hub import snapshot_download

    _, folder = models["sd1"]
    snapshot = write_hub_snapshot(folder, tmp_path / "hub", "tiny/sd1")
    assert snapshot_download("tiny/sd1", cache_dir=tmp_path / "hub", local_files_only=True) == str(snapshot)
    loaded = StableDiffusionPipeline.from_pretrained("tiny/sd1", cache_dir=tmp_path / "hub", local_files_only=True)
    assert_same_weights(StableDiffusionPipeline.from_pretrained(folder).unet, loaded.unet)


def test_tiny_families_keep_the_real_conventions(models):
    """What a loader may assume of a real model of each family, true of the tiny ones."""
    from diffusers import DiffusionPipeline, UNet2DConditionModel

    sd1, sd2, sdxl = (DiffusionPipeline.from_pretrained(models[name][1]) for name in ("sd1", "sd2-v", "sdxl"))
    for pipe in (sd1, sd2, sdxl):
        assert pipe.text_encoder.config.vocab_size == len(pipe.tokenizer) == 49408
        assert pipe.text_encoder.config.max_position_embeddings == pipe.tokenizer.model_max_length == 77
        assert pipe.vae_scale_factor == 8
    assert (sd1.tokenizer.pad_token, sd2.tokenizer.pad_token, sdxl.tokenizer_2.pad_token) == ("<|endoftext|>", "!", "!")
    assert (sd1.text_encoder.config.hidden_act, sd2.text_encoder.config.hidden_act) == ("quick_gelu", "gelu")
    assert sd1.unet.config.attention_head_dim == 8 and not sd1.unet.config.use_linear_projection
    for unet in (sd2.unet, sdxl.unet):
        assert unet.config.use_linear_projection
        assert list(unet.config.attention_head_dim) == [c // HEAD_DIM for c in unet.config.block_out_channels]
    assert sd2.scheduler.config.prediction_type == V_PREDICTION
    widths = sdxl.text_encoder.config.hidden_size + sdxl.text_encoder_2.config.hidden_size
    assert sdxl.unet.config.cross_attention_dim == widths
    assert sdxl.unet.config.projection_class_embeddings_input_dim == (
        sdxl.text_encoder_2.config.projection_dim + 6 * sdxl.unet.config.addition_time_embed_dim
    )
    assert (sdxl.vae.config.scaling_factor, sdxl.vae.config.force_upcast) == (0.13025, True)
    assert UNet2DConditionModel.load_config(models["sd1-inpainting"][1], subfolder="unet")["in_channels"] == 9
