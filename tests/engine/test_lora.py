"""LoRAs through diffusers' own loaders: parity with a pipeline that loaded_twice the same file, weight
changes and removals that never reload the base, prompt tags, and refusals before the model is touched."""

from __future__ import annotations

import json

import pytest
import torch

from desktop.domain.errors import (
    ArchitectureMismatch, InvalidRecipe, ModelDamaged, ModelNotFound, ModelRejected, UnsupportedModel, UntrustedPath,
    WrongFamily,
)
from desktop.domain.family import Family
from desktop.domain.model_extras import LoraChoice, ModelExtras
from desktop.domain.recipe import Condition, LoraEntry, Recipe
from desktop.engine.prompt import encode_prompts
from desktop.engine.render import render
from desktop.engine.sampler import ControlInput, sample
from desktop.engine.schedulers import make_scheduler
from tests.conftest import scribble_pixels

from .extras_files import write_kohya_lora, write_peft_lora
from .conftest import cpu_model_cache
from .helpers import SIZE, diffusers_pipeline, max_diff, ours, theirs

PROMPT = "a red circle on a blue background"


def _reference_loras(base, net, files_and_weights) -> None:
    """What a diffusers user does: `load_lora_weights(file)` per LoRA, then `set_adapters` with the weights."""
    pipe = diffusers_pipeline(base, [net])
    names = []
    for index, (path, _) in enumerate(files_and_weights):
        pipe.load_lora_weights(str(path), adapter_name=f"user_{index}")
        names.append(f"user_{index}")
    pipe.set_adapters(names, [weight for _, weight in files_and_weights])


def _extras(*loras: tuple, prompt: str = PROMPT) -> ModelExtras:
    return ModelExtras(loras=tuple(LoraChoice(str(path), weight) for path, weight in loras), prompt=prompt)


@pytest.mark.parametrize("layout", ["kohya", "diffusers"])
def test_lora_on_unet_and_text_encoder_matches_the_pipeline(loaded_twice, tmp_path, layout):
    cache, base, net, ref_base, ref_net = loaded_twice
    writer = write_kohya_lora if layout == "kohya" else write_peft_lora
    lora = writer(tmp_path / "style.safetensors", base, seed=11)
    controls = [ControlInput(net, scribble_pixels(SIZE), weight=0.8)]
    plain = ours(base, controls)
    assert cache.apply_extras(_extras((lora, 0.7))) == (PROMPT, "")
    mine = ours(base, controls)
    _reference_loras(ref_base, ref_net, [(lora, 0.7)])
    reference = theirs(ref_base, [ControlInput(ref_net, scribble_pixels(SIZE), weight=0.8)])
    assert max_diff(mine, reference) == 0
    assert max_diff(mine, plain) > 10  # the LoRA acts: the parity is not of two plain models


def test_two_loras_of_both_layouts_with_their_weights_match_the_pipeline(loaded_twice, tmp_path):
    cache, base, net, ref_base, ref_net = loaded_twice
    kohya = write_kohya_lora(tmp_path / "a.safetensors", base, seed=1, alpha=1.0)
    peft = write_peft_lora(tmp_path / "b.safetensors", base, seed=2, text=False)
    cache.apply_extras(_extras((kohya, -0.6), (peft, 1.3)))
    _reference_loras(ref_base, ref_net, [(kohya, -0.6), (peft, 1.3)])
    controls = [ControlInput(net, scribble_pixels(SIZE), weight=1.0)]
    reference = theirs(ref_base, [ControlInput(ref_net, scribble_pixels(SIZE), weight=1.0)], negative_prompt="blurry")
    assert max_diff(ours(base, controls, negative_prompt="blurry"), reference) == 0


def test_weight_changes_and_removals_never_reload_the_base(loaded_twice, tmp_path):
    cache, base, _, _, _ = loaded_twice
    lora = write_kohya_lora(tmp_path / "style.safetensors", base, seed=3)
    plain = ours(base, [])
    loads = cache.loads
    cache.apply_extras(_extras((lora, 0.5)))
    half = ours(base, [])
    cache.apply_extras(_extras((lora, 1.0)))
    full = ours(base, [])
    cache.apply_extras(_extras((lora, 0.5)))
    assert max_diff(ours(base, []), half) == 0 and max_diff(full, half) > 0
    assert cache.applied.loras.file_loads == 1
    cache.apply_extras(_extras())  # removed: deleted from the modules, plain layers again
    assert getattr(base.unet, "peft_config", None) is None and getattr(base.text_encoder, "peft_config", None) is None
    assert max_diff(ours(base, []), plain) == 0
    cache.apply_extras(_extras((lora, 0.5)))  # re-added: only its small file is read again
    assert max_diff(ours(base, []), half) == 0
    assert cache.applied.loras.file_loads == 2 and cache.loads == loads


def test_a_text_encoder_lora_weight_is_part_of_the_prompt_cache_key(loaded_twice, tmp_path):
    cache, base, _, _, _ = loaded_twice
    text_lora = write_kohya_lora(tmp_path / "text.safetensors", base, seed=4)
    unet_lora = write_peft_lora(tmp_path / "unet.safetensors", base, seed=5, text=False)

    def encoded(weight: float, unet_weight: float = 1.0) -> torch.Tensor:
        cache.apply_extras(_extras((text_lora, weight), (unet_lora, unet_weight)))
        return encode_prompts(base, PROMPT, None, SIZE, SIZE)[0].embeds

    first = encoded(0.5)
    key = base.extras["text_adapters"]
    assert not torch.equal(encoded(1.0), first)
    assert torch.equal(encoded(0.5), first)
    encoded(0.5, unet_weight=0.2)
    assert base.extras["text_adapters"] == key  # a UNet-only LoRA's weight leaves prompt embeddings valid
    cache.apply_extras(_extras())
    assert base.extras["text_adapters"] == ()


def test_prompt_tags_load_from_the_lora_folder_as_the_loras_list_does(tiny_models, tmp_path):
    cache = cpu_model_cache()
    base = cache.base(str(tiny_models.base))
    folder = tmp_path / "loras"
    write_kohya_lora(folder / "ink style.safetensors", base, seed=6)
    tagged = _recipe(tiny_models, prompt=f"{PROMPT} <lora:ink style:0.6>", lora_dir=folder)
    listed = _recipe(tiny_models, loras=[LoraEntry(str(folder / "ink style.safetensors"), 0.6)])
    with_tag, with_list = render(cache, tagged), render(cache, listed)
    assert max_diff(with_tag.image, with_list.image) == 0
    assert with_tag.notices == [] and json.loads(with_tag.recipe.to_json())["prompt"].endswith("<lora:ink style:0.6>")


def test_a_tag_without_a_lora_folder_is_reported_and_never_encoded(tiny_models):
    cache = cpu_model_cache()
    plain = render(cache, _recipe(tiny_models))
    tagged = render(cache, _recipe(tiny_models, prompt=f"{PROMPT}<lora:ink:0.6>", negative_prompt="<lora:x>"))
    assert max_diff(tagged.image, plain.image) == 0
    assert tagged.notices == [
        "negative prompt names LoRA 'x'; LoRAs apply from the prompt only, so the tag was ignored",
        "prompt names LoRA 'ink' but no LoRA folder is set (render --lora-dir, or Tools > LoRA Folder in the "
        "app); the tag was ignored",
    ]


@pytest.mark.parametrize("tag", ["<lora:../ink>", "<lora:sub/ink>", "<lora:a\\b:1>", "<lora:ink:heavy>",
                                 "<lora:ink:9>", "<lora:ink:0.5:0.5>"])
def test_bad_prompt_tags_are_refused_before_anything_loads(tiny_models, tmp_path, tag):
    cache = cpu_model_cache()
    with pytest.raises(InvalidRecipe, match="^prompt: "):
        render(cache, _recipe(tiny_models, prompt=f"a cat {tag}", lora_dir=tmp_path))
    assert cache.loads == 0


def test_a_tag_naming_a_missing_file_is_refused(tiny_models, tmp_path):
    with pytest.raises(InvalidRecipe, match="has no 'ink.safetensors'"):
        render(cpu_model_cache(), _recipe(tiny_models, prompt="<lora:ink>", lora_dir=tmp_path))


def test_a_strangers_recipe_naming_a_lora_is_refused_before_anything_loads(tiny_models, tmp_path):
    cache = cpu_model_cache()
    lora = tmp_path / "style.safetensors"
    lora.write_bytes(b"not read")
    for recipe in (_recipe(tiny_models, loras=[LoraEntry(str(lora))]),
                   _recipe(tiny_models, prompt="<lora:style>", lora_dir=tmp_path)):
        with pytest.raises(UntrustedPath):
            render(cache, recipe.with_overrides(self_contained=True))
    assert cache.loads == 0


def test_the_models_line_names_the_loras_before_they_load(tiny_models, tmp_path):
    cache = cpu_model_cache()
    base = cache.base(str(tiny_models.base))
    lora = write_kohya_lora(tmp_path / "style.safetensors", base, seed=7)
    lines = []
    recipe = _recipe(tiny_models, loras=[LoraEntry(str(lora), 0.8)])
    render(cache, recipe, on_models=lambda models: lines.append(models.describe()))
    assert lines[0].endswith(f"LoRAs: {lora} (0.8)")


def test_another_familys_lora_is_refused_naming_both_before_it_touches_the_model(family_models, tmp_path):
    sd1, sdxl = cpu_model_cache(), cpu_model_cache()
    sd1_base, sdxl_base = sd1.base(str(family_models.sd1)), sdxl.base(str(family_models.sdxl))
    sdxl_lora = write_kohya_lora(tmp_path / "xl.safetensors", sdxl_base, seed=8, sgm_names=True)
    sd1_lora = write_kohya_lora(tmp_path / "one.safetensors", sd1_base, seed=9)
    with pytest.raises(WrongFamily, match="xl.safetensors is for SDXL models, but the base model is SD 1.x"):
        sd1.apply_extras(_extras((sdxl_lora, 1.0)))
    with pytest.raises(WrongFamily, match="one.safetensors is for SD 1.x or SD 2.x models, but the base model is SDXL"):
        sdxl.apply_extras(_extras((sd1_lora, 1.0)))
    assert getattr(sd1_base.unet, "peft_config", None) is None and getattr(sdxl_base.unet, "peft_config", None) is None


def test_files_that_are_no_lora_are_refused(tiny_models, tmp_path):
    from safetensors.torch import save_file

    cache = cpu_model_cache()
    cache.base(str(tiny_models.base))
    lycoris, other = tmp_path / "loha.safetensors", tmp_path / "vae.safetensors"
    save_file({"lora_unet_mid_block_attentions_0_proj_in.hada_w1_a": torch.zeros(2, 2)}, str(lycoris))
    save_file({"encoder.conv_in.weight": torch.zeros(2, 2)}, str(other))
    with pytest.raises(UnsupportedModel, match="LyCORIS"):
        cache.apply_extras(_extras((lycoris, 1.0)))
    with pytest.raises(ArchitectureMismatch, match="is not a LoRA"):
        cache.apply_extras(_extras((other, 1.0)))
    damaged, pickle = tmp_path / "cut.safetensors", tmp_path / "old.ckpt"
    damaged.write_bytes(lycoris.read_bytes()[:-3])
    pickle.write_bytes(b"never opened")
    with pytest.raises(ModelDamaged):
        cache.apply_extras(_extras((damaged, 1.0)))
    with pytest.raises(ModelRejected, match="old.ckpt is not a .safetensors file"):
        cache.apply_extras(_extras((pickle, 1.0)))
    with pytest.raises(ModelNotFound, match="LoRA not found"):
        cache.apply_extras(_extras((tmp_path / "gone.safetensors", 1.0)))


def test_sdxl_kohya_lora_on_both_text_encoders_and_the_unet_matches_the_pipeline(family_models, tmp_path):
    from diffusers import StableDiffusionXLControlNetPipeline
    from safetensors.torch import load_file

    from .test_families import _request, _sdxl_pipeline_image

    mine, reference = cpu_model_cache(), cpu_model_cache()
    base, ref_base = mine.base(str(family_models.sdxl)), reference.base(str(family_models.sdxl))
    net = mine.controlnet(str(family_models.sdxl_net), family=Family.SDXL)
    ref_net = reference.controlnet(str(family_models.sdxl_net), family=Family.SDXL)
    lora = write_kohya_lora(tmp_path / "xl.safetensors", base, seed=10, sgm_names=True)
    req = _request([ControlInput(net, scribble_pixels(64), weight=0.9)], negative_prompt="blurry")
    plain = sample(base, req).image
    mine.apply_extras(_extras((lora, 0.8)))
    written = load_file(str(lora))
    for part, prefix in (("unet", "lora_unet_"), ("text_encoder", "lora_te1_"), ("text_encoder_2", "lora_te2_")):
        wrapped = [m for m in getattr(base, part).modules() if getattr(m, "lora_A", None)]
        assert len(wrapped) == sum(k.startswith(prefix) and k.endswith(".lora_down.weight") for k in written), part
    ours_image = sample(base, req).image
    pipe = StableDiffusionXLControlNetPipeline(
        vae=ref_base.vae, text_encoder=ref_base.text_encoder, text_encoder_2=ref_base.text_encoder_2,
        tokenizer=ref_base.tokenizer, tokenizer_2=ref_base.tokenizer_2, unet=ref_base.unet, controlnet=ref_net,
        scheduler=make_scheduler(req.scheduler, ref_base.scheduler_config), add_watermarker=False)
    pipe.load_lora_weights(str(lora), adapter_name="user")  # on the modules _sdxl_pipeline_image runs
    pipe.set_adapters(["user"], [0.8])
    reference_image = _sdxl_pipeline_image(ref_base, [ControlInput(ref_net, scribble_pixels(64), weight=0.9)], req)
    assert max_diff(ours_image, reference_image) == 0
    assert max_diff(ours_image, plain) > 10


def _recipe(tiny_models, **changes) -> Recipe:
    recipe = Recipe(prompt=PROMPT, base_model=str(tiny_models.base), steps=3, width=64, height=64,
                    conditions=[Condition(image=str(tiny_models.scribble), controlnet=str(tiny_models.controlnet))])
    return recipe.with_overrides(**changes)


def test_the_cli_loads_prompt_tags_from_lora_dir_and_reports_them_without(tiny_models, tmp_path, capsys):
    from desktop.cli import main

    write_kohya_lora(tmp_path / "loras" / "ink.safetensors", cpu_model_cache().base(str(tiny_models.base)), seed=12)
    recipe = tmp_path / "recipe.json"
    recipe.write_text(_recipe(tiny_models, prompt=f"{PROMPT} <lora:ink:0.7>").to_json())
    folder = ["--lora-dir", str(tmp_path / "loras")]
    assert main(["render", str(recipe), "-o", str(tmp_path / "a.png"), "--quiet", *folder]) == 0
    out = capsys.readouterr()
    assert "note:" not in out.err and f"LoRAs: {tmp_path / 'loras' / 'ink.safetensors'} (0.7)" in out.out
    assert main(["render", str(recipe), "-o", str(tmp_path / "b.png"), "--quiet"]) == 0
    assert "note: prompt names LoRA 'ink' but no LoRA folder is set (render --lora-dir" in capsys.readouterr().err
