"""RELIABILITY 5-9 in the app: OOM and NaN runs leave the document and Generate working; cancel
is quiet and quick; a new run right after cancel is clean; closing mid-run joins the thread."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt


def _fail_unet(monkeypatch, window, error, times=1):
    from diffusers import UNet2DConditionModel

    original = UNet2DConditionModel.forward
    state = {"left": times}

    def failing(self, *args, **kwargs):
        if state["left"] > 0:
            state["left"] -= 1
            raise error
        return original(self, *args, **kwargs)

    monkeypatch.setattr(UNet2DConditionModel, "forward", failing)


def test_oom_in_the_app_shows_advice_once_and_the_next_run_works(window, qtbot, monkeypatch):
    _fail_unet(monkeypatch, window, RuntimeError("CUDA out of memory. Tried to allocate 1 GiB"))
    before = window.document.snapshot()
    with qtbot.waitSignal(window.controller.error, timeout=60000):
        window.runs.generate()
    bar = window.preview_pane.error_bar
    assert bar.isVisible() and "lower the image size" in bar.message_label.text() and window.dialogs.errors == []
    assert window.document.snapshot() == before and window.preview_pane.generate_button.isEnabled()
    with qtbot.waitSignal(window.controller.result_ready, timeout=60000):
        qtbot.mouseClick(window.preview_pane.generate_button, Qt.MouseButton.LeftButton)
    assert window.preview_pane.history.count() == 1
    assert not bar.isVisible()  # the run that worked took the error away


def test_nan_run_keeps_no_result(window, qtbot, monkeypatch):
    from diffusers import UNet2DConditionModel

    original = UNet2DConditionModel.forward

    def nan_forward(self, *args, **kwargs):
        out = original(self, *args, **kwargs)
        out[0].fill_(float("nan")) if isinstance(out, tuple) else out.sample.fill_(float("nan"))
        return out

    monkeypatch.setattr(UNet2DConditionModel, "forward", nan_forward)
    with qtbot.waitSignal(window.controller.error, timeout=60000):
        window.runs.generate()
    assert "NaN" in window.preview_pane.error_bar.message_label.text() and window.dialogs.errors == []
    assert window.preview_pane.history.count() == 0 and window.document.history == []


def test_cancel_stops_within_one_step_quietly(window, qtbot):
    window.document.set_settings(steps=150)
    steps = []
    window.controller.worker.progress.connect(lambda job, step, total: steps.append((time.perf_counter(), step)))
    cancelled_at = {}

    def cancel_at_3(step, total, image):
        if step == 3 and not cancelled_at:
            cancelled_at["t"] = time.perf_counter()
            window.runs.cancel()

    window.controller.preview_ready.connect(cancel_at_3)
    with qtbot.waitSignal(window.controller.run_cancelled, timeout=60000):
        window.runs.generate()
    qtbot.wait(1500)
    after = [step for t, step in steps if t > cancelled_at["t"]]
    assert len(after) <= 1, f"steps ran after cancel: {after}"
    assert window.dialogs.errors == [] and window.preview_pane.history.count() == 0
    assert not window.preview_pane.error_bar.isVisible()
