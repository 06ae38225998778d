"""A model card in the app: picking the demo model brings its size, guidance, steps and sampler in the
pick's undo step, the guidance slider names the range the model works in and warns beyond it without
clamping, and a new document starts on the card's values."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from desktop.domain.project import load_project
from desktop.domain.defaults import DEMO_MODEL, model_card
from desktop.ui.model_picker import DEMO_MODEL_LABEL
from desktop.ui.prompt_panel import WARNING_COLOUR

EXAMPLE = Path(__file__).resolve().parents[2] / "resources" / "examples" / "example.cnstudio"
BEYOND = "beyond the range this model was made for (1–7.5); results may break up"


@pytest.fixture(autouse=True)
def no_warm_up(window):
    """Optimise Models off, as in the Tools menu: a pick then loads nothing, and no warm-up's message can
    replace the notice these tests read (the tiny document's ControlNet does not fit the demo model)."""
    window.speed.set_compile(False)


def _wait_info(qtbot, window, text: str) -> None:
    picker = window.prompt_panel.model_picker
    qtbot.waitUntil(lambda: text in picker.family_label.text(), timeout=10000)


def _pick_demo(window) -> None:
    """As a user does: the picker's first entry, the built-in demo model."""
    combo = window.prompt_panel.model_picker.combo
    assert combo.itemText(0) == DEMO_MODEL_LABEL
    combo.activated.emit(0)


def _settings(window):
    s = window.document.settings
    return s.width, s.height, s.guidance_scale, s.steps, s.scheduler


def _choose(combo, text: str) -> None:
    combo.setCurrentIndex(combo.findText(text))
    combo.activated.emit(combo.currentIndex())


def test_picking_the_demo_model_takes_its_card_in_one_undo_step(window, qtbot):
    panel = window.prompt_panel
    _wait_info(qtbot, window, "SD 1.x · 512 px")  # the tiny test model, no card
    _choose(panel.size_combo, "512 × 512")
    _choose(panel.scheduler_combo, "Euler")
    assert _settings(window) == (512, 512, 7.5, 4, "euler")
    before = window.document.snapshot()

    _pick_demo(window)
    _wait_info(qtbot, window, "64 px")

    assert window.document.settings.base_model is None
    assert _settings(window) == (64, 64, 5.0, 20, "unipc")
    assert window.statusBar().currentMessage() == "Demo model: 64 × 64, guidance 5, 20 steps, UniPC (its model card)"
    assert panel.guidance_label.text() == "5.0 (works 1–7.5)"
    assert panel.guidance_slider.band == (2, 15)  # the tinted span under the slider: 1 to 7.5 in half steps
    assert panel.size_combo.currentText() == "64 × 64"  # the card's size leads the presets
    assert (panel.width_spin.value(), panel.steps_spin.value(), panel.scheduler_combo.currentText()) == (64, 20, "UniPC")

    window.document.undo()  # the pick and the card's values are one step
    assert window.document.snapshot() == before
    _wait_info(qtbot, window, "SD 1.x · 512 px")
    assert panel.guidance_label.text() == "7.5" and panel.guidance_label.toolTip() == ""
    assert panel.guidance_slider.band is None and panel.size_combo.itemData(0) == (512, 512)


def test_picking_it_again_names_only_what_it_set(window, qtbot, tiny_models):
    _pick_demo(window)
    _wait_info(qtbot, window, "64 px")
    combo = window.prompt_panel.model_picker.combo
    window.dialogs.next_open = str(tiny_models.base)  # back to the model without a card, by its folder
    combo.activated.emit(combo.findData("browse:folder"))
    _wait_info(qtbot, window, "512 px")
    assert window.statusBar().currentMessage() == "SD 1.x model: size set to its native 512 × 512"
    assert window.prompt_panel.guidance_label.text() == "5.0"
    window.prompt_panel.guidance_slider.setValue(18)

    _pick_demo(window)
    _wait_info(qtbot, window, "64 px")
    assert _settings(window) == (64, 64, 5.0, 20, "unipc")
    assert window.statusBar().currentMessage() == "Demo model: 64 × 64, guidance 5 (its model card)"


def test_the_slider_warns_beyond_the_cards_range_and_does_not_clamp(window, qtbot):
    panel = window.prompt_panel
    _pick_demo(window)
    _wait_info(qtbot, window, "64 px")
    slider, label = panel.guidance_slider, panel.guidance_label
    assert WARNING_COLOUR not in label.styleSheet() and "works with guidance 1–7.5" in label.toolTip()

    slider.setFocus()
    for _ in range(6):  # 0.5 a press: 5.0 to 8.0
        qtbot.keyClick(slider, Qt.Key.Key_Right)
    assert window.document.settings.guidance_scale == 8.0  # the user may go beyond it
    assert label.text() == "8.0 (works 1–7.5)"
    assert WARNING_COLOUR in label.styleSheet()
    assert label.toolTip() == slider.toolTip() == BEYOND

    qtbot.keyClick(slider, Qt.Key.Key_End)  # all the way
    assert window.document.settings.guidance_scale == 30.0 and label.text() == "30.0 (works 1–7.5)"
    slider.setValue(1)  # below the range warns too
    assert label.text() == "0.5 (works 1–7.5)" and WARNING_COLOUR in label.styleSheet()
    slider.setValue(6)
    assert WARNING_COLOUR not in label.styleSheet() and label.toolTip() != BEYOND


def test_a_model_without_a_card_leaves_the_slider_plain(window, qtbot, tiny_models):
    panel = window.prompt_panel
    _wait_info(qtbot, window, "SD 1.x")
    assert window.document.settings.base_model == str(tiny_models.base)
    panel.guidance_slider.setValue(40)
    assert window.document.settings.guidance_scale == 20.0
    assert panel.guidance_label.text() == "20.0"
    assert panel.guidance_label.styleSheet() == "" and panel.guidance_label.toolTip() == ""
    assert panel.guidance_slider.toolTip() == "" and panel.guidance_slider.band is None


def test_a_new_document_and_the_example_project_start_on_the_cards_values(window, qtbot):
    card = model_card(str(DEMO_MODEL))
    expected = tuple(card.defaults[key] for key in ("width", "height", "guidance_scale", "steps", "scheduler"))
    assert expected == (64, 64, 5.0, 20, "unipc")
    window.files.new_document(ask=False)
    assert window.document.settings.base_model is None and _settings(window) == expected
    _wait_info(qtbot, window, "64 px")
    assert window.prompt_panel.guidance_label.text() == "5.0 (works 1–7.5)"

    stored = load_project(EXAMPLE).document.settings
    assert stored.base_model is None
    assert (stored.width, stored.height, stored.guidance_scale, stored.steps, stored.scheduler) == expected
