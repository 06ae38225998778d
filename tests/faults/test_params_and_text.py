"""RELIABILITY 19-20: out-of-range parameters refused by name, sliders held in range, and any text."""

from __future__ import annotations

import pytest

from desktop.conditions.preprocessors import get_preprocessor
from desktop.domain.errors import InvalidRecipe
from desktop.domain.recipe import Condition, Recipe
from desktop.engine.sampler import SamplerRequest, sample


# 19 -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("changes", "field"), [
    ({"guidance_scale": float("nan")}, "guidance_scale"), ({"guidance_scale": -1.0}, "guidance_scale"),
    ({"width": 100}, "width"), ({"height": 4096}, "height"), ({"steps": 0}, "steps"), ({"seed": 2**32}, "seed"),
])
def test_bad_settings_are_refused_by_name(changes, field):
    with pytest.raises(InvalidRecipe) as info:
        Recipe(**changes).validate()
    assert info.value.field == field


@pytest.mark.parametrize(("changes", "field"), [
    ({"weight": 2.5}, "conditions[0].weight"), ({"start": 0.7, "end": 0.7}, "conditions[0].start"),
    ({"image": None}, "conditions[0].image"),
])
def test_bad_conditions_are_refused_by_name(changes, field):
    with pytest.raises(InvalidRecipe) as info:
        Recipe(conditions=[Condition(**{"image": "x.png", **changes})]).validate()
    assert info.value.field == field


@pytest.mark.parametrize(("params", "message"), [
    ({"low": 10**4000}, "params.low: must be between 0 and 255, got a number with too many digits"),
    ({"low": "x" * 4000}, "params.low: must be a number, got 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx..."),
    ({"low": [0] * 4000}, "params.low: must be a number, got a list"),
])
def test_a_bad_preprocessor_parameter_is_shown_short(params, message):
    with pytest.raises(InvalidRecipe) as info:
        get_preprocessor("canny").checked_params(params)
    assert str(info.value) == message


def test_sliders_cannot_leave_their_range(window):
    window.layer_panel.select_layer(window.document.layers[-1].id)
    window.layer_panel.weight_slider.setValue(900)
    assert window.document.layers[-1].weight == 2.0
    window.prompt_panel.guidance_slider.setValue(-5)
    assert window.document.settings.guidance_scale == 0.0
    window.prompt_panel.steps_spin.setValue(1000)
    assert window.document.settings.steps == 150


def test_odd_sizes_are_rounded_in_the_app_with_a_notice(window):
    notices = []
    window.prompt_panel.notice.connect(notices.append)
    window.prompt_panel.width_spin.setValue(100)
    window.prompt_panel.width_spin.editingFinished.emit()
    assert window.document.settings.width == 104 and "rounded" in notices[0]


# 20 -----------------------------------------------------------------------------------------
@pytest.fixture()
def base(cpu_cache, tiny_models):
    return cpu_cache.base(str(tiny_models.base))


@pytest.mark.parametrize("prompt", ["", "🏠 maison près d'un étang — 日本の家 ✓ \u202e reversed", "\x00\x01 control", "a " * 500])
def test_any_prompt_renders(base, prompt):
    result = sample(base, SamplerRequest(prompt, negative_prompt=prompt, steps=2, width=32, height=32, preview_every=0))
    assert result.image.shape == (32, 32, 3)
    long = len(base.tokenizer(prompt).input_ids) > base.tokenizer.model_max_length
    assert any("cut to the text encoder's limit" in n for n in result.notices) == long
    assert any(n.startswith("negative prompt") for n in result.notices) == long
