"""A project's results, which may be a stranger's: as it opens each image is checked through the one
reader under the largest size a recipe makes and only the newest are kept; the strip holds
thumbnails, never full-size images; restoring a result's settings checks them by the recipe rules."""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import psutil
import pytest
from PIL import Image
from PySide6.QtGui import QGuiApplication

from desktop.conditions.image_io import encode_png
from desktop.domain.project import project_to_dict
from desktop.ui.opening import MAX_RESULTS

from .test_projects_and_undo import _png_header_only

RECIPE = {"prompt": "a stranger's result", "seed": 7, "steps": 4, "guidance_scale": 5.0, "width": 64, "height": 64}


def _black_png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height)).save(buffer, "PNG")
    return buffer.getvalue()


def _open_with_history(window, tmp_path, results: list[tuple[dict, bytes]]):
    data = project_to_dict(window.document)
    data["history"] = [{"recipe": recipe, "image": base64.b64encode(png).decode("ascii")} for recipe, png in results]
    path = tmp_path / "theirs.cnstudio"
    path.write_text(json.dumps(data))
    assert window.files.open_project(path, ask=False)


def test_over_cap_damaged_and_non_raster_results_are_left_out_with_one_message(window, tmp_path):
    """An 8000 x 8000 result took 200 MB and more each, decoded by Qt with no cap."""
    good = encode_png(np.full((64, 64, 3), 90, np.uint8))
    _open_with_history(window, tmp_path, [
        (RECIPE, _black_png(8000, 8000)),
        (RECIPE, _black_png(2056, 2048)),  # under the reader's own cap, over the largest result a recipe makes
        (RECIPE, _png_header_only(30000, 30000)),
        (RECIPE, b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 8 8\nshowpage\n"),
        (RECIPE, good),
    ])
    assert window.preview_pane.history.count() == 1 and window.document.history[0].image_png == good
    assert window.dialogs.infos == [("Project opened with problems", "4 result images could not be read and were left out")]


def test_a_project_keeps_its_newest_results(window, tmp_path):
    png = encode_png(np.zeros((8, 8, 3), np.uint8))
    _open_with_history(window, tmp_path, [({**RECIPE, "seed": seed}, png) for seed in range(MAX_RESULTS + 3)])
    assert [item.recipe["seed"] for item in window.document.history] == list(range(3, MAX_RESULTS + 3))
    assert window.preview_pane.history.count() == MAX_RESULTS
    assert window.dialogs.infos[0][1] == f"the 3 oldest results were left out: a project keeps its newest {MAX_RESULTS}"


def test_the_strip_holds_thumbnails_and_a_result_shows_at_full_size(window, tmp_path):
    """Twenty 2048 x 2048 results held 335 MB as full-size images; each is decoded only when shown."""
    png = _black_png(2048, 2048)
    process = psutil.Process()
    before = process.memory_info().rss
    _open_with_history(window, tmp_path, [(RECIPE, png)] * 20)
    assert process.memory_info().rss - before < 150 * 2**20
    assert window.preview_pane.history.count() == 20 and window.dialogs.infos == []

    strip = window.preview_pane.history
    strip.itemClicked.emit(strip.item(3))
    assert window.preview_pane.view.image().size().toTuple() == (2048, 2048)
    assert window.preview_pane.caption.text() == "Result 4: a stranger's result"
    window.results.action("copy", 3)
    assert QGuiApplication.clipboard().image().size().toTuple() == (2048, 2048)
    QGuiApplication.clipboard().clear()


@pytest.mark.parametrize("change, expected", [
    ({"conditions": 5}, "conditions: must be a list"),
    ({"seed": "abc"}, "seed: must be a whole number, got 'abc'"),
    ({"width": 60000}, "width: must be between 64 and 2048, got 60000"),
])
def test_a_strangers_result_with_settings_no_render_accepts_is_not_restored(window, tmp_path, change, expected):
    _open_with_history(window, tmp_path, [({**RECIPE, **change}, encode_png(np.zeros((8, 8, 3), np.uint8)))])
    before = window.document.snapshot()
    window.preview_pane.history_activated.emit(0)  # a double-click on the result
    assert window.dialogs.errors == [
        ("Cannot restore settings", f"The settings of result 1 cannot be restored: {expected}.")]
    assert window.document.snapshot() == before and not window.document.undo_stack.can_undo


def test_a_generated_result_restores_its_settings_after_a_save_and_reopen(window, qtbot, tmp_path):
    with qtbot.waitSignal(window.controller.result_ready, timeout=60000):
        window.runs.generate()
    made = window.document.snapshot()
    path = tmp_path / "mine.cnstudio"
    window.dialogs.next_save = str(path)
    assert window.files.save_as() and window.files.open_project(path, ask=False)
    scribble = next(layer for layer in window.document.layers if layer.kind == "scribble")
    window.document.set_settings(prompt="something else", steps=9, random_seed=True)
    window.document.update_layer(scribble.id, "Weight", weight=0.25, start=0.5)
    window.preview_pane.history_activated.emit(0)
    assert window.dialogs.errors == []
    settings, layer = window.document.settings, window.document.layer(scribble.id)
    assert (settings.prompt, settings.steps, settings.random_seed) == (made.settings.prompt, made.settings.steps, False)
    assert (layer.weight, layer.start) == (1.0, 0.0)


def test_restoring_a_result_restores_its_loras_and_opening_names_them(window, tmp_path):
    lora = str(tmp_path / "watercolor.safetensors")
    _open_with_history(window, tmp_path, [({**RECIPE, "loras": [{"path": lora, "weight": 0.6}]},
                                           encode_png(np.zeros((8, 8, 3), np.uint8)))])
    assert window.document.settings.loras == ()
    window.preview_pane.history_activated.emit(0)
    assert window.dialogs.errors == []
    assert window.document.settings.loras == ((lora, 0.6),)
    from desktop.ui.opening import models_sentence

    assert models_sentence(window.document).endswith(" and LoRA watercolor.safetensors.")


def test_restoring_a_result_is_one_undo_step_and_two_restores_are_two(window, tmp_path):
    black = encode_png(np.zeros((8, 8, 3), np.uint8))
    _open_with_history(window, tmp_path, [({**RECIPE, "prompt": "first"}, black), ({**RECIPE, "prompt": "second"}, black)])
    window.document.set_settings(prompt="my own work")
    window.document.end_gesture()
    window.preview_pane.history_activated.emit(0)
    window.preview_pane.history_activated.emit(1)
    assert window.document.settings.prompt == "second"
    window.document.undo()
    assert window.document.settings.prompt == "first"
    window.document.undo()
    assert window.document.settings.prompt == "my own work"


def test_a_saved_project_holds_each_results_control_images_once_and_an_export_carries_them(window, qtbot, tmp_path):
    """The result PNG carries its recipe (control images embedded) for a re-run anywhere; the project keeps the
    recipe beside the image, so it stores that PNG without its copy, and an export puts the recipe back."""
    from desktop.conditions.result_png import RECIPE_KEY, recipe_from_png

    window.document.set_settings(seed=5, random_seed=False)
    with qtbot.waitSignal(window.controller.result_ready, timeout=60000):
        window.preview_pane.generate_button.click()
    recipe = window.document.history[-1].recipe
    embedded = recipe["conditions"][0]["image_data"]
    path = tmp_path / "mine.cnstudio"
    window.dialogs.next_save = str(path)
    assert window.files.save_as()
    saved = path.read_text()
    assert saved.count(embedded) == 1  # in the recipe, not again inside the result's PNG
    stored = base64.b64decode(json.loads(saved)["history"][-1]["image"])
    assert RECIPE_KEY not in Image.open(io.BytesIO(stored)).info

    assert window.files.open_project(path, ask=False)
    window.dialogs.next_save = str(tmp_path / "exported.png")
    window.results.action("save", len(window.document.history) - 1)
    again = recipe_from_png(tmp_path / "exported.png")
    assert again.seed == 5 and again.to_dict(embed_images=True)["conditions"][0]["image_data"] == embedded
