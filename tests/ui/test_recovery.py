"""Recovery belongs to the session that wrote it: a start offers only the work of sessions that
are gone (killed, crashed), never a running one's; nothing but the user's answer, a save or its
own clean end removes it; restored work keeps the project file it came from."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from desktop.domain.project import project_to_dict, save_project
from desktop.ui.paths import APP_NAME

from .conftest import FakeDialogs, tiny_document

ROOT = Path(__file__).resolve().parents[2]

SESSION = """
import os, sys; sys.path.insert(0, {root!r})
from pathlib import Path
from desktop.ui import paths
paths.app_data_dir = lambda: Path({folder!r})
from desktop.ui.launch import create_app
from desktop.ui.main_window import MainWindow
app = create_app()
w = MainWindow(device='cpu')
if {project!r}:
    w.files.open_project({project!r}, ask=False)
w.document.set_settings(prompt={prompt!r})
w.files.autosave()
w.files.recovery.flush()
print('ready', flush=True)
if {live!r}:
    sys.stdin.readline()
os._exit(9)  # killed: no clean shutdown
"""


@pytest.fixture()
def data_dir(tmp_path, monkeypatch):
    """The app's data folder for this test, shared with the app processes the test starts."""
    folder = tmp_path / "data" / APP_NAME
    folder.mkdir(parents=True)
    monkeypatch.setattr("desktop.ui.paths.app_data_dir", lambda: folder)
    return folder


def _session(data_dir, prompt, project=None, live=False) -> subprocess.Popen:
    """Another app process that edits the prompt and autosaves; it is killed, or with `live`
    keeps running until its stdin closes."""
    script = SESSION.format(root=str(ROOT), folder=str(data_dir), project=str(project or ""), prompt=prompt,
                            live=live)
    process = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert process.stdout.readline().strip() == "ready", process.stderr.read()
    return process


def _crashed_session(data_dir, prompt, project=None) -> None:
    process = _session(data_dir, prompt, project)
    assert process.wait(timeout=60) == 9


def _start(qtbot, restore=True):
    """A new app start, answering the recovery question with `restore`; it records if it was asked."""
    from desktop.ui.main_window import MainWindow

    window = MainWindow(device="cpu")
    window.dialogs = FakeDialogs()
    window.dialogs.restore_answer = restore
    window.dialogs.asked = 0

    def ask():
        window.dialogs.asked += 1
        return restore

    window.dialogs.ask_restore_recovery = ask
    qtbot.addWidget(window)
    return window


def _offered(qtbot, restore=True):
    """Start the app, offer recovery; the window and whether work was restored."""
    from desktop.ui.launch import offer_recovery

    window = _start(qtbot, restore)
    return window, offer_recovery(window)


def _scripted_run(args, tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_DATA_HOME": str(tmp_path / "data")}
    return subprocess.run([sys.executable, "main.py", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env=env)


def test_work_of_a_killed_session_is_offered_at_the_next_start(qtbot, data_dir):
    _crashed_session(data_dir, "unsaved masterpiece")
    window, restored = _offered(qtbot)
    assert restored and window.document.settings.prompt == "unsaved masterpiece"
    assert window.document.dirty and "Untitled •" in window.windowTitle()
    window.close_without_asking()


def test_declined_work_is_removed_and_not_offered_again(qtbot, data_dir):
    _crashed_session(data_dir, "not wanted")
    first, restored = _offered(qtbot, restore=False)
    assert not restored and first.dialogs.asked == 1
    first.close_without_asking()
    second, restored = _offered(qtbot)
    assert not restored and second.dialogs.asked == 0
    second.close_without_asking()


def test_a_running_sessions_work_is_neither_offered_nor_removed(qtbot, data_dir, tmp_path):
    other = _session(data_dir, "still being edited", live=True)
    try:
        window, restored = _offered(qtbot)
        assert not restored and window.dialogs.asked == 0
        window.close()  # a clean end removes this session's file only
    finally:
        other.stdin.close()
        assert other.wait(timeout=60) == 9  # then it is killed after all
    later, restored = _offered(qtbot)
    assert restored and later.document.settings.prompt == "still being edited"
    later.close_without_asking()


def test_opening_a_project_and_closing_keeps_a_crashed_sessions_work(qtbot, data_dir, tmp_path, tiny_models):
    _crashed_session(data_dir, "crashed work")
    project = tmp_path / "scene.cnstudio"
    save_project(tiny_document(tiny_models), project)
    window = _start(qtbot)
    assert window.files.open_project(project, ask=False)
    window.close()
    later, restored = _offered(qtbot)
    assert restored and later.document.settings.prompt == "crashed work"
    later.close_without_asking()


def test_a_scripted_run_keeps_a_crashed_sessions_work_and_leaves_none_of_its_own(qtbot, data_dir, tmp_path,
                                                                                 tiny_models):
    _crashed_session(data_dir, "crashed work")
    project = tmp_path / "scene.cnstudio"
    save_project(tiny_document(tiny_models), project)
    result = _scripted_run(["--open", str(project), "--generate", "--screenshot", str(tmp_path / "shot.png"),
                            "--quit", "--device", "cpu"], tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    window, restored = _offered(qtbot)
    assert restored and window.document.settings.prompt == "crashed work"
    window.close_without_asking(keep_recovery=False)
    later, restored = _offered(qtbot)
    assert not restored and later.dialogs.asked == 0  # the scripted run claimed no crash
    later.close()


def test_restored_work_keeps_the_project_file_it_came_from(qtbot, data_dir, tmp_path, tiny_models):
    project = tmp_path / "scene.cnstudio"
    save_project(tiny_document(tiny_models), project)
    _crashed_session(data_dir, "edited before the crash", project)
    window, restored = _offered(qtbot)
    assert restored and "scene.cnstudio •" in window.windowTitle()
    assert window.files.save()  # no file dialog: Save writes to the project
    assert json.loads(project.read_text())["settings"]["prompt"] == "edited before the crash"
    assert "•" not in window.windowTitle()
    window.close()
    later, restored = _offered(qtbot)
    assert not restored and later.dialogs.asked == 0  # saved: the recovery file is gone
    later.close()


def test_a_sessions_own_file_goes_when_it_ends_with_nothing_unsaved(qtbot, data_dir):
    window = _start(qtbot)
    window.prompt_panel.prompt_edit.setPlainText("edited")
    window.files.autosave()
    window.dialogs.save_answer = "discard"
    window.close()
    later, restored = _offered(qtbot)
    assert not restored and later.dialogs.asked == 0
    later.close()


def test_a_damaged_recovery_file_is_kept_aside_with_one_message(qtbot, data_dir):
    folder = data_dir / "recovery"
    folder.mkdir()
    (folder / "session-1-0123abcd.cnstudio").write_text("{not json")
    window, restored = _offered(qtbot)
    assert not restored and len(window.dialogs.errors) == 1
    assert "could not be restored" in window.dialogs.errors[0][1]
    window.close()
    later, restored = _offered(qtbot)
    assert not restored and later.dialogs.asked == 0
    later.close()


def test_restored_work_with_a_damaged_image_layer_opens_without_it(qtbot, data_dir, tiny_models):
    data = project_to_dict(tiny_document(tiny_models))
    data["layers"].append({"kind": "image", "name": "Broken photo", "png": "iVBORw0KGgpkYW1hZ2Vk"})
    folder = data_dir / "recovery"
    folder.mkdir()
    (folder / "session-1-0123abcd.cnstudio").write_text(json.dumps(data))
    window, restored = _offered(qtbot)
    assert restored and [layer.name for layer in window.document.layers] == ["Pose", "Scribble"]
    assert len(window.dialogs.infos) == 1 and "Broken photo" in window.dialogs.infos[0][1]
    window.show()
    qtbot.waitExposed(window)
    window.close_without_asking(keep_recovery=False)
