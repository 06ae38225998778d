"""When Qt could not open a window the app says why in one sentence and exits 2, before Qt can abort
the process ("Could not load the Qt platform plugin xcb", core dumped)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from desktop.ui import platform_check
from desktop.ui.platform_check import DEBIAN_PACKAGES, qt_platform_problem

ROOT = Path(__file__).resolve().parents[1]
LDD_MISSING = """\
\tlinux-vdso.so.1 (0x00007ffc)
\tlibQt6XcbQpa.so.6 => /venv/PySide6/Qt/lib/libQt6XcbQpa.so.6 (0x00007f9d)
\tlibxcb-cursor.so.0 => not found
\tlibxcb-icccm.so.4 => not found
\tlibxcb.so.1 => /lib/x86_64-linux-gnu/libxcb.so.1 (0x00007f9d)
\tlibxcb-icccm.so.4 => not found
\tlibsomething-new.so.2 => not found
"""


class FakeLdd:
    """Stands in for `ldd`, printing the given output and remembering that it ran."""

    def __init__(self, stdout: str = "", error: Exception | None = None) -> None:
        self.stdout, self.error, self.calls = stdout, error, 0

    def __call__(self, command, **kwargs) -> subprocess.CompletedProcess:
        self.calls += 1
        if self.error:
            raise self.error
        return subprocess.CompletedProcess(command, 0, self.stdout, "")


@pytest.fixture()
def ldd(monkeypatch, tmp_path):
    plugin = tmp_path / "libqxcb.so"
    plugin.write_bytes(b"")
    monkeypatch.setattr(platform_check, "xcb_plugin", lambda: plugin)
    fake = FakeLdd(LDD_MISSING)
    monkeypatch.setattr(platform_check.subprocess, "run", fake)
    return fake


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the xcb plugin is Linux's")
def test_the_app_without_a_display_exits_2_with_one_sentence(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    result = subprocess.run([sys.executable, "main.py", "--quit"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=120)
    assert (result.returncode, result.stderr.splitlines()) == (2, [
        "error: no display found (DISPLAY is not set): start the app in a desktop session, "
        "or set QT_QPA_PLATFORM=offscreen for a scripted run"])


def test_missing_xcb_libraries_are_named_with_their_debian_packages(ldd):
    problem = qt_platform_problem({"DISPLAY": ":0"}, "linux")
    assert problem == (
        "Qt cannot open a window because the system lacks libxcb-cursor.so.0, libxcb-icccm.so.4, "
        "libsomething-new.so.2: install them (Debian/Ubuntu: sudo apt install libxcb-cursor0 libxcb-icccm4 "
        "libsomething-new.so.2; the README lists the system packages)")
    assert "\n" not in problem


@pytest.mark.parametrize("environ", [{"DISPLAY": ":0"}, {"DISPLAY": ":0", "QT_QPA_PLATFORM": "xcb"},
                                     {"DISPLAY": ":0", "QT_QPA_PLATFORM": "xcb:nograb;wayland"}])
def test_xcb_is_checked_when_asked_for_or_by_default_outside_wayland(ldd, environ):
    assert qt_platform_problem(environ, "linux").startswith("Qt cannot open a window")


def test_an_x_display_with_every_library_is_fine(ldd):
    ldd.stdout = "\tlibxcb.so.1 => /lib/x86_64-linux-gnu/libxcb.so.1 (0x00007f9d)\n"
    assert qt_platform_problem({"DISPLAY": ":0"}, "linux") is None


def test_without_ldd_there_is_no_verdict_and_qt_has_its_say(ldd):
    ldd.error = FileNotFoundError("ldd")
    assert qt_platform_problem({"DISPLAY": ":0"}, "linux") is None
    assert ldd.calls == 1


@pytest.mark.parametrize("environ, platform", [
    ({"QT_QPA_PLATFORM": "offscreen"}, "linux"),
    ({"QT_QPA_PLATFORM": "wayland"}, "linux"),
    ({"WAYLAND_DISPLAY": "wayland-0"}, "linux"),
    ({}, "darwin"),
    ({}, "win32"),
])
def test_other_platforms_are_left_to_qt(ldd, environ, platform):
    assert qt_platform_problem(environ, platform) is None
    assert ldd.calls == 0


@pytest.mark.parametrize("environ", [{}, {"QT_QPA_PLATFORM": "xcb", "WAYLAND_DISPLAY": "wayland-0"}])
def test_xcb_without_an_x_display_is_one_sentence(ldd, environ):
    assert qt_platform_problem(environ, "linux").startswith("no display found (DISPLAY is not set): ")
    assert ldd.calls == 0


@pytest.mark.skipif(not (sys.platform.startswith("linux") and shutil.which("ldd")), reason="needs Linux's ldd")
def test_every_display_library_the_real_plugin_needs_has_a_package_name():
    plugin = platform_check.xcb_plugin()
    output = subprocess.run(["ldd", str(plugin)], capture_output=True, text=True, timeout=30).stdout
    needed = {line.split()[0] for line in output.splitlines() if "=>" in line}
    display = {name for name in needed if name.startswith(("libxcb", "libX", "libxkb", "libGL", "libEGL"))}
    assert display and display <= DEBIAN_PACKAGES.keys()
