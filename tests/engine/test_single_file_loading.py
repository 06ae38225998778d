"""Single-file checkpoints of every family against the diffusers folders they were written from.

The files are tiny models saved in the original layouts users download (tests/engine/original_layouts.py);
loading one must give the folder's model tensor for tensor, and the same image to the pixel.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from desktop.domain.errors import (
    ArchitectureMismatch, MissingModelPart, ModelDamaged, UnreadableFile, UnsupportedModel,
)
from desktop.domain.family import EPSILON, V_PREDICTION, Family
from desktop.engine.checkpoint_inspect import inspect_checkpoint
from desktop.engine.checkpoint_reader import TensorReader
from desktop.engine.device import choose_device
from desktop.engine.model_cache import ModelCache
from desktop.engine.sampler import SamplerRequest, sample
from desktop.engine.single_file_base import load_single_file_base
from desktop.engine.synthetic_families import build_tiny_family
from desktop.engine.tokenizers import family_tokenizers

from .helpers import max_diff
from .original_layouts import write_original_checkpoint, write_original_controlnet

V_YAML = "model:\n  target: ldm.models.diffusion.ddpm.LatentDiffusion\n  params:\n    parameterization: \"v\"\n"
FAMILY = {"sd1": Family.SD1, "sd1_old_clip": Family.SD1, "sd2": Family.SD2, "sd2_v": Family.SD2, "sdxl": Family.SDXL}


@pytest.fixture(scope="module")
def files(family_models, tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("single_files")
    made = {
        name: write_original_checkpoint(
            getattr(family_models, name.removesuffix("_old_clip")), root / f"{name}.safetensors",
            family=family, old_clip_keys=name.endswith("_old_clip"),
        )
        for name, family in FAMILY.items()
    }
    (root / "sd2_v.yaml").write_text(V_YAML, encoding="utf-8")
    made["sd1_fp16"] = write_original_checkpoint(family_models.sd1, root / "sd1_fp16.safetensors",
                                                 family=Family.SD1, dtype=torch.float16)
    return made


@pytest.fixture()
def no_weights_read(monkeypatch):
    """Any tensor read fails: what passes was decided from the header alone."""
    from desktop.engine.checkpoint_reader import TensorReader

    def refuse(self, name, dtype=None):
        raise AssertionError(f"{name} was read")

    monkeypatch.setattr(TensorReader, "read", refuse)


def _folder_parts(folder: Path, family: Family) -> dict[str, torch.nn.Module]:
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTextModelWithProjection

    parts = {"unet": UNet2DConditionModel.from_pretrained(folder / "unet"),
             "vae": AutoencoderKL.from_pretrained(folder / "vae"),
             "text_encoder": CLIPTextModel.from_pretrained(folder / "text_encoder")}
    if family is Family.SDXL:
        parts["text_encoder_2"] = CLIPTextModelWithProjection.from_pretrained(folder / "text_encoder_2")
    return parts


def _assert_same_tensors(mine: torch.nn.Module, theirs: torch.nn.Module, *, rounded: bool = False) -> None:
    ours, reference = mine.state_dict(), theirs.state_dict()
    assert ours.keys() == reference.keys()
    for key, value in reference.items():
        expected = value.half().float() if rounded and value.is_floating_point() else value
        assert torch.equal(ours[key], expected), key


@pytest.mark.parametrize("name", list(FAMILY))
def test_single_file_holds_the_folders_tensors(files, family_models, name):
    family = FAMILY[name]
    parts = load_single_file_base(files[name], torch.float32)
    assert parts.info.family is family
    assert parts.info.prediction == (V_PREDICTION if name == "sd2_v" else EPSILON)
    assert parts.info.native_size == {"sd2_v": 768, "sdxl": 1024}.get(name, 512)
    assert parts.scheduler_config["prediction_type"] == parts.info.prediction
    for part, model in _folder_parts(getattr(family_models, name.removesuffix("_old_clip")), family).items():
        _assert_same_tensors(getattr(parts, part), model)
    assert (parts.tokenizer_2 is None) == (family is not Family.SDXL)
    assert parts.tokenizer.pad_token == ("!" if family is Family.SD2 else "<|endoftext|>")


def test_fp16_file_holds_the_rounded_weights(files, family_models):
    reference = _folder_parts(family_models.sd1, Family.SD1)
    parts = load_single_file_base(files["sd1_fp16"], torch.float32)
    for part, model in reference.items():
        _assert_same_tensors(getattr(parts, part), model, rounded=True)
    half = load_single_file_base(files["sd1_fp16"], torch.float16)
    assert {p.dtype for m in (half.unet, half.vae, half.text_encoder) for p in m.parameters()} == {torch.float16}


@pytest.mark.parametrize("name", ["sd1", "sd2_v", "sdxl"])
def test_single_file_generates_the_folders_image(files, family_models, name):
    """Through the app's loader. Both bases tokenize with the bundled CLIP tokenizer (the tiny folders
    carry a synthetic one) and schedule with the real model's config (the tiny folders' spell out the
    `timestep_spacing` that the real configs leave to each scheduler's default), so the images can
    only differ by the weights. The folder's weights are moved to aligned memory as the single-file
    loader's are: CPU kernels round the last bits differently on the arbitrary alignment safetensors
    gives."""
    family = FAMILY[name]
    from_file = ModelCache(choose_device("cpu")).base(str(files[name]))
    from_folder = ModelCache(choose_device("cpu")).base(str(getattr(family_models, name)))
    tokenizers = family_tokenizers(family)
    from_folder.tokenizer = tokenizers[0]
    if family is Family.SDXL:
        from_folder.tokenizer_2 = tokenizers[1]
    assert from_file.info == from_folder.info
    assert from_file.scheduler_config["prediction_type"] == from_folder.scheduler_config["prediction_type"]
    from_folder.scheduler_config = from_file.scheduler_config
    with torch.no_grad():
        for parameter in (p for m in (from_folder.unet, from_folder.vae, *from_folder.text_encoders)
                          for p in m.parameters()):
            parameter.data = parameter.data.clone()
    request = SamplerRequest(prompt="a red circle on a blue background", negative_prompt="blurry", seed=5, steps=3,
                             guidance_scale=6.0, width=64, height=64, scheduler="euler", preview_every=0)
    assert max_diff(sample(from_file, request).image, sample(from_folder, request).image) == 0


def test_loads_offline_with_an_empty_hugging_face_cache(files, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty_hf_home"))

    def no_network(*args, **kwargs):
        raise AssertionError("the network was used")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    for name in ("sd1", "sd2_v", "sdxl"):
        assert load_single_file_base(files[name]).info.family is FAMILY[name]
    assert not (tmp_path / "empty_hf_home").exists()


def test_inspection_reads_the_header_only(files, family_models, no_weights_read):
    from diffusers import UNet2DConditionModel

    info = inspect_checkpoint(files["sdxl"])
    assert info.parts == ("unet", "vae", "text_encoder", "text_encoder_2")
    reference = UNet2DConditionModel.load_config(family_models.sdxl / "unet")
    for key in ("block_out_channels", "layers_per_block", "cross_attention_dim", "attention_head_dim",
                "projection_class_embeddings_input_dim", "addition_time_embed_dim", "down_block_types"):
        assert _plain(info.configs["unet"][key]) == _plain(reference[key]), key
    assert info.info.family is Family.SDXL


def test_sd2_v_prediction_from_comfyuis_statistic_reads_one_tensor(files, tmp_path, monkeypatch):
    """Without a yaml: ComfyUI's rule on the last output attention's norm1 bias, and only that tensor is read."""
    def spread(state):
        name = next(k for k in sorted(state, reverse=True) if k.endswith("transformer_blocks.0.norm1.bias")
                    and "output_blocks" in k)
        state[name] = torch.linspace(-0.5, 0.5, state[name].numel())

    v_file = _rewrite(files["sd2"], tmp_path / "sd2_v_no_yaml.safetensors", spread)
    opened, real_read = [], TensorReader.read

    def recording(self, name, dtype=None):
        opened.append(name)
        return real_read(self, name, dtype)

    monkeypatch.setattr(TensorReader, "read", recording)
    assert inspect_checkpoint(v_file).info.prediction == V_PREDICTION
    assert len(opened) == 1 and opened[0].endswith("norm1.bias")
    assert inspect_checkpoint(files["sd2"]).info.prediction == EPSILON


def test_unreadable_yaml_beside_the_file_is_named(files, tmp_path):
    file = tmp_path / "model.safetensors"
    file.write_bytes(files["sd2"].read_bytes())
    (tmp_path / "model.yaml").write_text("model: [unclosed", encoding="utf-8")
    with pytest.raises(UnreadableFile, match="model.yaml beside the model"):
        inspect_checkpoint(file)


def test_sdxl_v_pred_key_marks_v_prediction(files, tmp_path):
    def mark(state):
        state["v_pred"] = torch.tensor([])

    info = inspect_checkpoint(_rewrite(files["sdxl"], tmp_path / "xl_v.safetensors", mark)).info
    assert info.prediction == V_PREDICTION and info.native_size == 1024


def test_playground_edm_checkpoint_is_refused(files, tmp_path, no_weights_read):
    def edm(state):
        state["edm_mean"], state["edm_std"] = torch.zeros(1, 4, 1, 1), torch.ones(1, 4, 1, 1)

    with pytest.raises(UnsupportedModel, match="Playground v2.5"):
        inspect_checkpoint(_rewrite(files["sdxl"], tmp_path / "playground.safetensors", edm))


def test_inpainting_checkpoint_is_refused_by_name(tmp_path, no_weights_read):
    folder = build_tiny_family(tmp_path / "inpaint", Family.SD1, inpainting=True)
    file = write_original_checkpoint(folder, tmp_path / "inpaint.safetensors", family=Family.SD1)
    with pytest.raises(UnsupportedModel, match=r"inpaint\.safetensors is an inpainting model \(9-channel UNet\)"):
        inspect_checkpoint(file)


def test_sdxl_refiner_is_refused(files, tmp_path, no_weights_read):
    def refiner(state):
        for key in [k for k in state if k.startswith("conditioner.embedders.")]:
            value = state.pop(key)
            if key.startswith("conditioner.embedders.1."):
                state[key.replace("embedders.1.", "embedders.0.")] = value

    with pytest.raises(UnsupportedModel, match="SDXL refiner"):
        load_single_file_base(_rewrite(files["sdxl"], tmp_path / "refiner.safetensors", refiner))


@pytest.mark.parametrize(("keep", "looks_like"), [
    ("first_stage_model.", "a VAE"), ("cond_stage_model.", "a text encoder"),
    ("model.diffusion_model.", "a UNet alone"),
])
def test_a_single_part_is_refused_with_what_it_is(files, tmp_path, no_weights_read, keep, looks_like):
    part = _rewrite(files["sd1"], tmp_path / "part.safetensors",
                    lambda state: [state.pop(k) for k in list(state) if not k.startswith(keep)])
    with pytest.raises(ArchitectureMismatch, match=looks_like):
        load_single_file_base(part)


def test_lora_and_controlnet_are_refused_as_base_models(family_models, tmp_path, no_weights_read):
    lora = tmp_path / "style_lora.safetensors"
    save_file({"lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight": torch.zeros(4, 320),
               "lora_unet_down_blocks_0_attentions_0_proj_in.lora_up.weight": torch.zeros(320, 4)}, lora)
    with pytest.raises(ArchitectureMismatch, match="style_lora.safetensors is not a full .* LoRA"):
        load_single_file_base(lora)
    net = write_original_controlnet(family_models.sd1_net, tmp_path / "control_sd15_canny.safetensors")
    with pytest.raises(ArchitectureMismatch, match="ControlNet"):
        load_single_file_base(net)


@pytest.mark.parametrize(("drop", "part"), [
    ("first_stage_model.", "no VAE"), ("conditioner.embedders.1.", "no second text encoder"),
])
def test_a_missing_part_is_named(files, tmp_path, no_weights_read, drop, part):
    partial = _rewrite(files["sdxl"], tmp_path / "partial.safetensors",
                       lambda state: [state.pop(k) for k in list(state) if k.startswith(drop)])
    with pytest.raises(MissingModelPart, match=part):
        load_single_file_base(partial)


@pytest.mark.parametrize(("edit", "message"), [
    ("drop", r"its UNet does not fit .*\(1 weight missing\)"),
    ("extra", r"its UNet does not fit .*\(1 weight in the file that the model does not use\)"),
    ("reshape", r"its VAE does not fit .*\(1 weight of the wrong shape\)"),
])
def test_a_file_that_does_not_fit_names_the_part_and_counts(files, tmp_path, no_weights_read, edit, message):
    def damage(state):
        if edit == "drop":
            state.pop("model.diffusion_model.out.2.bias")
        elif edit == "extra":
            state["model.diffusion_model.mystery.weight"] = torch.zeros(3)
        else:
            state["first_stage_model.decoder.norm_out.weight"] = torch.zeros(5)

    with pytest.raises(ArchitectureMismatch, match=message):
        load_single_file_base(_rewrite(files["sd1"], tmp_path / "odd.safetensors", damage))


def test_truncated_file_is_damaged(files, tmp_path):
    data = files["sd1"].read_bytes()
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(data[: len(data) - 1000])
    with pytest.raises(ModelDamaged, match="damaged"):
        load_single_file_base(broken)


def _plain(value):
    return list(value) if isinstance(value, (list, tuple)) else value


def _rewrite(source: Path, target: Path, edit) -> Path:
    state = load_file(source)
    edit(state)
    save_file(state, target)
    return target
