"""One log file per user: the detail behind every one-sentence error shown at the edge."""

from __future__ import annotations

import logging
import os
from pathlib import Path


def log_path() -> Path:
    root = os.environ.get("XDG_STATE_HOME") or os.path.join(Path.home(), ".local", "state")
    return Path(root) / "controlnet-studio" / "studio.log"


def setup_logging(verbose: bool = False) -> Path:
    path = log_path()
    handlers: list[logging.Handler] = []
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(path, encoding="utf-8"))
    except OSError:
        pass
    if verbose:
        handlers.append(logging.StreamHandler())
    logging.basicConfig(
        level=logging.INFO, handlers=handlers or [logging.NullHandler()], force=True,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    return path
