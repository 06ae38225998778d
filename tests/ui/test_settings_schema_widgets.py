"""The widgets take their ranges, labels and menus from the settings schema: a slider at its end sets the
schema's bound, and a combo lists the schema's choices with the schema's labels."""

from __future__ import annotations

from desktop.domain.settings_schema import (
    END, GUIDANCE_SCALE, HEIGHT, KIND, MODE, OPACITY, RESIZE_MODE, SCHEDULER, SEED, START, STEPS, WEIGHT, WIDTH,
)


def _items(combo) -> list[tuple[str, str]]:
    return [(combo.itemText(i), combo.itemData(i)) for i in range(combo.count())]


def test_the_prompt_panels_ranges_and_sampler_menu_are_the_schemas(window):
    panel, settings = window.prompt_panel, lambda: window.document.settings
    assert (panel.steps_spin.minimum(), panel.steps_spin.maximum()) == (STEPS.minimum, STEPS.maximum)
    assert (panel.seed_spin.minimum(), panel.seed_spin.maximum()) == (SEED.minimum, SEED.maximum)
    for spin, setting in ((panel.width_spin, WIDTH), (panel.height_spin, HEIGHT)):
        assert (spin.minimum(), spin.maximum(), spin.singleStep()) == (setting.minimum, setting.maximum,
                                                                      setting.multiple_of)
    assert _items(panel.scheduler_combo) == [(choice.label, choice.value) for choice in SCHEDULER.choices]
    slider = panel.guidance_slider
    slider.setValue(slider.maximum())
    assert settings().guidance_scale == GUIDANCE_SCALE.maximum
    slider.setValue(slider.minimum())
    assert settings().guidance_scale == GUIDANCE_SCALE.minimum
    slider.setValue(slider.minimum() + 1)
    assert settings().guidance_scale == GUIDANCE_SCALE.minimum + GUIDANCE_SCALE.step
    panel.steps_spin.setValue(STEPS.maximum + 1)
    assert settings().steps == STEPS.maximum
    for index, choice in enumerate(SCHEDULER.choices):
        panel.scheduler_combo.setCurrentIndex(index)
        assert settings().scheduler == choice.value


def test_the_layer_panels_ranges_and_menus_are_the_schemas(window):
    panel = window.layer_panel
    layer = window.document.layers[-1]
    window.document.editor.select(layer.id)
    assert _items(panel.mode_combo) == [(choice.label, choice.value) for choice in MODE.menu]
    assert {value for _, value in _items(panel.mode_combo)} == set(MODE.values)
    assert _items(panel.mode_combo)[0][1] == MODE.initial
    assert _items(panel.resize_combo) == [(choice.label, choice.value) for choice in RESIZE_MODE.menu]
    assert _items(panel.resize_combo)[0][1] == RESIZE_MODE.initial == "crop_and_resize"  # the photo's default first
    assert _items(panel.kind_combo) == [(choice.label, choice.value) for choice in KIND.choices]
    for slider, setting in ((panel.weight_slider, WEIGHT), (panel.opacity_slider, OPACITY)):
        slider.setValue(slider.maximum())
        assert getattr(window.document.layer(layer.id), setting.key) == setting.maximum
        slider.setValue(slider.minimum())
        assert getattr(window.document.layer(layer.id), setting.key) == setting.minimum
    assert panel.start_spin.minimum() == START.minimum and panel.end_spin.maximum() == END.maximum
    assert panel.start_spin.maximum() < END.maximum and panel.end_spin.minimum() > START.minimum
    for index, choice in enumerate(MODE.menu):
        panel.mode_combo.setCurrentIndex(index)
        assert window.document.layer(layer.id).mode == choice.value
