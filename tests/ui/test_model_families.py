"""Model families in the app: the picker names a model's family (or why it cannot run) without
freezing, remembers recent models across restarts, size presets follow the family, and LoRAs
are document edits that reach the recipe."""

from __future__ import annotations

import json
import shutil

import pytest
from PySide6.QtCore import Qt

from desktop.domain.family import Family
from desktop.domain.project import load_project, project_from_dict, project_to_dict, save_project
from desktop.engine.synthetic_families import build_tiny_family
from desktop.ui.model_picker import ERROR_COLOUR

from .conftest import FakeDialogs


@pytest.fixture(scope="module")
def families(tmp_path_factory):
    """Tiny SDXL and SD 2.x folders, and an SDXL refiner (its configs are all a peek reads)."""
    root = tmp_path_factory.mktemp("families")
    sdxl = build_tiny_family(root / "sdxl", Family.SDXL)
    sd2 = build_tiny_family(root / "sd2", Family.SD2)
    refiner = root / "sdxl-refiner"
    (refiner / "unet").mkdir(parents=True)
    shutil.copy(sdxl / "unet" / "config.json", refiner / "unet" / "config.json")
    index = json.loads((sdxl / "model_index.json").read_text())
    del index["text_encoder"], index["tokenizer"]
    (refiner / "model_index.json").write_text(json.dumps(index))
    return {"sdxl": str(sdxl), "sd2": str(sd2), "refiner": str(refiner)}


def _browse_folder(window, folder: str) -> None:
    """Pick a folder the way a user does: the picker's Browse entry, answered by the folder dialog."""
    combo = window.prompt_panel.model_picker.combo
    window.dialogs.next_open = folder
    combo.activated.emit(combo.findData("browse:folder"))


def _wait_info(qtbot, window, text: str) -> None:
    picker = window.prompt_panel.model_picker
    qtbot.waitUntil(lambda: text in picker.family_label.text() + picker.refusal_label.text(), timeout=10000)


def _size(window):
    s = window.document.settings
    return s.width, s.height


def test_picking_an_sdxl_folder_names_it_and_brings_its_size_and_presets(window, qtbot, families):
    panel = window.prompt_panel
    _wait_info(qtbot, window, "SD 1.x")  # the tiny test model the window opened on
    before = window.document.snapshot()

    _browse_folder(window, families["sdxl"])
    _wait_info(qtbot, window, "SDXL")

    assert panel.model_picker.family_label.text() == "SDXL · 1024 px"
    assert window.document.settings.base_model == families["sdxl"]
    assert _size(window) == (1024, 1024)
    presets = [panel.size_combo.itemData(i) for i in range(panel.size_combo.count() - 1)]
    assert presets == list(Family.SDXL.size_presets)
    assert panel.size_combo.currentText() == "1024 × 1024"
    assert "1024 × 1024" in window.statusBar().currentMessage()
    assert "SDXL" in window.status_line.model_label.text()

    window.document.undo()  # the pick and its size are one step
    assert window.document.snapshot() == before
    _wait_info(qtbot, window, "SD 1.x")
    assert panel.size_combo.itemData(0) == Family.SD1.size_presets[0]

    window.document.redo()
    _wait_info(qtbot, window, "SDXL")
    panel.model_picker.combo.setEditText(families["sd2"])  # typed, then Enter
    panel.model_picker.combo.lineEdit().editingFinished.emit()
    _wait_info(qtbot, window, "SD 2.x")
    assert _size(window) == (512, 512)  # an SD 2 base model's native size
    assert panel.size_combo.itemData(0) == Family.SD2.size_presets[0]


def test_only_the_newest_pick_is_answered(window, qtbot, families):
    picker = window.prompt_panel.model_picker
    picker.pick(families["sdxl"])
    picker.pick(families["sd2"])  # before the SDXL answer arrives
    _wait_info(qtbot, window, "SD 2.x")
    qtbot.wait(300)
    assert picker.family_label.text() == "SD 2.x · 512 px"
    assert _size(window) == (512, 512)


def test_a_recent_model_is_offered_after_a_restart(window, qtbot, families):
    from desktop.ui.launch import build_window

    _browse_folder(window, families["sdxl"])
    _wait_info(qtbot, window, "SDXL")
    window.close_without_asking(keep_recovery=False)

    again = build_window("cpu")
    again.dialogs = FakeDialogs()
    qtbot.addWidget(again)
    try:
        combo = again.prompt_panel.model_picker.combo
        assert combo.itemText(0) == "Built-in demo model"
        assert combo.itemData(1) == families["sdxl"]  # newest first, after the demo
        assert combo.itemText(1) == "sdxl"
        assert again.app_settings.recent_models[0] == families["sdxl"]
    finally:
        again.close_without_asking(keep_recovery=False)


def test_a_refused_model_shows_its_sentence_and_is_not_remembered(window, qtbot, families):
    before = _size(window)
    _browse_folder(window, families["refiner"])
    _wait_info(qtbot, window, "refiner")
    picker = window.prompt_panel.model_picker
    assert picker.refusal_label.text() == "sdxl-refiner is an SDXL refiner; it only refines, pick an SDXL base model"
    assert picker.refusal_label.isVisible() and ERROR_COLOUR in picker.refusal_label.styleSheet()
    assert picker.family_label.text() == "cannot run" and ERROR_COLOUR in picker.family_label.styleSheet()
    assert _size(window) == before
    assert families["refiner"] not in window.app_settings.recent_models


def _recipe_for_a_run(window, monkeypatch):
    """The recipe Generate hands to the worker (not run: only what it carries matters here)."""
    seen = []
    monkeypatch.setattr(window.controller, "start", lambda source: seen.append(source()))
    window.runs.generate()
    return seen[0]


def test_a_lora_row_is_a_document_edit_that_reaches_the_recipe(window, qtbot, monkeypatch, tmp_path):
    loras = window.prompt_panel.lora_list
    path = str(tmp_path / "ink-style.safetensors")
    window.dialogs.next_open = path
    qtbot.mouseClick(loras.add_button, Qt.MouseButton.LeftButton)
    assert window.document.settings.loras == ((path, 1.0),)
    [row] = loras.rows
    assert row.name_label.full_text == "ink-style" and row.value_label.text() == "1.00"

    row.slider.setFocus()
    for _ in range(4):  # four arrow presses, 0.05 each: one undo step
        qtbot.keyClick(row.slider, Qt.Key.Key_Left)
    assert window.document.settings.loras == ((path, 0.8),)
    assert loras.rows[0].value_label.text() == "0.80"
    recipe = _recipe_for_a_run(window, monkeypatch)
    assert [(lora.path, lora.weight) for lora in recipe.loras] == [(path, 0.8)]

    saved = tmp_path / "with-lora.cnstudio"
    save_project(window.document, saved)
    assert load_project(saved).document.settings.loras == ((path, 0.8),)

    window.document.undo()
    assert window.document.settings.loras == ((path, 1.0),)
    window.document.undo()
    assert window.document.settings.loras == () and loras.rows == []
    assert _recipe_for_a_run(window, monkeypatch).loras == []


def test_lora_list_refuses_a_second_copy_and_a_pickle(window, tmp_path):
    loras = window.prompt_panel.lora_list
    path = str(tmp_path / "a.safetensors")
    loras.add(path)
    loras.add(path)
    assert "already in the LoRA list" in window.statusBar().currentMessage()
    loras.add(str(tmp_path / "b.ckpt"))
    assert "not a .safetensors file" in window.statusBar().currentMessage()
    assert window.document.settings.loras == ((path, 1.0),)


def test_a_project_with_a_bad_lora_entry_opens_without_it(window):
    data = project_to_dict(window.document)
    data["settings"]["loras"] = [{"path": "/models/evil.ckpt", "weight": 1.0}]
    loaded = project_from_dict(json.loads(json.dumps(data)))
    assert loaded.document.settings.loras == ()
    assert any("loras" in warning for warning in loaded.warnings)


def test_a_lora_picked_in_the_app_and_a_prompt_tag_both_apply_in_a_run(window, qtbot, tmp_path):
    """The app's own recipes are self-contained (a project may be a stranger's), yet the user's LoRAs are
    model files named like base models: a run with one must work, and `<lora:...>` finds the LoRA folder."""
    from desktop.engine.device import choose_device
    from desktop.engine.model_cache import ModelCache
    from tests.engine.extras_files import write_kohya_lora

    base = ModelCache(choose_device("cpu")).base(window.document.settings.base_model)
    folder = tmp_path / "loras"
    folder.mkdir()
    picked = write_kohya_lora(folder / "ink.safetensors", base, seed=1)
    write_kohya_lora(folder / "paper.safetensors", base, seed=2)
    window.dialogs.next_open = str(picked)
    qtbot.mouseClick(window.prompt_panel.lora_list.add_button, Qt.MouseButton.LeftButton)
    window.dialogs.next_open = str(folder)
    next(a for a in window.menuBar().actions() if a.text() == "&Tools").menu().actions()[1].trigger()
    assert window.app_settings.lora_folder == str(folder.resolve())
    window.document.set_settings(prompt="a house <lora:paper:0.5>")
    with qtbot.waitSignal(window.controller.result_ready, timeout=60000) as made:
        window.runs.generate()
    assert window.dialogs.errors == []
    loras = window.controller.worker._cache.applied.loras
    assert loras.file_loads == 2 and sorted(loras._weights.values()) == [0.5, 1.0]
    assert made.args[0].notices == []


def test_a_refused_model_is_read_again_when_picked_again(window, qtbot, families, tmp_path):
    """An unmounted drive, then mounted: picking the same model again must not keep the old refusal."""
    later = tmp_path / "juggernaut-xl"
    _browse_folder(window, str(later))
    _wait_info(qtbot, window, "cannot run")
    shutil.copytree(families["sdxl"], later)
    _browse_folder(window, str(later))
    _wait_info(qtbot, window, "SDXL")
    assert window.prompt_panel.model_picker.family_label.text() == "SDXL · 1024 px"


def test_a_hub_models_family_is_learned_once_a_run_loads_it(window, qtbot):
    from desktop.domain.family import ModelInfo

    picker = window.prompt_panel.model_picker
    picker.combo.setEditText("someone/tiny-xl")
    picker.combo.lineEdit().editingFinished.emit()
    _wait_info(qtbot, window, "family unknown")
    picker.learn("someone/tiny-xl", ModelInfo(Family.SDXL, native_size=1024))
    assert picker.family_label.text() == "SDXL · 1024 px" and "SDXL" in window.status_line.model_label.text()


def test_a_failed_live_run_is_told_in_the_error_bar_never_in_a_dialog(window, qtbot):
    """Live mode showed a modal dialog (and turned itself off); the bar says it where the image would be,
    Live stays on, and a missing LoRA offers no Browse for the base model."""
    window.preview_pane.live_check.setChecked(True)
    with qtbot.waitSignal(window.controller.error, timeout=60000):
        window.document.set_settings(loras=(("/gone/ink.safetensors", 1.0),))  # an edit: Live runs after it
    bar = window.preview_pane.error_bar
    assert bar.isVisible() and "ink.safetensors" in bar.message_label.text()
    assert window.dialogs.errors == [] and window.preview_pane.live_check.isChecked()
    assert bar.button("Browse") is None
    window.preview_pane.live_check.setChecked(False)


def test_a_pasted_quoted_path_picks_the_folder_and_a_typo_is_not_remembered(window, qtbot, families):
    picker = window.prompt_panel.model_picker
    picker.combo.setEditText(f'"{families["sdxl"]}/"')  # Windows' "Copy as path", a trailing separator
    picker.combo.lineEdit().editingFinished.emit()
    _wait_info(qtbot, window, "SDXL")
    assert window.document.settings.base_model == families["sdxl"]
    picker.combo.setEditText("stabilityai/stable-difusion-xl-base-1.0")  # a typo: no such model
    picker.combo.lineEdit().editingFinished.emit()
    _wait_info(qtbot, window, "family unknown")
    assert window.app_settings.recent_models == [families["sdxl"]]


def _offered_networks(window) -> list[str]:
    combo = window.layer_panel.properties.controlnet_combo
    return [combo.itemText(i) for i in range(combo.count())]


def test_the_network_list_offers_the_familys_adapters_for_the_layers_kind(window, qtbot, families):
    """SDXL: the scribble layer is offered the SDXL sketch adapter, the pose layer the pose adapter; SD 1.x
    (TencentARC's SD 1.5 adapters are pickles) and SD 2.x none. Picking one sets the layer's network in one
    undoable edit."""
    _wait_info(qtbot, window, "SD 1.x")
    scribble = next(layer for layer in window.document.layers if layer.kind == "scribble")
    window.layer_panel.select_layer(scribble.id)
    assert _offered_networks(window) == ["(default)"]
    combo = window.layer_panel.properties.controlnet_combo
    own = scribble.controlnet  # the tiny test ControlNet the layer names
    assert combo.currentText() == own

    _browse_folder(window, families["sdxl"])
    _wait_info(qtbot, window, "SDXL")
    assert _offered_networks(window) == ["(default)", "TencentARC/t2i-adapter-sketch-sdxl-1.0"]
    assert combo.currentText() == own
    combo.setCurrentIndex(1)
    combo.activated.emit(1)  # the user picks it from the list
    assert window.document.layer(scribble.id).controlnet == "TencentARC/t2i-adapter-sketch-sdxl-1.0"
    window.document.undo()
    assert window.document.layer(scribble.id).controlnet == own and combo.currentText() == own
    pose = next(layer for layer in window.document.layers if layer.kind == "pose")
    window.layer_panel.select_layer(pose.id)
    assert _offered_networks(window) == ["(default)", "TencentARC/t2i-adapter-openpose-sdxl-1.0"]
    assert combo.currentText() == (pose.controlnet or "(default)")

    _browse_folder(window, families["sd2"])
    _wait_info(qtbot, window, "SD 2.x")
    assert _offered_networks(window) == ["(default)"]
