"""Where the app keeps its files: the platform's usual places (QStandardPaths), never beside
the executable."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QStandardPaths

APP_NAME = "ControlNet Studio"
ORG_NAME = ""  # app data in <data dir>/ControlNet Studio, not <data dir>/<org>/<app>


def app_data_dir() -> Path:
    location = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    path = Path(location or Path.home() / ".controlnet-studio")
    path.mkdir(parents=True, exist_ok=True)
    return path


def settings_file() -> Path:
    return app_data_dir() / "settings.json"


def recovery_dir() -> Path:
    """One recovery file per session lives here (desktop/ui/recovery.py)."""
    path = app_data_dir() / "recovery"
    path.mkdir(exist_ok=True)
    return path
