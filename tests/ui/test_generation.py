"""Generate, preview, cancel, restart and close, through the app's worker thread."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from desktop.domain.recipe import Recipe


def _capture_recipes(window, monkeypatch) -> list[Recipe]:
    seen: list[Recipe] = []
    original = window.controller.start

    def start(recipe_source):
        seen.append(recipe_source() if callable(recipe_source) else recipe_source)
        return original(recipe_source)

    monkeypatch.setattr(window.controller, "start", start)
    return seen


def test_weight_slider_reaches_the_recipe_the_worker_gets(window, qtbot, monkeypatch):
    seen = _capture_recipes(window, monkeypatch)
    layer = next(layer for layer in window.document.layers if layer.kind == "scribble")
    window.layer_panel.select_layer(layer.id)
    slider = window.layer_panel.weight_slider
    slider.setFocus()
    for _ in range(5):
        QTest.keyClick(slider, Qt.Key.Key_Left)  # 1.00 -> 0.95
    assert window.layer_panel.weight_label.text() == "0.95"
    with qtbot.waitSignal(window.controller.result_ready, timeout=60000):
        qtbot.mouseClick(window.preview_pane.generate_button, Qt.MouseButton.LeftButton)
    assert seen[-1].conditions[0].weight == 0.95
    assert seen[-1].conditions[0].image_data  # the control image travels with the snapshot


def test_generate_shows_a_preview_per_step_then_the_result_in_history(window, qtbot):
    previews = []
    window.controller.preview_ready.connect(lambda step, total, image: previews.append((step, total, image.size())))
    with qtbot.waitSignal(window.controller.result_ready, timeout=60000):
        QTest.keyClick(window, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert [p[0] for p in previews] == [1, 2, 3, 4]
    assert all(p[1] == 4 for p in previews)
    assert window.preview_pane.history.count() == 1
    assert window.preview_pane.progress.format() == "done"
    assert window.preview_pane.view.image().width() == 64
    assert len(window.document.history) == 1 and window.document.history[0].image_png.startswith(b"\x89PNG")


def test_cancel_mid_run_stops_without_a_result(window, qtbot):
    window.document.set_settings(steps=120)
    window.controller.preview_ready.connect(lambda step, total, image: step == 2 and window.runs.cancel())
    with qtbot.waitSignal(window.controller.run_cancelled, timeout=60000):
        window.runs.generate()
    qtbot.wait(300)
    assert window.preview_pane.history.count() == 0
    assert window.preview_pane.progress.format() == "cancelled"
    assert not window.controller.running
    assert window.dialogs.errors == [] and not window.preview_pane.error_bar.isVisible()


def test_a_run_started_right_after_cancel_shows_only_its_own_signals(window, qtbot):
    window.document.set_settings(steps=120)
    totals = []
    window.controller.preview_ready.connect(lambda step, total, image: totals.append(total))
    state = {"restarted": False}

    def restart(step, total, image):
        if not state["restarted"] and total == 120:
            state["restarted"] = True
            window.runs.cancel()
            window.document.set_settings(steps=3, seed=7)
            window.runs.generate()

    window.controller.preview_ready.connect(restart)
    with qtbot.waitSignal(window.controller.result_ready, timeout=60000) as blocker:
        window.runs.generate()
    after = totals[totals.index(120) + 1 :]
    assert after and set(after) == {3}
    assert blocker.args[0].recipe.seed == 7 and blocker.args[0].recipe.steps == 3
    assert window.preview_pane.history.count() == 1


def test_closing_mid_run_cancels_joins_and_keeps_the_work(window, qtbot, app_files, no_threads_left):
    window.document.set_settings(steps=150)
    with qtbot.waitSignal(window.controller.preview_ready, timeout=60000):
        window.runs.generate()
    window.close_without_asking()
    assert not window.isVisible()
    assert all(not thread.isRunning() for thread in no_threads_left)
    assert list((app_files / "recovery").glob("*.cnstudio"))


def test_errors_are_shown_once_and_the_document_is_untouched(window, qtbot):
    window.document.set_settings(base_model="/nowhere/model.ckpt")
    before = window.document.snapshot()
    with qtbot.waitSignal(window.controller.error, timeout=60000):
        window.runs.generate()
    bar = window.preview_pane.error_bar
    assert bar.isVisible() and "pickle" in bar.message_label.text()  # told once, on the preview pane
    assert window.dialogs.errors == []  # and no dialog
    assert window.document.snapshot() == before
    assert window.preview_pane.generate_button.isEnabled()


def test_an_empty_enabled_layer_is_refused_by_name(window, qtbot):
    layer = next(layer for layer in window.document.layers if layer.kind == "scribble")
    window.document.update_layer(layer.id, operations=())
    with qtbot.waitSignal(window.controller.error, timeout=60000):
        window.runs.generate()
    shown = window.preview_pane.error_bar.message_label.text()
    assert shown.startswith("Layer 'Scribble' is empty") and window.dialogs.errors == []


def test_download_progress_shows_size_speed_and_cancel_stops_the_run(window, qtbot, monkeypatch):
    """A hub download reports progress in a dialog; Cancel there stops the download."""
    import desktop.engine.render as render_module

    def fake_base(reference, progress=None):
        for done in range(0, 50 * 2**20, 2**20):
            progress(done, 100 * 2**20)
            __import__("time").sleep(0.01)
        raise AssertionError("the download should have been cancelled")

    window.document.set_settings(base_model="someone/some-model")
    monkeypatch.setattr(render_module.ModelCache, "base", lambda self, ref, progress=None: fake_base(ref, progress))

    def on_progress(done, total, speed):
        assert total == 100 * 2**20 and (speed > 0 or done == 0)
        if done >= 5 * 2**20 and window.controller.running:
            from PySide6.QtWidgets import QPushButton

            window.runs.download_dialog.findChild(QPushButton).click()  # the dialog's Cancel button

    window.controller.download_progress.connect(on_progress)
    with qtbot.waitSignal(window.controller.run_cancelled, timeout=30000):
        window.runs.generate()
    assert "MB/s" in window.runs.download_dialog.labelText()
    qtbot.wait(400)
    assert window.dialogs.errors == [] and not window.preview_pane.error_bar.isVisible()
    assert not window.controller.running
