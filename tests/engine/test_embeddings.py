"""Textual-inversion embeddings through diffusers' `load_textual_inversion`: parity with a pipeline that
loaded_twice the same file (single and multi-vector, SDXL's two-encoder format), unloading, and refusals."""

from __future__ import annotations

import pytest
import torch

from desktop.domain.errors import InvalidRecipe, ModelDamaged, WrongFamily
from desktop.domain.family import Family
from desktop.domain.model_extras import LoraChoice, ModelExtras
from desktop.engine.prompt import encode_prompts
from desktop.engine.sampler import ControlInput, sample
from desktop.engine.schedulers import make_scheduler
from tests.conftest import scribble_pixels

from .extras_files import random_vectors, write_embedding, write_kohya_lora
from .conftest import cpu_model_cache
from .helpers import SIZE, diffusers_pipeline, max_diff, ours, theirs

PROMPT = "a red circle in mystyle on a blue background"


def _width(base, encoder: str = "text_encoder") -> int:
    return getattr(base, encoder).get_input_embeddings().weight.shape[-1]


@pytest.mark.parametrize("vectors, key", [
    (1, "emb_params"), (3, "emb_params"), (2, "<mystyle>"), (1, "string_to_param.*"),  # A1111's, diffusers'
])
def test_embedding_matches_the_pipeline_that_loaded_it(loaded_twice, tmp_path, vectors, key):
    cache, base, net, ref_base, ref_net = loaded_twice
    path = write_embedding(tmp_path / "mystyle.safetensors", random_vectors(vectors, _width(base), seed=vectors), key)
    plain = ours(base, [ControlInput(net, scribble_pixels(SIZE))], prompt=PROMPT)
    prompt, _ = cache.apply_extras(ModelExtras(embeddings=(str(path),), prompt=PROMPT))
    mine = ours(base, [ControlInput(net, scribble_pixels(SIZE))], prompt=prompt)
    diffusers_pipeline(ref_base, [ref_net]).load_textual_inversion(str(path), token="mystyle")
    reference = theirs(ref_base, [ControlInput(ref_net, scribble_pixels(SIZE))], prompt=PROMPT)
    assert max_diff(mine, reference) == 0
    assert max_diff(mine, plain) > 0  # the embedding is read: the parity is not of an ignored word
    spelled = " ".join(["mystyle"] + [f"mystyle_{i}" for i in range(1, vectors)])
    assert prompt == PROMPT.replace("mystyle", spelled)


def test_an_embedding_with_a_text_encoder_lora_matches_the_pipeline_doing_both(loaded_twice, tmp_path):
    cache, base, net, ref_base, ref_net = loaded_twice
    lora = write_kohya_lora(tmp_path / "style.safetensors", base, seed=3)
    path = write_embedding(tmp_path / "mystyle.safetensors", random_vectors(2, _width(base), seed=4))
    prompt, _ = cache.apply_extras(ModelExtras(loras=(LoraChoice(str(lora), 0.9),), embeddings=(str(path),),
                                               prompt=PROMPT))
    mine = ours(base, [ControlInput(net, scribble_pixels(SIZE))], prompt=prompt)
    pipe = diffusers_pipeline(ref_base, [ref_net])
    pipe.load_lora_weights(str(lora), adapter_name="user")
    pipe.set_adapters(["user"], [0.9])
    pipe.load_textual_inversion(str(path), token="mystyle")
    assert max_diff(mine, theirs(ref_base, [ControlInput(ref_net, scribble_pixels(SIZE))], prompt=PROMPT)) == 0


def test_a_multi_vector_token_is_spelled_out_in_any_letter_case(loaded_twice, tmp_path):
    """CLIP reads `EasyNegative` and `easynegative` as one token: both get every vector (diffusers' own
    `maybe_convert_prompt` misses a mixed-case name and would use the first vector only)."""
    cache, base, _, _, _ = loaded_twice
    path = write_embedding(tmp_path / "EasyNegative.safetensors", random_vectors(2, _width(base), seed=5))
    prompt, negative = cache.apply_extras(ModelExtras(embeddings=(str(path),), prompt="a cat, easynegative",
                                                      negative_prompt="EasyNegative"))
    assert (prompt, negative) == ("a cat, EasyNegative EasyNegative_1", "EasyNegative EasyNegative_1")
    ids = base.tokenizer(prompt).input_ids
    assert ids[-3:-1] == base.tokenizer.convert_tokens_to_ids(["EasyNegative", "EasyNegative_1"])


def test_a_removed_embedding_leaves_no_word_behind(loaded_twice, tmp_path):
    cache, base, _, _, _ = loaded_twice
    before = encode_prompts(base, PROMPT, None, SIZE, SIZE)[0].embeds
    path = write_embedding(tmp_path / "mystyle.safetensors", random_vectors(2, _width(base), seed=1))
    cache.apply_extras(ModelExtras(embeddings=(str(path),), prompt=PROMPT))
    key = base.extras["text_adapters"]
    assert key and not torch.equal(encode_prompts(base, "a mystyle mystyle_1", None, SIZE, SIZE)[0].embeds,
                                   encode_prompts(base, "a", None, SIZE, SIZE)[0].embeds)
    assert cache.apply_extras(ModelExtras(prompt=PROMPT)) == (PROMPT, "")
    assert "mystyle" not in base.tokenizer.get_vocab() and base.extras["text_adapters"] == ()
    assert torch.equal(encode_prompts(base, PROMPT, None, SIZE, SIZE)[0].embeds, before)
    cache.apply_extras(ModelExtras(embeddings=(str(path),), prompt=PROMPT))  # and it comes back
    assert base.extras["text_adapters"] == key


def test_sdxl_two_encoder_embedding_matches_the_pipeline(family_models, tmp_path):
    from diffusers import StableDiffusionXLControlNetPipeline

    from .test_families import _request, _sdxl_pipeline_image

    mine, reference = cpu_model_cache(), cpu_model_cache()
    base, ref_base = mine.base(str(family_models.sdxl)), reference.base(str(family_models.sdxl))
    net = mine.controlnet(str(family_models.sdxl_net), family=Family.SDXL)
    ref_net = reference.controlnet(str(family_models.sdxl_net), family=Family.SDXL)
    vectors = {"clip_l": random_vectors(2, _width(base), seed=1),
               "clip_g": random_vectors(2, _width(base, "text_encoder_2"), seed=2)}
    path = write_embedding(tmp_path / "mystyle.safetensors", vectors)
    prompt, _ = mine.apply_extras(ModelExtras(embeddings=(str(path),), prompt=PROMPT))
    req = _request([ControlInput(net, scribble_pixels(64))], prompt=prompt, negative_prompt="blurry")
    mine_image = sample(base, req).image
    pipe = StableDiffusionXLControlNetPipeline(
        vae=ref_base.vae, text_encoder=ref_base.text_encoder, text_encoder_2=ref_base.text_encoder_2,
        tokenizer=ref_base.tokenizer, tokenizer_2=ref_base.tokenizer_2, unet=ref_base.unet, controlnet=ref_net,
        scheduler=make_scheduler(req.scheduler, ref_base.scheduler_config), add_watermarker=False)
    # diffusers' documented way for SDXL embeddings: one load per encoder
    pipe.load_textual_inversion(vectors["clip_l"], token="mystyle", text_encoder=pipe.text_encoder,
                                tokenizer=pipe.tokenizer)
    pipe.load_textual_inversion(vectors["clip_g"], token="mystyle", text_encoder=pipe.text_encoder_2,
                                tokenizer=pipe.tokenizer_2)
    reference_req = _request([ControlInput(ref_net, scribble_pixels(64))], prompt=PROMPT, negative_prompt="blurry")
    assert max_diff(mine_image, _sdxl_pipeline_image(ref_base, reference_req.controls, reference_req)) == 0
    mine.apply_extras(ModelExtras(prompt=PROMPT))
    assert "mystyle" not in base.tokenizer.get_vocab() and "mystyle" not in base.tokenizer_2.get_vocab()


def test_embeddings_of_another_family_are_refused_naming_both(family_models, tmp_path):
    sd1, sdxl = cpu_model_cache(), cpu_model_cache()
    sd1_base, sdxl_base = sd1.base(str(family_models.sd1)), sdxl.base(str(family_models.sdxl))
    sizes = len(sd1_base.tokenizer), len(sdxl_base.tokenizer), len(sdxl_base.tokenizer_2)
    pair = write_embedding(tmp_path / "xl.safetensors",
                           {"clip_l": random_vectors(1, 64, 1), "clip_g": random_vectors(1, 128, 2)})
    single = write_embedding(tmp_path / "one.safetensors", random_vectors(1, 64, 3))
    wide = write_embedding(tmp_path / "wide.safetensors", random_vectors(1, 768, 4))
    with pytest.raises(WrongFamily, match="xl.safetensors is for SDXL .*but the base model is SD 1.x"):
        sd1.apply_extras(ModelExtras(embeddings=(str(pair),)))
    with pytest.raises(WrongFamily, match="one.safetensors is for one text encoder .*but the base model is SDXL"):
        sdxl.apply_extras(ModelExtras(embeddings=(str(single),)))
    with pytest.raises(WrongFamily, match="wide.safetensors is for SD 1.x models, but the base model is SD 1.x "
                                          r"\(64-wide text encoder\)"):
        sd1.apply_extras(ModelExtras(embeddings=(str(wide),)))
    assert (len(sd1_base.tokenizer), len(sdxl_base.tokenizer), len(sdxl_base.tokenizer_2)) == sizes  # untouched


def test_an_embedding_named_like_a_word_or_with_many_tensors_is_refused(tiny_models, tmp_path):
    cache = cpu_model_cache()
    base = cache.base(str(tiny_models.base))
    word = next(token for token in base.tokenizer.get_vocab() if token.isalpha() and len(token) > 2)
    clash = write_embedding(tmp_path / f"{word}.safetensors", random_vectors(1, _width(base), 1))
    many = write_embedding(tmp_path / "many.safetensors", {"a": torch.zeros(1, 32), "b": torch.zeros(1, 32)})
    with pytest.raises(InvalidRecipe, match="already a word of the tokenizer"):
        cache.apply_extras(ModelExtras(embeddings=(str(clash),)))
    with pytest.raises(ModelDamaged, match="not a textual-inversion file"):
        cache.apply_extras(ModelExtras(embeddings=(str(many),)))
