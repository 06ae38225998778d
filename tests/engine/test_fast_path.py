"""The fast path: compiled modules that never recompile for what a user tweaks, a fallback that never
crashes, LoRAs baked without drift, and the same image as the plain path where the numbers allow.

Most tests compile with dynamo's "eager" backend: it captures graphs exactly as inductor would be
handed them (so recompiles are counted the same) without a C++ toolchain or minutes of compiling; one
test runs inductor itself on a tiny model.
"""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest
import torch

from desktop.domain.model_extras import LoraChoice, ModelExtras
from desktop.engine.device import DeviceChoice
from desktop.engine.fast_path import FastPathOptions
from desktop.engine.model_cache import ModelCache
from desktop.engine.sampler import ControlInput, SamplerRequest, sample

from ..conftest import scribble_pixels
from .extras_files import write_peft_lora

CPU32 = DeviceChoice(torch.device("cpu"), torch.float32)


@pytest.fixture(autouse=True)
def _fresh_compiler():
    """Each test starts with dynamo's caches empty, and leaves none behind for the tests after it."""
    torch._dynamo.reset()
    yield
    torch._dynamo.reset()

COUNTING = FastPathOptions(backend="eager", channels_last=False, min_parameters=0)


def _loaded(tiny_models, options: FastPathOptions | None):
    cache = ModelCache(CPU32, options)
    return cache, cache.base(str(tiny_models.base)), cache.controlnet(str(tiny_models.controlnet))


def _request(net, *, prompt="a red circle", seed=1, weight=1.0, guidance=7.5, size=32, steps=3, scheduler="unipc",
             **extra):
    controls = [ControlInput(net, scribble_pixels(size), weight=weight, **extra)]
    return SamplerRequest(prompt=prompt, seed=seed, steps=steps, guidance_scale=guidance, width=size, height=size,
                          scheduler=scheduler, controls=controls, preview_every=0)


def _run(cache, base, request, statuses=None):
    return sample(base, request, fast=cache.fast, on_status=None if statuses is None else statuses.append)


def test_what_a_user_tweaks_never_compiles_again(tiny_models, tmp_path):
    cache, base, net = _loaded(tiny_models, COUNTING)
    statuses: list[str] = []
    _run(cache, base, _request(net), statuses)
    first = cache.fast.compiles
    assert first >= 2  # the ControlNet and the UNet
    assert len(statuses) == 1 and statuses[0].startswith("optimising the model for 32 x 32")

    lora = write_peft_lora(tmp_path / "style.safetensors", base, seed=3, text=False)
    for tweak in (dict(prompt="a blue square"), dict(seed=7), dict(weight=0.6), dict(guidance=4.0),
                  dict(mode="prompt", weight=0.8), dict(scheduler="euler"), dict(scheduler="dpmpp_2m_karras")):
        _run(cache, base, _request(net, **tweak), statuses)
    for loras in ((0.5,), (0.9,), (0.2,), ()):  # a LoRA added, its weight moved, then taken out
        cache.apply_extras(ModelExtras(loras=tuple(LoraChoice(str(lora), w) for w in loras)))
        _run(cache, base, _request(net), statuses)
    assert cache.fast.compiles == first
    assert len(statuses) == 1

    _run(cache, base, _request(net, size=48), statuses)
    assert cache.fast.compiles > first  # a new size is a new graph, and said so
    assert len(statuses) == 2 and statuses[-1].startswith("optimising the model for 48 x 48")


def test_many_sizes_never_fall_back_to_eager_silently(tiny_models, monkeypatch):
    """Past dynamo's limit of variants per function, the fast path starts over instead of going eager."""
    from desktop.engine import fast_path

    monkeypatch.setattr(fast_path, "RECOMPILE_LIMIT", 2)
    with torch._dynamo.config.patch(recompile_limit=2, fail_on_recompile_limit_hit=False):
        cache, base, net = _loaded(tiny_models, COUNTING)
        counts = []
        for size in (32, 40, 48):
            _run(cache, base, _request(net, size=size, steps=2))
            counts.append(cache.fast.compiles)
    assert counts[0] < counts[1] < counts[2]  # the third size compiled too, after starting over
    assert cache.fast.failure is None


def test_compiled_graphs_give_the_plain_paths_image(tiny_models):
    """Scaling a compiled ControlNet outside it (so weights never recompile) changes no pixel."""
    cache, base, net = _loaded(tiny_models, COUNTING)
    plain_cache, plain_base, plain_net = _loaded(tiny_models, None)
    for extra in (dict(weight=0.7), dict(weight=1.2, mode="prompt"), dict(weight=0.9, mode="control"),
                  dict(start=0.0, end=0.5)):
        fast = _run(cache, base, _request(net, **extra)).image
        plain = sample(plain_base, _request(plain_net, **extra)).image
        np.testing.assert_array_equal(fast, plain)
    assert cache.fast.compiles > 0 and cache.fast.failure is None


def test_a_failing_compiler_falls_back_to_eager_with_one_notice(tiny_models, monkeypatch):
    def broken(graph, example_inputs):
        raise RuntimeError("no C++ compiler found")

    monkeypatch.setattr(torch._dynamo, "lookup_backend", lambda name: broken)
    cache, base, net = _loaded(tiny_models, FastPathOptions(backend="broken", channels_last=False, min_parameters=0))
    plain_cache, plain_base, plain_net = _loaded(tiny_models, None)
    first = _run(cache, base, _request(net))
    assert len(first.notices) == 1 and "no C++ compiler found" in first.notices[0]
    assert "without compiling" in first.notices[0]
    np.testing.assert_array_equal(first.image, sample(plain_base, _request(plain_net)).image)
    again = _run(cache, base, _request(net, size=48))
    assert again.notices == []  # said once; from then on everything runs eagerly
    assert not cache.fast.compiles_module(base.unet)


def test_a_bad_input_is_the_models_own_error_and_keeps_compiling(tiny_models):
    cache, base, net = _loaded(tiny_models, COUNTING)
    _run(cache, base, _request(net))
    runner = cache.fast.runner(base.unet)
    wrong = torch.zeros(2, 7, 4, 4)  # the UNet takes 4 channels
    context = torch.zeros(2, 77, base.unet.config.cross_attention_dim)
    with pytest.raises(RuntimeError) as raised:
        runner(wrong, torch.tensor(10.0), encoder_hidden_states=context)
    assert not isinstance(raised.value, torch._dynamo.exc.TorchDynamoException)
    assert cache.fast.failure is None and cache.fast.take_notices() == []
    assert cache.fast.compiles_module(base.unet)


def test_a_lora_that_cannot_be_baked_runs_the_unet_uncompiled_with_a_notice(tiny_models, tmp_path, monkeypatch):
    from desktop.engine import lora_bake

    cache, base, net = _loaded(tiny_models, COUNTING)
    lora = write_peft_lora(tmp_path / "dora.safetensors", base, seed=3, text=False)
    real_layers = lora_bake._lora_layers

    def as_dora(unet):
        layers = real_layers(unet)
        for _, layer in layers[:1]:
            layer.lora_variant = {"dora": object()}  # what peft holds for a DoRA adapter
        return layers

    monkeypatch.setattr(lora_bake, "_lora_layers", as_dora)
    cache.apply_extras(ModelExtras(loras=(LoraChoice(str(lora), 0.7),)))
    assert not cache.fast.compiles_module(base.unet)
    assert cache.fast.compiles_module(net)
    notices = cache.fast.take_notices()
    assert len(notices) == 1 and "DoRA" in notices[0]
    monkeypatch.setattr(lora_bake, "_lora_layers", real_layers)
    cache.apply_extras(ModelExtras())
    assert cache.fast.compiles_module(base.unet)  # compiled again once it is gone


def test_small_models_are_not_compiled(tiny_models):
    cache, base, net = _loaded(tiny_models, FastPathOptions(backend="eager"))
    _run(cache, base, _request(net))
    assert cache.fast.compiles == 0


def test_the_fast_path_lays_models_out_channels_last(tiny_models):
    cache, base, net = _loaded(tiny_models, FastPathOptions(backend="eager"))
    for module in (base.unet, base.vae, net):
        conv = next(m for m in module.modules() if isinstance(m, torch.nn.Conv2d))
        assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    plain_cache, plain_base, _ = _loaded(tiny_models, None)
    conv = next(m for m in plain_base.unet.modules() if isinstance(m, torch.nn.Conv2d))
    assert not conv.weight.is_contiguous(memory_format=torch.channels_last)


def test_baked_loras_match_live_adapters_and_never_drift(tiny_models, tmp_path):
    cache, base, net = _loaded(tiny_models, COUNTING)
    live_cache, live_base, live_net = _loaded(tiny_models, None)
    originals = {name: p.detach().clone() for name, p in base.unet.named_parameters()}
    first = write_peft_lora(tmp_path / "a.safetensors", base, seed=3)
    second = write_peft_lora(tmp_path / "b.safetensors", base, seed=4, text=False)
    for weights in ((0.8, 0.0), (0.3, 1.1), (1.0, -0.5)):
        extras = ModelExtras(loras=(LoraChoice(str(first), weights[0]), LoraChoice(str(second), weights[1])))
        for c in (cache, live_cache):
            c.apply_extras(extras)
        baked = _run(cache, base, _request(net)).image.astype(int)
        live = sample(live_base, _request(live_net)).image.astype(int)
        assert np.abs(baked - live).max() <= 2  # merged weights round differently from x@W + (x@A)@B, no more
    cache.apply_extras(ModelExtras())
    for name, p in base.unet.named_parameters():
        assert torch.equal(p, originals[name]), name  # bit for bit after every bake and unbake


def test_a_unet_carrying_loras_runs_unfrozen_and_goes_back_when_they_are_gone(tiny_models, tmp_path):
    """Frozen weights are constants in the compiled code: a baked LoRA's in-place rewrite would go unseen."""
    cache, base, net = _loaded(tiny_models, FastPathOptions(backend="eager", channels_last=False, min_parameters=0,
                                                            freeze=True))
    statuses: list[str] = []
    _run(cache, base, _request(net), statuses)
    assert cache.fast.frozen(base.unet) and cache.fast.frozen(net)
    before = cache.fast.compiles
    lora = write_peft_lora(tmp_path / "style.safetensors", base, seed=3, text=False)
    cache.apply_extras(ModelExtras(loras=(LoraChoice(str(lora), 0.5),)))
    assert not cache.fast.frozen(base.unet) and cache.fast.frozen(net)
    _run(cache, base, _request(net), statuses)
    unfrozen = cache.fast.compiles
    assert unfrozen > before and len(statuses) == 2  # the UNet once more, unfrozen, and said so
    for weight in (0.9, 0.1):
        cache.apply_extras(ModelExtras(loras=(LoraChoice(str(lora), weight),)))
        _run(cache, base, _request(net), statuses)
    cache.apply_extras(ModelExtras())
    assert cache.fast.frozen(base.unet)
    _run(cache, base, _request(net), statuses)
    assert cache.fast.compiles == unfrozen  # weights moved, then the frozen graph came back: nothing new


@pytest.mark.skipif(shutil.which("g++") is None and shutil.which("cc") is None, reason="inductor needs a C compiler")
def test_inductor_freezes_compiles_once_caches_on_disk_and_sees_lora_weights(tiny_models, tmp_path):
    """The real compiler, as a CPU user gets it (frozen weights), against the plain path, LoRAs included."""
    options = FastPathOptions(min_parameters=0, cache_dir=tmp_path / "compiled")
    cache, base, net = _loaded(tiny_models, options)
    plain_cache, plain_base, plain_net = _loaded(tiny_models, None)
    assert cache.fast.frozen(base.unet)
    fast = _run(cache, base, _request(net))
    compiles = cache.fast.compiles
    assert compiles >= 2 and cache.fast.failure is None, cache.fast.notices
    if os.environ.get("TORCHINDUCTOR_CACHE_DIR") == str(tmp_path / "compiled"):  # unless the user's own is set
        assert any((tmp_path / "compiled").rglob("*.py")), "compiled code is kept on disk"
    _run(cache, base, _request(net, seed=5, weight=0.5))
    assert cache.fast.compiles == compiles

    def close(a, b) -> bool:  # fused kernels round a little apart
        return np.abs(a.astype(int) - b.astype(int)).mean() < 1.0

    assert close(fast.image, sample(plain_base, _request(plain_net)).image)
    lora = write_peft_lora(tmp_path / "style.safetensors", base, seed=3, text=False, scale=0.5)
    for weight in (1.0, 0.3):
        extras = ModelExtras(loras=(LoraChoice(str(lora), weight),))
        for c in (cache, plain_cache):
            c.apply_extras(extras)
        with_lora = _run(cache, base, _request(net)).image
        assert not close(with_lora, fast.image)  # the LoRA is seen...
        assert close(with_lora, sample(plain_base, _request(plain_net)).image)  # ...at its weight
