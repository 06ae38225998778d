"""The scripted start used for docs and smoke tests: open, generate, screenshot, quit."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PIL import Image

from desktop.domain.project import save_project

from .conftest import tiny_document

ROOT = Path(__file__).resolve().parents[2]


def _run(args, tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_DATA_HOME": str(tmp_path / "data"),
           "XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_STATE_HOME": str(tmp_path / "state")}
    return subprocess.run([sys.executable, "main.py", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env=env)


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
