"""A layer's network preprocessor (depth, ...) runs on the worker only when what its control image is made
of changes: the photo, the preprocessor, its parameters, the resize mode, or the document's size. A keystroke
in the prompt asks for nothing; a request that failed or was cancelled is not made again until its layer
changes or the user asks again; a failure is told once, on the error bar, naming the layer."""

from __future__ import annotations

import uuid

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit, QPushButton

from desktop.conditions.preprocessors import networks

from .helpers import add_photo
from .test_side_downloads import MB, _fake_download


@pytest.fixture()
def online_depth_repo(hub_cache, hub_online, monkeypatch) -> str:
    """A depth network nobody has downloaded, from a hub that answers (its download is a stand-in)."""
    monkeypatch.setattr(networks, "hub_reachable", lambda: True)
    return f"someone/depth-{uuid.uuid4().hex[:8]}"


def _count_requests(window, monkeypatch) -> list:
    """Every preprocessing request the window hands the worker, as (layer name, preprocessor, params)."""
    asked: list = []
    original = window.controller.request_preprocess

    def spy(layer, width, height):
        asked.append((layer.name, layer.preprocessor, dict(layer.params)))
        original(layer, width, height)

    monkeypatch.setattr(window.controller, "request_preprocess", spy)
    return asked


def _type_in_prompt(window, qtbot, text: str) -> None:
    edit = window.prompt_panel.prompt_edit
    edit.setFocus()
    edit.moveCursor(edit.textCursor().MoveOperation.End)
    qtbot.keyClicks(edit, text)


def _missing_depth_repo() -> str:
    return f"nobody/depth-{uuid.uuid4().hex[:8]}"  # never downloaded: offline, loading it fails at once


def test_offline_typing_in_the_prompt_asks_for_no_preprocessing_and_opens_no_dialog(window, qtbot, monkeypatch,
                                                                                    tmp_path, hub_cache):
    """The reported repro (HF_HUB_OFFLINE=1, as the test run has it): typing four characters opened four more
    error dialogs, one per re-queued depth request."""
    asked = _count_requests(window, monkeypatch)
    failed: list = []
    window.controller.worker.side_failed.connect(failed.append)
    layer = add_photo(window, tmp_path)
    window.document.update_layer(layer.id, preprocessor="depth", params={"model": _missing_depth_repo()})
    bar = window.preview_pane.error_bar
    qtbot.waitUntil(lambda: bar.isVisible(), timeout=30000)
    assert len(asked) == 1 and len(failed) == 1
    message = bar.message_label.text()
    assert message.startswith(f"Preprocessing of '{layer.name}' failed: ") and "offline mode" in message
    assert [b.text() for b in bar.action_buttons()] == ["Try again", "Select layer", "Turn layer off"]

    _type_in_prompt(window, qtbot, "abcd")
    assert window.document.settings.prompt.endswith("abcd")
    qtbot.wait(300)  # whatever the worker would say has arrived
    assert len(asked) == 1 and len(failed) == 1  # no request, no second failure
    assert window.dialogs.errors == []  # never a modal dialog
    assert bar.isVisible() and bar.message_label.text() == message

    window.document.update_layer(layer.id, resize_mode="resize_and_fill")  # what the image is made of: asked again
    qtbot.waitUntil(lambda: len(failed) == 2, timeout=30000)
    assert len(asked) == 2 and window.dialogs.errors == []


def test_changing_the_preprocessor_parameter_asks_exactly_once_more(window, qtbot, monkeypatch, tmp_path, hub_cache):
    asked = _count_requests(window, monkeypatch)
    failed: list = []
    window.controller.worker.side_failed.connect(failed.append)
    layer = add_photo(window, tmp_path)
    window.document.update_layer(layer.id, preprocessor="depth", params={"model": _missing_depth_repo()})
    qtbot.waitUntil(lambda: len(failed) == 1, timeout=30000)
    _type_in_prompt(window, qtbot, "xy")

    other = _missing_depth_repo()
    field = window.layer_panel.findChild(QLineEdit, "param_model")  # the depth model's box in the layer's form
    field.setFocus()
    field.selectAll()
    qtbot.keyClicks(field, other)
    qtbot.keyClick(field, Qt.Key.Key_Return)
    assert window.document.layer(layer.id).params["model"] == other
    qtbot.waitUntil(lambda: len(failed) == 2, timeout=30000)
    qtbot.wait(200)
    assert len(asked) == 2 and asked[1][2] == {"model": other}
    assert other in window.preview_pane.error_bar.message_label.text()

    # Picking the preprocessor again is the user asking again: one more request, for the same content.
    combo = window.layer_panel.preprocessor_combo
    combo.activated.emit(combo.findData("depth"))
    qtbot.waitUntil(lambda: len(failed) == 3, timeout=30000)
    assert len(asked) == 3 and asked[2] == asked[1]
    assert window.dialogs.errors == []


def test_a_cancelled_download_does_not_restart_on_a_prompt_edit(window, qtbot, monkeypatch, tmp_path, hub_cache,
                                                               online_depth_repo):
    """Cancel in the download dialog, then one prompt edit: the download started again and its dialog came back."""
    reported = _fake_download(monkeypatch, hub_cache, chunks=200, pause=0.02)
    asked = _count_requests(window, monkeypatch)

    def on_progress(done, total, speed):
        if done >= 2 * MB and window.runs.download_dialog.isVisible():
            window.runs.download_dialog.findChild(QPushButton).click()  # the dialog's Cancel button

    window.controller.download_progress.connect(on_progress)
    layer = add_photo(window, tmp_path)
    window.document.update_layer(layer.id, preprocessor="depth", params={"model": online_depth_repo})
    qtbot.waitUntil(lambda: len(reported) >= 3, timeout=60000)
    qtbot.waitUntil(lambda: not window.runs.download_dialog.isVisible(), timeout=5000)
    qtbot.wait(400)  # the worker's next chunk meets the cancelled token
    stopped_at = len(reported)
    assert len(asked) == 1

    _type_in_prompt(window, qtbot, "e")
    qtbot.wait(500)
    assert len(asked) == 1 and len(reported) == stopped_at  # no new request, no download
    assert not window.runs.download_dialog.isVisible()
    assert window.dialogs.errors == [] and not window.preview_pane.error_bar.isVisible()  # a cancel is no error
    window.controller.download_progress.disconnect(on_progress)
    window.runs.cancel()  # the retry below is stopped at once too: a download is not what this test waits for
