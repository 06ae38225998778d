"""Starting the app: theme, settings, the main window, recovery, and the scripted
`--generate --screenshot --quit` mode used for docs and smoke tests (desktop/ui/scripted.py)."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from desktop.domain import heap
from desktop.domain.app_settings import load_settings
from desktop.domain.atomic import check_output_file
from desktop.domain.errors import InvalidProject, InvalidRecipe

from .main_window import MainWindow
from .paths import APP_NAME, ORG_NAME, recovery_dir, settings_file
from .recovery import newest_orphan
from .scripted import EXIT_FAILED, ScriptedRun
from .theme import apply_theme


SETTLE_AFTER_MS = 1000  # after the first paint, not before it
ICONS = Path(__file__).resolve().parents[2] / "resources" / "icons"


def create_app(argv: list[str] | None = None) -> QApplication:
    app = QApplication.instance() or QApplication(argv or sys.argv[:1])
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(ORG_NAME)
    app.setDesktopFileName("controlnet-studio")
    icon = QIcon()
    for png in sorted(ICONS.glob("controlnet-studio-*.png")):
        icon.addFile(str(png))
    app.setWindowIcon(icon)
    apply_theme(app)
    return app


class _FirstPaint(QObject):
    """Prints the time from start to the first painted window (CNS_REPORT_STARTUP=1)."""

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.Paint:
            import desktop

            print(f"first paint after {(time.perf_counter() - desktop.STARTED) * 1000:.0f} ms", file=sys.stderr)
            watched.removeEventFilter(self)
        return False


def build_window(device: str = "auto", precision: str | None = None,
                 compile_models: bool | None = None) -> MainWindow:
    """`precision` and `compile_models` (the command line's) hold for this session; the settings file keeps its own."""
    loaded = load_settings(settings_file())
    window = MainWindow(loaded.settings, device if device != "auto" else loaded.settings.device, precision,
                        compile_models)
    if loaded.notice:
        window.statusBar().showMessage(loaded.notice, 15000)
    return window


def offer_recovery(window: MainWindow) -> bool:
    """Offer the newest work left by a session that is gone (a crash, a kill); files of sessions
    still running are never offered or touched. Restoring keeps it marked unsaved."""
    found = newest_orphan(recovery_dir())
    if found is None:
        return False
    answer = window.dialogs.ask_restore_recovery()
    if answer is None:
        found.release()
        return False
    if not answer:
        found.remove()
        return False
    try:
        work = found.load()
    except InvalidProject as err:
        aside = found.set_aside()
        window.dialogs.error("Cannot restore",
                             f"The unsaved work could not be restored ({err}); it was kept as {aside}.")
        return False
    window.files.restore_recovered(work, found)
    return True


def launch_app(args: argparse.Namespace) -> int:
    if args.screenshot:
        try:
            check_output_file(args.screenshot, ".png", "screenshot")
        except InvalidRecipe as err:
            print(f"error: {err}", file=sys.stderr)
            return EXIT_FAILED
    app = create_app()
    window = build_window(args.device, args.precision, False if args.no_compile else None)
    window.restore_geometry()
    scripted = args.generate or args.screenshot or args.quit
    run = ScriptedRun(window, args) if scripted else None
    project = args.open_project or args.project
    if project:
        window.files.open_project(project, ask=False)
    elif not scripted:
        offer_recovery(window)  # a scripted run never asks, and leaves other sessions' files alone
    if os.environ.get("CNS_REPORT_STARTUP"):
        window._first_paint = _FirstPaint(window)
        window.installEventFilter(window._first_paint)
    window.show()
    # the app's own objects live as long as it does: out of the collector's walks, once the window is up
    QTimer.singleShot(SETTLE_AFTER_MS, heap.settle)
    if run is not None:
        run.start()
    return app.exec()
