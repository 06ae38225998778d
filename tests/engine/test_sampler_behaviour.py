"""Zero-convolution identity, skipped conditions, cancel, previews and prompt notices."""

from __future__ import annotations

import numpy as np
import pytest

from desktop.domain.errors import Cancelled
from desktop.engine.cancel import CancelToken
from desktop.engine.sampler import ControlInput, sample
from tests.conftest import scribble_pixels

from .helpers import ours, request


@pytest.fixture(scope="module")
def base(cpu_cache, tiny_models):
    return cpu_cache.base(str(tiny_models.base))


@pytest.mark.parametrize("mode", ["balanced", "prompt", "control", "cfg-rw"])
def test_untrained_controlnet_changes_nothing(base, cpu_cache, tiny_models, mode):
    zero = cpu_cache.controlnet(str(tiny_models.zero_controlnet))
    plain = ours(base, [])
    controlled = ours(base, [ControlInput(zero, scribble_pixels(32), weight=2.0, mode=mode)])
    assert np.array_equal(plain, controlled)


def test_inactive_conditions_cost_no_controlnet_calls(base, cpu_cache, tiny_models, monkeypatch):
    net = cpu_cache.controlnet(str(tiny_models.controlnet))
    calls = []
    original = type(net).forward
    monkeypatch.setattr(type(net), "forward", lambda self, *a, **k: calls.append(1) or original(self, *a, **k))
    controls = [
        ControlInput(net, scribble_pixels(32), weight=1.0),
        ControlInput(net, scribble_pixels(32), weight=0.0),
        ControlInput(net, scribble_pixels(32), enabled=False),
        ControlInput(net, scribble_pixels(32), start=0.0, end=0.4),
    ]
    sample(base, request(controls, steps=5))
    assert len(calls) == 5 + 2  # the first every step, the last for steps 0 and 1 of 5 only


def test_cancel_at_step_k_stops_at_k_without_decoding(base, cpu_cache, tiny_models, monkeypatch):
    net = cpu_cache.controlnet(str(tiny_models.controlnet))
    decodes = []
    monkeypatch.setattr(base.vae, "decode", lambda *a, **k: decodes.append(1))
    token = CancelToken()
    seen = []

    def on_step(update):
        seen.append(update.step)
        if update.step == 3:
            token.cancel()

    with pytest.raises(Cancelled):
        sample(base, request([ControlInput(net, scribble_pixels(32))], steps=8), on_step=on_step, cancel=token)
    assert seen == [1, 2, 3]
    assert decodes == []


def test_a_preview_arrives_every_step_at_latent_size(base):
    updates = []
    sample(base, request([], steps=6, preview_every=1, width=48, height=32), on_step=updates.append)
    assert [u.step for u in updates] == [1, 2, 3, 4, 5, 6]
    assert all(u.total == 6 and u.preview is not None for u in updates)
    assert {u.preview.shape for u in updates} == {(16, 24, 3)}
    assert all(u.preview.dtype == np.uint8 for u in updates)


def test_sharp_previews_are_full_size_every_n_steps(base):
    updates = []
    sample(base, request([], steps=6, preview_every=1, sharp_preview_every=2), on_step=updates.append)
    sharp = [u for u in updates if u.sharp]
    assert [u.step for u in sharp] == [2, 4]
    assert {u.preview.shape for u in sharp} == {(32, 32, 3)}


def test_previews_do_not_change_the_image(base):
    assert np.array_equal(ours(base, []), ours(base, [], preview_every=1))


def test_long_prompt_is_truncated_with_a_notice_and_empty_prompt_is_valid(base):
    result = sample(base, request([], prompt="a red circle " * 40))
    assert any("77 tokens" in n for n in result.notices)
    assert sample(base, request([], prompt="")).notices == []


def test_unicode_prompt_renders(base):
    assert sample(base, request([], prompt="日本の家 🏠 — café")).image.shape == (32, 32, 3)


def test_weight_change_reencodes_and_reloads_nothing(base, cpu_cache, tiny_models, monkeypatch):
    net = cpu_cache.controlnet(str(tiny_models.controlnet))
    sample(base, request([ControlInput(net, scribble_pixels(32), weight=1.0)]))
    loads = cpu_cache.loads
    calls = []
    original = type(base.text_encoder).forward
    monkeypatch.setattr(type(base.text_encoder), "forward", lambda self, *a, **k: calls.append(1) or original(self, *a, **k))
    cpu_cache.controlnet(str(tiny_models.controlnet))
    sample(base, request([ControlInput(net, scribble_pixels(32), weight=0.3)]))
    assert calls == [] and cpu_cache.loads == loads
