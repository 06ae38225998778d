"""Where compiled model code is kept between runs (the app and the CLI share it).

A cache by the platform's rules (XDG_CACHE_HOME): deleting it costs one slow first run per size,
nothing else. Kept apart from torch's default (/tmp), which a reboot empties.
"""

from __future__ import annotations

import os
from pathlib import Path


def compile_cache_dir() -> Path:
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return Path(root) / "controlnet-studio" / "compiled"
