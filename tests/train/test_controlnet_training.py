"""Training a few steps on a tiny base proves the paper's mechanics: the base stays locked, the
zero convolutions start at zero and move, half the prompts are dropped, runs resume, and the
ablation inits build what they say."""

from __future__ import annotations

import csv
import json

import numpy as np
import torch
from safetensors.torch import load_file

from desktop.domain.training_settings import ControlNetSettings
from desktop.train.controlnet_trainer import build_controlnet, train_controlnet, zero_conv_norm
from desktop.train.lite import LiteControlNet
from desktop.train.shapes import PALETTE, make_sample
from desktop.train.text import drop_prompts


def _settings(tiny_models, out, **changes):
    values = dict(base=str(tiny_models.base), data="shapes", out=str(out), steps=3, batch=2, resolution=32,
                  sample_every=100, checkpoint_every=100, eval_samples=1, eval_steps=2)
    values.update(changes)
    return ControlNetSettings(**values)


def _weights(folder):
    return {k: v.clone() for f in sorted(folder.glob("*.safetensors")) for k, v in load_file(str(f)).items()}


def test_base_is_locked_and_only_the_controlnet_learns(tiny_models, tmp_path):
    before = _weights(tiny_models.base / "unet")
    final = train_controlnet(_settings(tiny_models, tmp_path / "run"), say=lambda _: None)
    after = _weights(tiny_models.base / "unet")
    assert all(torch.equal(before[k], after[k]) for k in before)
    from diffusers import ControlNetModel, UNet2DConditionModel

    start = ControlNetModel.from_unet(UNet2DConditionModel.from_pretrained(tiny_models.base, subfolder="unet"),
                                      conditioning_embedding_out_channels=(16, 32))
    trained = ControlNetModel.from_pretrained(final)
    assert zero_conv_norm(start) == 0.0 and zero_conv_norm(trained) > 0.0
    with (tmp_path / "run" / "log.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert rows[0]["step"] == "0" and rows[0]["zero_conv_norm"] == "0.0000"  # step 0: zero convolutions exactly zero


def test_prompt_dropout_drops_about_half():
    rng = np.random.default_rng(0)
    dropped = drop_prompts(["a red circle"] * 4000, 0.5, rng)
    assert 0.46 < dropped.count("") / 4000 < 0.54


def test_resume_continues_from_the_saved_step(tiny_models, tmp_path):
    out = tmp_path / "run"
    train_controlnet(_settings(tiny_models, out, steps=2, checkpoint_every=2), say=lambda _: None)
    assert json.loads((out / "checkpoints" / "latest.json").read_text())["step"] == 2
    steps = []
    train_controlnet(_settings(tiny_models, out, steps=4, checkpoint_every=2), say=lambda _: None,
                     progress=lambda step, total, loss: steps.append(step))
    assert steps == [3, 4]


def test_ablation_inits_build_what_they_say(cpu_cache, tiny_models):
    unet = cpu_cache.base(str(tiny_models.base)).unet
    zero = build_controlnet(unet, 2, "zero", 0)
    gaussian = build_controlnet(unet, 2, "gaussian", 0)
    lite = build_controlnet(unet, 2, "lite", 0)
    assert zero_conv_norm(zero) == 0.0
    weights = torch.cat([c.weight.flatten() for c in gaussian.controlnet_down_blocks])
    assert 0.01 < float(weights.std()) < 0.03 and abs(float(weights.mean())) < 0.005
    assert isinstance(lite, LiteControlNet)
    assert sum(p.numel() for p in lite.parameters()) < sum(p.numel() for p in zero.parameters()) / 5
    sample = torch.randn(2, 4, 16, 16)
    down, mid = lite(sample, torch.tensor(10), controlnet_cond=torch.rand(2, 3, 32, 32))
    ref_down, ref_mid = zero(sample, torch.tensor(10), encoder_hidden_states=torch.randn(2, 77, 32),
                             controlnet_cond=torch.rand(2, 3, 32, 32), return_dict=False)
    assert [d.shape for d in down] == [d.shape for d in ref_down] and mid.shape == ref_mid.shape


def test_shapes_are_seeded_and_match_their_prompts():
    a = make_sample(np.random.default_rng(5), 64)
    b = make_sample(np.random.default_rng(5), 64)
    assert np.array_equal(a.image, b.image) and a.prompt == b.prompt
    assert a.prompt.split()[1] == a.colour and a.shape in a.prompt and a.background in a.prompt
    inside = a.image[a.mask].reshape(-1, 3).mean(axis=0)
    assert np.abs(inside - np.array(PALETTE[a.colour])).max() < 20
    assert a.outline[..., 0].max() == 255 and a.outline[~a.mask][:, 0].mean() < 60
