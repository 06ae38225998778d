"""Starting the app: theme, settings, the main window, recovery, and the scripted
`--generate --screenshot --quit` mode used for docs and smoke tests."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from desktop.domain.app_settings import load_settings
from desktop.domain.project import load_project

from .main_window import MainWindow
from .paths import APP_NAME, ORG_NAME, recovery_file, settings_file
from .theme import apply_theme


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


def build_window(device: str = "auto") -> MainWindow:
    loaded = load_settings(settings_file())
    window = MainWindow(loaded.settings, device if device != "auto" else loaded.settings.device)
    if loaded.notice:
        window.statusBar().showMessage(loaded.notice, 15000)
    return window


def offer_recovery(window: MainWindow) -> bool:
    """After a crash the recovery file is there: offer it; restoring keeps it marked unsaved."""
    path = recovery_file()
    if not path.exists():
        return False
    if not window.dialogs.ask_restore_recovery():
        path.unlink(missing_ok=True)
        return False
    try:
        loaded = load_project(path)
    except Exception as err:  # noqa: BLE001 - a damaged recovery file must not stop the app
        window.dialogs.error("Cannot restore", f"The recovery file could not be read ({err}).")
        return False
    window._take(loaded.document, None)
    window.document.dirty = True
    window._update_title()
    return True


def launch_app(args: argparse.Namespace) -> int:
    app = create_app()
    window = build_window(args.device)
    window.restore_geometry()
    project = args.open_project or args.project
    if project:
        window.open_project(project, ask=False)
    elif not (args.generate or args.screenshot or args.quit):
        offer_recovery(window)  # scripted runs never stop on a question; the file waits for the next start
    if os.environ.get("CNS_REPORT_STARTUP"):
        window._first_paint = _FirstPaint(window)
        window.installEventFilter(window._first_paint)
    window.show()
    if args.generate or args.screenshot:
        _script(window, args)
    return app.exec()


def _script(window: MainWindow, args: argparse.Namespace) -> None:
    """Generate once, screenshot when done, quit: the exit code says whether it worked."""
    app = QApplication.instance()

    def finish(code: int) -> None:
        if args.screenshot:
            app.processEvents()
            window.grab().save(str(Path(args.screenshot)))
        if args.quit:
            window.close_without_asking()
            app.exit(code)

    def on_error(kind: str, message: str) -> None:
        print(f"error: {message}", file=sys.stderr)
        if args.quit:
            window.close_without_asking()
            app.exit(2)

    if args.generate:
        window.controller.result_ready.connect(lambda _result: QTimer.singleShot(50, lambda: finish(0)))
        window.dialogs.error = lambda title, message: None
        window.controller.error.connect(on_error)
        QTimer.singleShot(100, window.generate)
    else:
        QTimer.singleShot(300, lambda: finish(0))
