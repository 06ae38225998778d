"""An automatic warm-up (a model just picked, Optimise Models on) prepares the model the document uses: a new
pick or a manual Prepare supersedes it, and a warm-up that ends for a model no longer used says nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from .test_speed_settings import _compiling_worker


@pytest.fixture()
def compiling(monkeypatch):
    import torch

    _compiling_worker(monkeypatch)
    yield
    torch._dynamo.reset()


@pytest.fixture()
def other_base(tiny_models, tmp_path) -> str:
    """A second base model the user can pick (the tiny one, in another folder)."""
    folder = tmp_path / "other-base"
    shutil.copytree(tiny_models.base, folder)
    return str(folder)


def _pick(window, qtbot, reference: str) -> None:
    """The user picks `reference` in the model picker; its answer (read off the UI thread) starts a warm-up."""
    before = window.runs._warm_job
    window.prompt_panel.model_picker.pick(reference)
    assert window.document.settings.base_model == reference
    qtbot.waitUntil(lambda: window.runs._warm_job != before and window.controller.running, timeout=30000)


def _loaded_base(window) -> Path:
    return Path(str(window.controller.worker._cache._base_ref)).resolve()


def test_picking_another_model_during_a_warm_up_prepares_the_new_one(window, qtbot, tiny_models, other_base,
                                                                      compiling):
    done: list = []
    window.controller.warm_done.connect(lambda compiled, seconds: done.append(compiled))
    _pick(window, qtbot, other_base)
    assert window.runs._warm_auto
    _pick(window, qtbot, str(tiny_models.base))  # during the first warm-up: it is superseded
    qtbot.waitUntil(lambda: not window.controller.running, timeout=300000)
    qtbot.wait(100)
    assert len(done) == 1 and done[0] > 0  # one warm-up reached the window: the second pick's
    assert _loaded_base(window) == Path(tiny_models.base).resolve()
    assert window.statusBar().currentMessage().startswith("Ready: optimised for 64 x 64 in ")
    assert window.dialogs.errors == []


def test_prepare_during_an_automatic_warm_up_starts_at_once(window, qtbot, other_base, compiling):
    done: list = []
    window.controller.warm_done.connect(lambda compiled, seconds: done.append(compiled))
    _pick(window, qtbot, other_base)
    automatic = window.runs._warm_job
    window.prepare_action.trigger()  # Tools > Prepare for This Size
    assert "in progress" not in window.statusBar().currentMessage()
    assert window.runs._warm_job != automatic and not window.runs._warm_auto and window.controller.running
    qtbot.waitUntil(lambda: not window.controller.running, timeout=300000)
    qtbot.wait(100)
    assert len(done) == 1 and _loaded_base(window) == Path(other_base).resolve()
    assert window.statusBar().currentMessage().startswith("Ready: optimised for 64 x 64 in ")


def test_a_warm_up_for_a_model_no_longer_used_does_not_say_ready(window, qtbot, other_base, compiling):
    ended: list = []
    worker = window.controller.worker
    worker.warmed.connect(lambda *args: ended.append("warmed"))
    worker.cancelled.connect(lambda *args: ended.append("cancelled"))
    worker.failed.connect(lambda *args: ended.append("failed"))
    window.prepare_action.trigger()
    window.document.set_settings(base_model=other_base)  # not a pick (an undo, a restored result): no new warm-up
    qtbot.waitUntil(lambda: bool(ended), timeout=300000)
    qtbot.waitUntil(lambda: not window.controller.running, timeout=10000)
    assert ended == ["warmed"]
    assert not window.statusBar().currentMessage().startswith("Ready")
    assert window.preview_pane.progress.format() != "ready"
