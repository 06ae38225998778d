"""The Train window trains a ControlNet on a locked base with progress, loss plot and samples;
Stop keeps the last checkpoint and Start resumes from it."""

from __future__ import annotations

import json

from PySide6.QtCore import Qt


def _open(window, tiny_models, tmp_path, steps):
    window.open_train_window()
    train = window.train_window
    train.base_edit.setText(str(tiny_models.base))
    train.out_edit.setText(str(tmp_path / "run"))
    train.steps_spin.setValue(steps)
    train.batch_spin.setValue(2)
    train.resolution_spin.setValue(32)
    train.eval_samples, train.eval_steps = 2, 3  # keep the held-out checks cheap in tests
    return train


def test_training_shows_progress_loss_and_samples(window, qtbot, tiny_models, tmp_path):
    train = _open(window, tiny_models, tmp_path, steps=4)
    with qtbot.waitSignal(train.controller.worker.finished, timeout=300000) as done:
        train.start_button.click()
    qtbot.waitUntil(train.start_button.isEnabled, timeout=10000)  # the window's own slot has run
    assert done.args[0].endswith("final")
    assert (tmp_path / "run" / "final" / "config.json").exists()
    assert len(train.plot.values) == 4 and train.progress.format() == "done"
    assert train.grid.pixmap() is not None and not train.grid.pixmap().isNull()
    rows = (tmp_path / "run" / "log.csv").read_text().splitlines()
    assert rows[0].startswith("step,loss,iou") and len(rows) >= 3


def test_stop_then_resume_continues_from_the_checkpoint(window, qtbot, tiny_models, tmp_path):
    train = _open(window, tiny_models, tmp_path, steps=8)  # checkpoints every 2 steps
    stopped_once = []

    def stop_at_3(step, total, loss):
        """Runs on the worker thread as step 3 ends, so a slow UI thread cannot let it run past."""
        if step == 3 and not stopped_once:
            stopped_once.append(step)
            train.controller.cancel()

    train.controller.worker.step.connect(stop_at_3, Qt.ConnectionType.DirectConnection)
    with qtbot.waitSignal(train.controller.worker.finished, timeout=300000) as stopped:
        train.start_button.click()
    train.controller.worker.step.disconnect(stop_at_3)
    # The signal reaches qtbot on the worker thread, before the window's own queued slot has
    # enabled Start again: a click now would hit a disabled button, as a user's could not.
    qtbot.waitUntil(train.start_button.isEnabled, timeout=10000)
    assert stopped.args[0] == ""
    latest = json.loads((tmp_path / "run" / "checkpoints" / "latest.json").read_text())
    assert latest["step"] in (2, 4)
    steps = []
    train.controller.worker.step.connect(lambda step, total, loss: steps.append(step))
    with qtbot.waitSignal(train.controller.worker.finished, timeout=300000):
        train.start_button.click()
    assert steps[0] == latest["step"] + 1 and steps[-1] == 8


def test_missing_base_folder_is_explained(window, tmp_path):
    window.open_train_window()
    window.train_window.base_edit.setText(str(tmp_path / "nope"))
    window.train_window.start_button.click()
    assert "base model folder" in window.train_window.status.text()
