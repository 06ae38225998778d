"""A preprocessor network downloading for a side request (a layer's preview, pose detection), outside
any run, shows the same download dialog as a base model: size, speed, and a Cancel that stops it
without an error. Nothing here reaches a network: the download is a stand-in that reports fake bytes."""

from __future__ import annotations

import time
import uuid

import pytest
from PySide6.QtWidgets import QPushButton

from desktop.conditions.image_io import read_image
from desktop.conditions.prepare import control_from_photo
from desktop.conditions.preprocessors import networks
from tests.conditions.tiny_networks import build_depth
from tests.engine.hub_fixtures import write_snapshot

from .helpers import add_photo

MB = 2**20


@pytest.fixture()
def depth_repo(hub_cache, hub_online, monkeypatch) -> str:
    """A depth network nobody has downloaded, from a hub that answers (a new id per test: networks once
    loaded stay loaded for the session)."""
    monkeypatch.setattr(networks, "hub_reachable", lambda: True)
    return f"someone/depth-{uuid.uuid4().hex[:8]}"


def _fake_download(monkeypatch, hub_cache, finished_folder=None, chunks: int = 4, pause: float = 0.05) -> list:
    """The network download, as the hub library would report it: `chunks` MB, then the files in the cache."""
    reported: list = []

    def download(repo_id, folders, prefer_fp16, progress=None, configs=None, revision=None):
        for done in range(0, (chunks + 1) * MB, MB):
            progress(done, chunks * MB)
            reported.append(done)
            time.sleep(pause)
        if finished_folder is None:
            raise AssertionError("the download should have been cancelled")
        return str(write_snapshot(hub_cache, repo_id, finished_folder))

    monkeypatch.setattr(networks, "download_model", download)
    return reported


def _cached_control(window, layer_id):
    """The layer's control image as the canvas would find it ready; None while the network has not run."""
    layer = window.document.layer(layer_id)
    s = window.document.settings
    return control_from_photo(read_image(layer.png), layer.condition_kind, s.width, s.height,
                              preprocessor=layer.preprocessor, params=layer.params, resize_mode=layer.resize_mode,
                              cached_only=True)


def test_a_preprocessor_download_outside_a_run_shows_progress_then_hides(window, qtbot, monkeypatch, tmp_path,
                                                                         hub_cache, depth_repo):
    _fake_download(monkeypatch, hub_cache, build_depth(tmp_path / "depth"))
    seen = []
    window.controller.download_progress.connect(
        lambda done, total, speed: seen.append((done, total, speed, window.runs.download_dialog.isVisible())))
    layer = add_photo(window, tmp_path)
    with qtbot.waitSignal(window.controller.worker.preprocessed, timeout=60000):
        window.document.update_layer(layer.id, preprocessor="depth", params={"model": depth_repo})
    qtbot.waitUntil(lambda: not window.runs.download_dialog.isVisible(), timeout=5000)
    assert [done for done, *_ in seen] == [0, MB, 2 * MB, 3 * MB, 4 * MB]
    assert all(total == 4 * MB and visible for _, total, _, visible in seen)
    assert seen[0][2] == 0.0 and seen[-1][2] > 0  # timed from the first byte
    assert "4 of 4 MB" in window.runs.download_dialog.labelText() and "MB/s" in window.runs.download_dialog.labelText()
    assert _cached_control(window, layer.id) is not None
    assert window.dialogs.errors == []


def test_cancel_in_the_download_dialog_stops_a_side_download_without_an_error(window, qtbot, monkeypatch, tmp_path,
                                                                             hub_cache, depth_repo):
    reported = _fake_download(monkeypatch, hub_cache, chunks=200, pause=0.02)

    def on_progress(done, total, speed):
        if done >= 2 * MB and window.runs.download_dialog.isVisible():
            window.runs.download_dialog.findChild(QPushButton).click()  # the dialog's Cancel button

    window.controller.download_progress.connect(on_progress)
    preprocessed, failed = [], []
    window.controller.worker.preprocessed.connect(preprocessed.append)
    window.controller.worker.side_failed.connect(failed.append)
    layer = add_photo(window, tmp_path)
    window.document.update_layer(layer.id, preprocessor="depth", params={"model": depth_repo})
    qtbot.waitUntil(lambda: len(reported) >= 3, timeout=60000)
    qtbot.waitUntil(lambda: not window.runs.download_dialog.isVisible(), timeout=5000)
    qtbot.wait(400)  # the worker's next chunk meets the cancelled token
    assert 3 <= len(reported) < 20  # stopped within a chunk or so of the click, not after 200
    assert not window.runs.download_dialog.isVisible()
    assert preprocessed == [] and failed == [] and window.dialogs.errors == []
    assert _cached_control(window, layer.id) is None
    assert not window.controller.running


def test_after_a_cancel_the_next_side_request_runs(window, qtbot, monkeypatch, tmp_path, hub_cache, depth_repo):
    window.controller.cancel_side()
    _fake_download(monkeypatch, hub_cache, build_depth(tmp_path / "depth"), chunks=1, pause=0)
    layer = add_photo(window, tmp_path)
    with qtbot.waitSignal(window.controller.worker.preprocessed, timeout=60000):
        window.document.update_layer(layer.id, preprocessor="depth", params={"model": depth_repo})
    assert _cached_control(window, layer.id) is not None
