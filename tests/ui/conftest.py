"""Qt fixtures: a main window on the tiny models, app files in a temp folder, and a check that
no test leaves a QThread running."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QThread

from desktop.domain.document import Document, GenerationSettings
from desktop.domain.layers import PoseLayer, ScribbleLayer, Stroke
from desktop.domain.pose import t_pose
from tests.faults.test_untrusted_images import ghostscript  # noqa: F401 - a fixture the UI's file-entry tests use
from tests.engine.hub_fixtures import hub_cache, hub_online  # noqa: F401 - an own hub cache, offline mode off

SIZE = 64


@pytest.fixture(autouse=True)
def app_files(tmp_path, monkeypatch):
    """Settings and recovery files go to a temp folder, never the user's."""
    folder = tmp_path / "appdata"
    folder.mkdir()
    monkeypatch.setattr("desktop.ui.paths.app_data_dir", lambda: folder)
    return folder


def _record_starts(monkeypatch, cls) -> list:
    """Every object of `cls` whose start() runs during the test, in order."""
    started: list = []
    original = cls.start

    def tracking_start(self, *args):
        started.append(self)
        return original(self, *args)

    monkeypatch.setattr(cls, "start", tracking_start)
    return started


@pytest.fixture(autouse=True)
def no_threads_left(monkeypatch):
    """Fails a test that leaves a QThread running (napari's leak check)."""
    started = _record_starts(monkeypatch, QThread)
    yield started
    running = [t.objectName() or repr(t) for t in started if t.isRunning()]
    for thread in started:
        if thread.isRunning():
            thread.quit()
            thread.wait(5000)
    assert running == [], f"threads left running: {running}"


@pytest.fixture(autouse=True)
def no_timers_left(monkeypatch):
    """Fails a test that leaves a QTimer running once its widgets are closed."""
    from PySide6.QtCore import QTimer

    started = _record_starts(monkeypatch, QTimer)
    yield started
    active = []
    for timer in started:
        try:
            if timer.isActive():
                active.append(timer.objectName() or repr(timer))
                timer.stop()
        except RuntimeError:  # its C++ object is already deleted: nothing left running
            pass
    assert active == [], f"timers left running: {active}"


class FakeDialogs:
    """Answers the app's questions like a user would, and remembers what it was told."""

    def __init__(self) -> None:
        self.errors: list[tuple[str, str]] = []
        self.infos: list[tuple[str, str]] = []
        self.save_answer = "discard"
        self.restore_answer = True
        self.next_open = ""
        self.next_save = ""

    def error(self, title, message):
        self.errors.append((title, message))

    def info(self, title, message):
        self.infos.append((title, message))

    def ask_save_changes(self, name):
        return self.save_answer

    def ask_restore_recovery(self):
        return self.restore_answer

    def open_file(self, title, filters):
        return self.next_open

    def open_folder(self, title):
        return self.next_open

    def save_file(self, title, filters, suggested=""):
        return self.next_save


def tiny_document(tiny_models, steps: int = 4) -> Document:
    settings = GenerationSettings(prompt="a red circle", width=SIZE, height=SIZE, steps=steps,
                                  base_model=str(tiny_models.base))
    scribble = ScribbleLayer(name="Scribble", controlnet=str(tiny_models.controlnet),
                             operations=(Stroke(((10.0, 10.0, 1.0), (50.0, 40.0, 1.0)), 4.0),))
    pose = PoseLayer(name="Pose", people=(t_pose(SIZE, SIZE),), enabled=False)
    return Document(settings, [pose, scribble])


@pytest.fixture()
def window(qtbot, tiny_models):
    from desktop.ui.main_window import MainWindow

    win = MainWindow(device="cpu")
    win.dialogs = FakeDialogs()
    qtbot.addWidget(win)
    win.files.take(tiny_document(tiny_models), None)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.close_without_asking()
