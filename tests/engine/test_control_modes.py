"""Each control mode scales residuals as defined, and changes the image in its own way."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from desktop.engine.control_modes import block_scaling, residual_heights
from desktop.engine.conditioning import Conditioning
from desktop.engine.guidance import ControlInput, guidance_inputs, prepare_guidance
from tests.conftest import scribble_pixels

from .helpers import max_diff, ours, request, theirs


@pytest.fixture(scope="module")
def loaded(cpu_cache, tiny_models):
    return cpu_cache.base(str(tiny_models.base)), cpu_cache.controlnet(str(tiny_models.controlnet))


def test_residual_heights_of_sd15_at_512():
    assert residual_heights(64, 4, 2) == [64, 64, 64, 32, 32, 32, 16, 16, 16, 8, 8, 8, 8]


def test_block_scales_follow_reference_definitions():
    heights = residual_heights(64, 4, 2)
    prompt = block_scaling("prompt", 1.0, heights)
    assert prompt.scales[0] == pytest.approx(0.825**12) and prompt.scales[-1] == pytest.approx(1.0)
    assert not prompt.conditional_only
    control = block_scaling("control", 2.0, heights)
    assert control.scales[0] == pytest.approx(0.2) and control.scales[-1] == pytest.approx(2.0)
    assert control.conditional_only
    rw = block_scaling("cfg-rw", 1.0, heights)
    assert rw.scales == pytest.approx([1, 1, 1, 2, 2, 2, 4, 4, 4, 8, 8, 8, 8]) and rw.conditional_only
    balanced = block_scaling("balanced", 0.7, heights)
    assert balanced.scales is None and balanced.conditioning_scale == 0.7 and not balanced.conditional_only


@pytest.mark.parametrize("mode", ["balanced", "prompt", "control", "cfg-rw"])
def test_residuals_match_definition(loaded, mode):
    base, net = loaded
    weight = 0.9
    req = request([ControlInput(net, scribble_pixels(32), weight=weight, mode=mode)])
    prepared = prepare_guidance(base, req.controls, req.width, req.height, True, 16)
    torch.manual_seed(0)
    latent_in = torch.randn(2, 4, 16, 16)
    embeds = torch.randn(2, 77, 32)
    t = torch.tensor(500)
    with torch.inference_mode():
        summed = guidance_inputs(prepared, latent_in, t, Conditioning(embeds), True, lambda module: module)
        down, mid = summed.down, summed.mid
        raw_down, raw_mid = net(latent_in, t, encoder_hidden_states=embeds,
                                controlnet_cond=prepared[0].image_both, return_dict=False)
    raw = [*raw_down, raw_mid]
    got = [*down, mid]
    heights = [r.shape[-2] for r in raw]
    n = len(raw)
    for i, (g, r) in enumerate(zip(got, raw)):
        if mode == "balanced":
            torch.testing.assert_close(g, r * weight)
        elif mode == "prompt":
            torch.testing.assert_close(g, r * weight * 0.825 ** (n - 1 - i))
        else:
            scale = weight * (np.logspace(-1, 0, n)[i] if mode == "control" else 64 / heights[i])
            assert torch.count_nonzero(g[0]) == 0, "the unconditional half gets no control"
            torch.testing.assert_close(g[1], r[1] * float(scale), rtol=1e-3, atol=1e-4)


def test_modes_differ_from_each_other_and_from_no_control(loaded):
    base, net = loaded
    images = {"none": ours(base, [])}
    for mode in ("balanced", "prompt", "control", "cfg-rw"):
        images[mode] = ours(base, [ControlInput(net, scribble_pixels(32), mode=mode)])
    names = list(images)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert max_diff(images[a], images[b]) > 2, f"{a} and {b} give the same image"


def test_control_mode_matches_diffusers_guess_mode(loaded):
    """'ControlNet is more important' is diffusers' guess mode, to within 2/255."""
    from PIL import Image

    from .helpers import diffusers_pipeline

    base, net = loaded
    control = ControlInput(net, scribble_pixels(32), weight=0.8, mode="control")
    req = request([control])
    reference = diffusers_pipeline(base, [net])(
        req.prompt, image=Image.fromarray(control.image), num_inference_steps=req.steps,
        guidance_scale=req.guidance_scale, generator=torch.Generator("cpu").manual_seed(req.seed),
        height=32, width=32, output_type="np", controlnet_conditioning_scale=0.8, guess_mode=True,
    ).images[0]
    assert max_diff(ours(base, [control]), (reference * 255).round().astype(np.uint8)) <= 2
    assert max_diff(ours(base, [control]), theirs(base, [ControlInput(net, control.image, weight=0.8)])) > 2
