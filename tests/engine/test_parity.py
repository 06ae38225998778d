"""Balanced mode equals diffusers' StableDiffusionControlNetPipeline to within 2/255."""

from __future__ import annotations

import pytest

from desktop.engine.sampler import ControlInput
from tests.conftest import scribble_pixels

from .helpers import max_diff, ours, theirs


@pytest.fixture(scope="module")
def loaded(cpu_cache, tiny_models):
    base = cpu_cache.base(str(tiny_models.base))
    return base, cpu_cache.controlnet(str(tiny_models.controlnet)), cpu_cache.controlnet(str(tiny_models.controlnet2))


@pytest.mark.parametrize("scheduler", ["unipc", "dpmpp_2m_karras", "euler_a", "euler", "ddim"])
def test_one_controlnet_matches_pipeline(loaded, scheduler):
    base, net, _ = loaded
    controls = [ControlInput(net, scribble_pixels(32), weight=0.8)]
    mine, reference = ours(base, controls, scheduler=scheduler), theirs(base, controls, scheduler=scheduler)
    assert max_diff(mine, reference) <= 2


def test_two_controlnets_with_weights_and_ranges_match_multicontrolnet(loaded):
    base, net, net2 = loaded
    controls = [
        ControlInput(net, scribble_pixels(32, 0), weight=1.2, start=0.0, end=0.6),
        ControlInput(net2, scribble_pixels(32, 1), weight=0.5, start=0.2, end=1.0),
    ]
    assert max_diff(ours(base, controls, steps=6), theirs(base, controls, steps=6)) <= 2


def test_resized_control_image_and_negative_prompt_match(loaded):
    base, net, _ = loaded
    controls = [ControlInput(net, scribble_pixels(48), weight=1.0)]
    kwargs = dict(negative_prompt="blurry", width=48, height=32)
    assert max_diff(ours(base, controls, **kwargs), theirs(base, controls, **kwargs)) <= 2


def test_without_guidance_matches_pipeline(loaded):
    base, net, _ = loaded
    controls = [ControlInput(net, scribble_pixels(32), weight=1.0)]
    assert max_diff(ours(base, controls, guidance_scale=1.0), theirs(base, controls, guidance_scale=1.0)) <= 2
