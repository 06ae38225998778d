"""RELIABILITY 5-6: out of memory at load or at step k, and NaNs in latents or the decoded image."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch

from desktop.domain.errors import NaNOutput, OutOfMemory
from desktop.engine.device import choose_device
from desktop.engine.model_cache import ModelCache
from desktop.engine.sampler import ControlInput, SamplerRequest, decode_latents, sample
from tests.conftest import scribble_pixels

OOM_ERRORS = [
    lambda: torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"),
    lambda: RuntimeError("CUDA out of memory. Tried to allocate 20.00 MiB"),
    lambda: RuntimeError("CUDNN_STATUS_ALLOC_FAILED"),
]


def _request(controls=(), steps=4):
    return SamplerRequest("a red circle", steps=steps, width=32, height=32, controls=list(controls), preview_every=0)


@pytest.fixture()
def loaded(cpu_cache, tiny_models):
    return cpu_cache.base(str(tiny_models.base)), cpu_cache.controlnet(str(tiny_models.controlnet))


# 5 ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("make_error", OOM_ERRORS)
def test_oom_at_step_k_is_typed_with_advice_and_the_next_run_works(loaded, monkeypatch, make_error):
    base, net = loaded
    calls = {"n": 0}
    original = type(base.unet).forward

    def failing(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise make_error()
        return original(self, *args, **kwargs)

    monkeypatch.setattr(type(base.unet), "forward", failing)
    with pytest.raises(OutOfMemory) as info:
        sample(base, _request([ControlInput(net, scribble_pixels(32))]))
    assert "lower the image size" in str(info.value) and "fewer conditions" in str(info.value)
    monkeypatch.setattr(type(base.unet), "forward", original)
    assert sample(base, _request([ControlInput(net, scribble_pixels(32))])).image.shape == (32, 32, 3)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="device memory can only be measured on CUDA")
def test_oom_releases_device_memory(loaded, monkeypatch):
    base, _ = loaded
    before = torch.cuda.memory_allocated()
    monkeypatch.setattr(type(base.unet), "forward", lambda *a, **k: (_ for _ in ()).throw(OOM_ERRORS[0]()))
    with pytest.raises(OutOfMemory):
        sample(base, _request())
    assert torch.cuda.memory_allocated() <= before


@pytest.mark.parametrize("make_error", OOM_ERRORS)
def test_oom_while_loading_is_typed_and_a_later_load_works(tiny_models, monkeypatch, make_error):
    from diffusers import UNet2DConditionModel

    cache = ModelCache(choose_device("cpu"))
    original = UNet2DConditionModel.from_pretrained.__func__

    def failing(cls, *args, **kwargs):
        raise make_error()

    monkeypatch.setattr(UNet2DConditionModel, "from_pretrained", classmethod(failing))
    with pytest.raises(OutOfMemory, match="out of memory while loading"):
        cache.base(str(tiny_models.base))
    monkeypatch.setattr(UNet2DConditionModel, "from_pretrained", classmethod(original))
    assert cache.base(str(tiny_models.base)) is not None


# 6 ------------------------------------------------------------------------------------------
def test_nan_latents_stop_early_without_decoding(loaded, monkeypatch):
    base, _ = loaded
    original = type(base.unet).forward
    decodes = []
    steps_seen = []

    def nan_from_step_2(self, *args, **kwargs):
        out = original(self, *args, **kwargs)
        if len(steps_seen) >= 1:
            out[0].fill_(float("nan"))
        return out

    from desktop.engine.preview import latent_rgb_map

    latent_rgb_map(base)  # the preview map is fitted (with the VAE) before decode is watched
    monkeypatch.setattr(type(base.unet), "forward", nan_from_step_2)
    monkeypatch.setattr(base.vae, "decode", lambda *a, **k: decodes.append(1))
    request = dataclasses.replace(_request(steps=10), preview_every=1)
    with pytest.raises(NaNOutput, match="stopped early"):
        sample(base, request, on_step=lambda update: steps_seen.append(update.step))
    assert decodes == [] and len(steps_seen) < 10


def test_nan_latents_without_previews_are_caught_before_decoding(loaded, monkeypatch):
    base, _ = loaded
    original = type(base.unet).forward

    def nan_output(self, *args, **kwargs):
        out = original(self, *args, **kwargs)
        out[0].fill_(float("nan"))
        return out

    decodes = []
    monkeypatch.setattr(type(base.unet), "forward", nan_output)
    monkeypatch.setattr(base.vae, "decode", lambda *a, **k: decodes.append(1))
    with pytest.raises(NaNOutput):
        sample(base, _request())
    assert decodes == []


def test_half_precision_vae_nan_is_retried_once_in_float32(loaded, monkeypatch):
    base, _ = loaded
    half = dataclasses.replace(base, dtype=torch.float16)
    dtypes = []
    vae = base.vae

    class Decoded:
        def __init__(self, value):
            self.value = value

    def decode(latents, return_dict=False):
        dtypes.append(vae.dtype)
        value = torch.full((1, 3, 8, 8), float("nan")) if vae.dtype == torch.float16 else torch.zeros(1, 3, 8, 8)
        return (value,)

    vae.to(torch.float16)
    try:
        monkeypatch.setattr(vae, "decode", decode)
        image = decode_latents(half, torch.zeros(1, 4, 4, 4, dtype=torch.float16))
    finally:
        vae.to(torch.float32)
    assert dtypes == [torch.float16, torch.float32]
    assert image.shape == (8, 8, 3) and (image == 128).all()


def test_nan_vae_output_is_never_an_image(loaded, monkeypatch):
    base, _ = loaded
    monkeypatch.setattr(base.vae, "decode", lambda *a, **k: (torch.full((1, 3, 8, 8), float("nan")),))
    with pytest.raises(NaNOutput):
        decode_latents(base, torch.zeros(1, 4, 4, 4))


def test_cli_never_saves_a_black_nan_image(tmp_path, tiny_models, monkeypatch, capsys):
    from desktop.cli import main
    from diffusers import AutoencoderKL

    monkeypatch.setattr(AutoencoderKL, "decode", lambda self, *a, **k: (torch.full((1, 3, 64, 64), float("nan")),))
    recipe = tmp_path / "r.json"
    recipe.write_text(json.dumps({"prompt": "x", "steps": 2, "width": 64, "height": 64,
                                  "base_model": str(tiny_models.base)}))
    out = tmp_path / "out.png"
    assert main(["render", str(recipe), "-o", str(out)]) == 2
    assert "NaN" in capsys.readouterr().err and not out.exists()
