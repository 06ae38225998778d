"""App settings (recent files, device, window state) in a JSON file, read key by key.

A corrupt or empty file is moved aside with a timestamp and defaults load; a key with the
wrong type, an unknown key, or a file from a newer version falls back per key.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .atomic import write_text_atomic

SETTINGS_VERSION = 1
MAX_RECENT = 10
MAX_RECENT_MODELS = 8
PRECISION_CHOICES = ("auto", "float32", "bfloat16", "float16")  # auto: decided per device (engine/precision.py)


@dataclass
class AppSettings:
    recent_files: list[str] = field(default_factory=list)
    recent_models: list[str] = field(default_factory=list)  # base models picked, newest first
    device: str = "auto"
    precision: str = "auto"
    compile: bool = True  # the fast path compiles large models (the first run at a new size takes minutes on a CPU)
    preview_every: int = 1
    sharp_preview_every: int = 5
    live: bool = False
    window_geometry: str = ""
    lora_folder: str = ""  # where `<lora:name>` in a prompt finds name.safetensors; "" = none set

    def add_recent(self, path: str) -> None:
        self.recent_files = [path] + [p for p in self.recent_files if p != path]
        del self.recent_files[MAX_RECENT:]

    def add_recent_model(self, reference: str) -> None:
        self.recent_models = [reference] + [r for r in self.recent_models if r != reference]
        del self.recent_models[MAX_RECENT_MODELS:]


@dataclass
class LoadedSettings:
    settings: AppSettings
    notice: str = ""


_CHECKS = {
    "recent_files": lambda v: isinstance(v, list) and all(isinstance(p, str) for p in v),
    "recent_models": lambda v: isinstance(v, list) and all(isinstance(p, str) for p in v),
    "device": lambda v: v in ("auto", "cpu", "cuda", "mps"),
    "precision": lambda v: v in PRECISION_CHOICES,
    "compile": lambda v: isinstance(v, bool),
    "preview_every": lambda v: isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 100,
    "sharp_preview_every": lambda v: isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 100,
    "live": lambda v: isinstance(v, bool),
    "window_geometry": lambda v: isinstance(v, str),
    "lora_folder": lambda v: isinstance(v, str),
}


def load_settings(path: Path) -> LoadedSettings:
    if not path.exists():
        return LoadedSettings(AppSettings())
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("not an object")
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        aside = path.with_name(f"{path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}")
        try:
            path.replace(aside)
        except OSError:
            aside = path
        return LoadedSettings(AppSettings(), f"the settings file was damaged; it was moved to {aside.name} and defaults are used")
    settings = AppSettings()
    for f in fields(AppSettings):
        value: Any = data.get(f.name)
        if f.name in data and _CHECKS[f.name](value):
            setattr(settings, f.name, value)
    return LoadedSettings(settings)


def save_settings(settings: AppSettings, path: Path) -> None:
    data = {f.name: getattr(settings, f.name) for f in fields(AppSettings)}
    data["version"] = SETTINGS_VERSION
    write_text_atomic(path, json.dumps(data, indent=2))
