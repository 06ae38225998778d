"""Imports run downward only (`.importlinter`): entry points, ui, workers, train, engine, conditions, hub,
domain; the UI reaches the engine only through workers; nothing beneath the workers imports Qt; the domain
imports neither torch nor image libraries. import-linter reads every import form (`import a.b`, relative
imports, imports inside functions), which the hand-written walker it replaces missed."""

from __future__ import annotations

from pathlib import Path

import pytest
from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / ".importlinter"


def _lint(config: Path, capsys) -> tuple[int, str]:
    code = lint_imports(config_filename=str(config), no_cache=True, no_logo=True)
    return code, capsys.readouterr().out


def test_the_project_keeps_its_import_contracts(monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    code, report = _lint(CONFIG, capsys)
    assert code == 0, report


# A package shaped like ours, checked against the same contracts: each bad import must be caught.
BAD_IMPORTS = {
    "qt_in_the_domain": ("domain/bad.py", "from PySide6.QtWidgets import QWidget\n", "PySide6"),
    "torch_in_the_domain": ("domain/bad.py", "def f():\n    import torch\n", "torch"),
    "relative_upward": ("conditions/bad.py", "from ..ui import window\n", "shadow.ui.window"),
    "dotted_upward": ("engine/bad.py", "import shadow.workers.jobs\n", "shadow.workers.jobs"),
    "ui_into_the_engine": ("ui/bad.py", "from shadow.engine import sampler\n", "shadow.engine.sampler"),
}


@pytest.mark.parametrize("case", sorted(BAD_IMPORTS))
def test_the_contracts_catch_a_bad_import(case, tmp_path, monkeypatch, capsys):
    package = tmp_path / "shadow"
    for layer in ("cli", "bench", "ui", "workers", "train", "engine", "conditions", "hub", "domain"):
        (package / layer).mkdir(parents=True)
        (package / layer / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "ui" / "window.py").write_text("")
    (package / "workers" / "jobs.py").write_text("")
    (package / "engine" / "sampler.py").write_text("")
    path, source, named = BAD_IMPORTS[case]
    (package / path).write_text(source)
    config = tmp_path / ".importlinter"
    config.write_text(CONFIG.read_text(encoding="utf-8").replace("desktop", "shadow"))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    code, report = _lint(config, capsys)
    assert code != 0 and f"shadow.{Path(path).parent}.bad" in report and named in report, report
