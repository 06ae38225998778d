"""The scripted start used for docs and smoke tests: open, generate, screenshot, quit. It never
waits on a dialog, checks its screenshot path before any work, and writes the screenshot
atomically. And no idle "Downloading model" dialog waits to pop up after a start."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QThread, QTimer
from PySide6.QtWidgets import QProgressDialog

from desktop.conditions.image_io import encode_png
from desktop.domain.project import project_to_dict, save_project

from .conftest import tiny_document

ROOT = Path(__file__).resolve().parents[2]


def _env(tmp_path):
    return {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_DATA_HOME": str(tmp_path / "data"),
            "XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_STATE_HOME": str(tmp_path / "state")}


def _run(args, tmp_path, timeout=300):
    return subprocess.run([sys.executable, "main.py", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env=_env(tmp_path))


def _errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def test_open_generate_screenshot_quit(tmp_path, tiny_models):
    project = tmp_path / "scene.cnstudio"
    save_project(tiny_document(tiny_models), project)
    shot = tmp_path / "shot.png"
    result = _run(["--open", str(project), "--generate", "--screenshot", str(shot), "--quit", "--device", "cpu"], tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    width, height = Image.open(shot).size
    assert width >= 1000 and height >= 600


def test_generation_failure_in_script_mode_exits_nonzero_with_one_line(tmp_path, tiny_models):
    doc = tiny_document(tiny_models)
    doc.settings.base_model = str(tmp_path / "missing-model")
    project = tmp_path / "broken.cnstudio"
    save_project(doc, project)
    result = _run([str(project), "--generate", "--quit", "--device", "cpu"], tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("error: model not found")


def _project_with(tmp_path, tiny_models, change) -> Path:
    data = project_to_dict(tiny_document(tiny_models))
    change(data)
    path = tmp_path / "project.cnstudio"
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize("case, expected", [
    ("newer version", "written by a newer version"),
    ("missing project", "missing.cnstudio"),
    ("damaged image layer", "layer Broken photo could not be read"),
])
def test_a_scripted_run_never_waits_on_a_dialog(tmp_path, tiny_models, case, expected):
    """Each case used to wait forever on a message box (or abort with exit 134)."""
    changes = {
        "newer version": lambda data: data.update(version=99),
        "missing project": lambda data: None,
        "damaged image layer": lambda data: data["layers"].append(
            {"kind": "image", "name": "Broken photo", "png": "iVBORw0KGgpkYW1hZ2Vk"}),
    }
    project = _project_with(tmp_path, tiny_models, changes[case])
    if case == "missing project":
        project = tmp_path / "missing.cnstudio"
    shot = tmp_path / "shot.png"
    try:
        result = _run(["--open", str(project), "--screenshot", str(shot), "--quit"], tmp_path, timeout=120)
    except subprocess.TimeoutExpired:
        pytest.fail("the scripted run waited on a dialog")
    assert result.returncode == 2, result.stderr[-2000:]
    errors = _errors(result.stderr)
    assert len(errors) == 1 and expected in errors[0], result.stderr[-2000:]
    assert "Traceback" not in result.stderr and not shot.exists()


@pytest.mark.parametrize("name, expected", [
    ("missing-folder/shot.png", "does not exist"),
    ("shot.jpg", "must be a .png file"),
])
def test_a_screenshot_that_cannot_be_written_is_refused_before_the_window_starts(tmp_path, name, expected):
    result = _run(["--screenshot", str(tmp_path / name), "--quit"], tmp_path, timeout=120)
    assert result.returncode == 2
    assert _errors(result.stderr) == result.stderr.strip().splitlines() and expected in result.stderr
    assert not (tmp_path / "data").exists()  # no window was built: not even its settings were read


def test_a_kill_while_the_screenshot_is_written_keeps_the_previous_one(tmp_path):
    shot = tmp_path / "shot.png"
    shot.write_bytes(b"the previous screenshot")
    killed_mid_write = (
        "import os, sys; sys.path.insert(0, %r)\n"
        "os.fsync = lambda fd: os._exit(9)  # killed on the first flush to disk\n"
        "from desktop.cli import main\n"
        "main(['--screenshot', %r, '--quit'])\n"
    ) % (str(ROOT), str(shot))
    result = subprocess.run([sys.executable, "-c", killed_mid_write], cwd=ROOT, capture_output=True, text=True,
                            timeout=120, env=_env(tmp_path))
    assert result.returncode == 9, result.stderr[-2000:]
    assert shot.read_bytes() == b"the previous screenshot"


def test_no_download_dialog_is_waiting_to_appear_after_a_start(window):
    """A progress dialog shows itself 4 s after it is made unless stopped; none may be pending."""
    dialogs = window.findChildren(QProgressDialog)
    assert not any(dialog.isVisible() for dialog in dialogs)
    assert not any(timer.isActive() for dialog in dialogs for timer in dialog.findChildren(QTimer))


def test_a_scripted_run_answers_every_question_the_app_can_ask_with_one_line(capsys):
    """Structural: whatever dialog a scripted run reaches, it prints one line and stops, never waits."""
    from desktop.ui.dialogs import Dialogs, ScriptedDialogs

    questions = [name for name in vars(Dialogs) if not name.startswith("_")]
    for name in questions:
        stops = []
        dialogs = ScriptedDialogs(lambda: stops.append(True))
        method = getattr(dialogs, name)
        arguments = {"error": ("Title", "first line\nsecond line"), "info": ("Title", "a message"),
                     "ask_save_changes": ("scene.cnstudio",), "ask_restore_recovery": (),
                     "open_folder": ("Title",)}.get(name, ("Title", "*.png"))
        method(*arguments)
        method(*arguments)
        assert stops == [True], name
        printed = capsys.readouterr().err.splitlines()
        assert len(printed) == 1 and printed[0].startswith("error: "), (name, printed)


def _scripted(window, monkeypatch, tmp_path):
    """A `--screenshot --quit` run on the test's window; the exit codes it asks for are recorded."""
    import argparse

    from PySide6.QtWidgets import QApplication

    from desktop.ui.scripted import ScriptedRun

    exits: list[int] = []
    monkeypatch.setattr(QApplication, "exit", staticmethod(exits.append))
    args = argparse.Namespace(quit=True, generate=False, screenshot=str(tmp_path / "shot.png"))
    return ScriptedRun(window, args), exits


def test_a_message_after_a_scripted_run_has_ended_is_not_printed(window, monkeypatch, tmp_path, capsys):
    """A preprocessing failure that came during shutdown printed `error:` while the run exited 0."""
    run, exits = _scripted(window, monkeypatch, tmp_path)
    run.succeed()
    window.dialogs.error("Preprocessing failed", "the depth model could not be loaded")
    assert exits == [0] and (tmp_path / "shot.png").exists()
    assert "error" not in capsys.readouterr().err


def test_a_message_that_comes_while_the_screenshot_is_taken_fails_the_run(window, qtbot, monkeypatch, tmp_path,
                                                                        capsys):
    """It used to be printed, and the run went on to write the screenshot and exit 0."""
    run, exits = _scripted(window, monkeypatch, tmp_path)
    QTimer.singleShot(0, lambda: window.dialogs.error("Preprocessing failed", "the depth model could not be loaded"))
    run.succeed()  # its paint delivers the message
    qtbot.waitUntil(lambda: exits != [])
    assert exits == [2] and not (tmp_path / "shot.png").exists()
    assert capsys.readouterr().err == "error: the depth model could not be loaded\n"


def test_a_preprocessing_failure_is_told_on_the_ui_thread(window, qtbot, monkeypatch):
    """Told from the worker thread, a scripted run closed the window there and waited on itself for ever."""
    from desktop.domain.errors import StudioError
    from desktop.domain.layers import ImageLayer

    def failing(*args, **kwargs):
        raise StudioError("the depth model could not be loaded")

    monkeypatch.setattr("desktop.conditions.layer_images.control_image", failing)
    told = []
    window.dialogs.run_failed = lambda title, message: told.append((message, QThread.currentThread() == window.thread()))
    window.controller.request_preprocess(ImageLayer(name="Photo", png=b"", preprocessor="depth"), 64, 64)
    qtbot.waitUntil(lambda: told != [])
    assert told == [("the depth model could not be loaded", True)]
    bar = window.preview_pane.error_bar
    assert bar.isVisible()
    assert bar.message_label.text() == "Preprocessing of 'Photo' failed: the depth model could not be loaded"
    assert window.dialogs.errors == []


FAILING_PREPROCESSOR = """
import sys, time; sys.path.insert(0, {root!r})
import desktop.conditions.layer_images as layer_images
from desktop.domain.errors import StudioError
original = layer_images.control_image
def failing(*args, **kwargs):
    if kwargs.get("cached_only"):  # the canvas asking for what is ready
        return original(*args, **kwargs)
    time.sleep({delay})
    raise StudioError("the depth model could not be loaded")
layer_images.control_image = failing
from desktop.cli import main
sys.exit(main(["--open", {project!r}, "--screenshot", {shot!r}, "--quit"]))
"""


@pytest.mark.parametrize("delay, code, errors", [
    (0, 2, ["error: the depth model could not be loaded"]),  # hung: told on the worker thread, which waited on itself
    (3, 0, []),  # after the screenshot and the end of the run: printed `error:` with exit 0
])
def test_a_preprocessing_failure_in_a_scripted_run_fails_it_only_before_it_ends(tmp_path, tiny_models, delay, code,
                                                                                errors):
    photo = {"kind": "image", "name": "Photo", "preprocessor": "depth",
             "png": base64.b64encode(encode_png(np.zeros((32, 32, 3), np.uint8))).decode("ascii")}
    project = _project_with(tmp_path, tiny_models, lambda data: data["layers"].append(photo))
    shot = tmp_path / "shot.png"
    script = FAILING_PREPROCESSOR.format(root=str(ROOT), project=str(project), shot=str(shot), delay=delay)
    try:
        result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True,
                                timeout=120, env=_env(tmp_path))
    except subprocess.TimeoutExpired:
        pytest.fail("the scripted run hung")
    assert result.returncode == code, result.stderr[-2000:]
    assert _errors(result.stderr) == errors, result.stderr[-2000:]
    assert shot.exists() == (code == 0)
