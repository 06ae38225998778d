"""Imports run downward only: domain, conditions, engine and train never import Qt."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "desktop"
QT_FREE = ("domain", "conditions", "engine", "train")
NO_TORCH = ("domain",)


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0] if not node.module.startswith("desktop.") else node.module)
    return names


def _files(layer: str):
    return sorted((PACKAGE / layer).rglob("*.py"))


def test_lower_layers_never_import_qt():
    offenders = [
        str(f.relative_to(PACKAGE)) for layer in QT_FREE for f in _files(layer)
        if {"PySide6", "PyQt5", "PyQt6", "shiboken6"} & _imports(f)
    ]
    assert offenders == []


def test_domain_imports_neither_torch_nor_upper_layers():
    upper = ("desktop.engine", "desktop.conditions", "desktop.train", "desktop.workers", "desktop.ui")
    offenders = []
    for f in _files("domain"):
        names = _imports(f)
        if "torch" in names or any(n.startswith(upper) for n in names):
            offenders.append(str(f.relative_to(PACKAGE)))
    assert offenders == []


def test_engine_and_conditions_never_import_ui_or_workers():
    offenders = [
        str(f.relative_to(PACKAGE)) for layer in ("engine", "conditions", "train") for f in _files(layer)
        if any(n.startswith(("desktop.ui", "desktop.workers")) for n in _imports(f))
    ]
    assert offenders == []


def test_the_check_sees_a_violation(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from PySide6.QtWidgets import QWidget\nimport torch\n")
    assert {"PySide6", "torch"} <= _imports(bad)
