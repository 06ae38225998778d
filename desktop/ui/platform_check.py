"""Qt aborts the whole process ("Could not load the Qt platform plugin xcb", core dumped) when
its platform plugin cannot start, so before any QApplication exists we find out why it would fail
and say it in one sentence. No QtGui or QtWidgets here: importing them may already need the
missing libraries."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

# The libraries Qt's xcb platform plugin loads (ldd on PySide6 6.12's libqxcb.so) -> Debian/Ubuntu package.
DEBIAN_PACKAGES = {
    "libxcb.so.1": "libxcb1",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libX11.so.6": "libx11-6",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libXau.so.6": "libxau6",
    "libXdmcp.so.6": "libxdmcp6",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libGL.so.1": "libgl1",
    "libGLX.so.0": "libglx0",
    "libGLdispatch.so.0": "libglvnd0",
    "libEGL.so.1": "libegl1",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
    "libdbus-1.so.3": "libdbus-1-3",
}
_NOT_FOUND = re.compile(r"^\s*(\S+)\s+=>\s+not found\s*$", re.MULTILINE)


def uses_xcb(environ: Mapping[str, str], platform: str) -> bool:
    """Whether Qt will pick its xcb (X11) plugin: on Linux, asked for or by default outside Wayland."""
    if not platform.startswith("linux"):
        return False
    requested = environ.get("QT_QPA_PLATFORM", "").split(";")[0].split(":")[0].strip()
    return requested == "xcb" or (not requested and not environ.get("WAYLAND_DISPLAY"))


def xcb_plugin() -> Path:
    from PySide6.QtCore import QLibraryInfo

    return Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath)) / "platforms" / "libqxcb.so"


def missing_libraries(plugin: Path) -> list[str]:
    """The shared libraries the plugin needs that the system lacks; none when ldd cannot tell."""
    try:
        result = subprocess.run(["ldd", str(plugin)], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return []
    return list(dict.fromkeys(_NOT_FOUND.findall(result.stdout)))


def qt_platform_problem(environ: Mapping[str, str] | None = None, platform: str | None = None) -> str | None:
    """One sentence saying why Qt could not open a window here, or None when it should (or we cannot tell)."""
    environ = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    if not uses_xcb(environ, platform):
        return None
    if not environ.get("DISPLAY"):
        return ("no display found (DISPLAY is not set): start the app in a desktop session, "
                "or set QT_QPA_PLATFORM=offscreen for a scripted run")
    plugin = xcb_plugin()
    if not plugin.is_file():
        return None
    missing = missing_libraries(plugin)
    if not missing:
        return None
    packages = " ".join(dict.fromkeys(DEBIAN_PACKAGES.get(name, name) for name in missing))
    return (f"Qt cannot open a window because the system lacks {', '.join(missing)}: "
            f"install them (Debian/Ubuntu: sudo apt install {packages}; the README lists the system packages)")
