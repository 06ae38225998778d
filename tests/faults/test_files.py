"""RELIABILITY 10-13: killed saves, damaged settings, settings of the wrong shape, damaged projects."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from desktop.domain.app_settings import AppSettings, load_settings, save_settings
from desktop.domain.atomic import write_bytes_atomic
from desktop.domain.document import Document
from desktop.domain.errors import InvalidProject
from desktop.domain.project import load_project, project_to_dict, save_project

ROOT = Path(__file__).resolve().parents[2]


# 10 -----------------------------------------------------------------------------------------
def test_a_save_that_fails_half_way_leaves_the_previous_file_and_no_temp(tmp_path, monkeypatch):
    folder = tmp_path / "project"
    folder.mkdir()
    target = folder / "scene.cnstudio"
    target.write_text("previous")

    def broken_fsync(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError):
        write_bytes_atomic(target, b"new content" * 1000)
    assert target.read_text() == "previous"
    assert [p.name for p in folder.iterdir()] == ["scene.cnstudio"]


def test_a_process_killed_while_saving_never_leaves_a_broken_project(tmp_path):
    target = tmp_path / "scene.cnstudio"
    save_project(Document(), target)
    script = (
        "import sys; sys.path.insert(0, %r)\n"
        "from desktop.domain.document import Document, GenerationSettings\n"
        "from desktop.domain.project import save_project\n"
        "n = 0\n"
        "while True:\n"
        "    n += 1\n"
        "    save_project(Document(GenerationSettings(prompt='x' * 200000 + str(n))), %r)\n"
    ) % (str(ROOT), str(target))
    for delay in (0.3, 0.55, 0.8):
        child = subprocess.Popen([sys.executable, "-c", script])
        time.sleep(delay)
        child.send_signal(signal.SIGKILL)
        child.wait()
        loaded = load_project(target)  # always a whole project, old or new
        assert loaded.warnings == []


# 11 -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("content", [b"", b"{not json", b"\xff\xfe\x00garbage", b"[1, 2, 3]"])
def test_damaged_settings_are_moved_aside_and_defaults_load(tmp_path, content):
    path = tmp_path / "settings.json"
    path.write_bytes(content)
    loaded = load_settings(path)
    assert loaded.settings == AppSettings()
    assert "moved to" in loaded.notice
    aside = [p for p in tmp_path.iterdir() if p.name.startswith("settings.json.corrupt-")]
    assert len(aside) == 1 and aside[0].read_bytes() == content
    assert not path.exists()


def test_app_starts_on_damaged_settings_with_one_notice(tmp_path, monkeypatch, qtbot):
    monkeypatch.setattr("desktop.ui.paths.app_data_dir", lambda: tmp_path)
    (tmp_path / "settings.json").write_text("{oops")
    from desktop.ui.launch import build_window

    window = build_window("cpu")
    qtbot.addWidget(window)
    assert "settings file was damaged" in window.statusBar().currentMessage()
    window.close_without_asking()


# 12 -----------------------------------------------------------------------------------------
def test_wrong_types_unknown_keys_and_newer_versions_fall_back_per_key(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"version": 99, "recent_files": "not a list", "device": "tpu", "live": True,
                                "preview_every": 3, "sharp_preview_every": -4, "from_the_future": {"a": 1}}))
    settings = load_settings(path).settings
    assert settings.recent_files == [] and settings.device == "auto"
    assert settings.live is True and settings.preview_every == 3 and settings.sharp_preview_every == 5
    save_settings(settings, path)
    assert json.loads(path.read_text())["version"] == 1


# 13 -----------------------------------------------------------------------------------------
def test_truncated_project_is_refused_with_a_sentence(tmp_path):
    doc = Document()
    path = tmp_path / "scene.cnstudio"
    save_project(doc, path)
    path.write_text(path.read_text()[:-20])
    with pytest.raises(InvalidProject, match="damaged"):
        load_project(path)


def test_project_with_missing_image_and_bad_values_opens_the_rest(tmp_path):
    data = project_to_dict(Document())
    data["settings"]["steps"] = "many"
    data["layers"] = [
        {"kind": "image", "name": "Photo", "png": ""},
        {"kind": "scribble", "name": "Sketch", "operations": [{"type": "stroke", "points": [[1, 2, 1]], "size": 4}]},
        {"kind": "hologram", "name": "Future"},
    ]
    path = tmp_path / "p.cnstudio"
    path.write_text(json.dumps(data))
    loaded = load_project(path)
    assert [layer.name for layer in loaded.document.layers] == ["Sketch"]
    text = " | ".join(loaded.warnings)
    assert "Photo" in text and "image is missing" in text and "Future" in text and "steps" in text
