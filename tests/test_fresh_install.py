"""A fresh install passes its own tests. requirements.txt has everything the app needs: each
third-party module imported under desktop/ (at module level or inside a function) comes from a
distribution that requirements.txt names itself, since a dependency of a dependency can vanish in
any upgrade, and so does each module a library needs for us without our code importing it. And the
tests never touch the user's log, settings or caches."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from importlib.metadata import packages_distributions
from importlib.util import find_spec
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIRST_PARTY = {"desktop"}
# Needed at run time, but imported by a library rather than by our code, so no import names them.
RUNTIME_ONLY = {
    "scipy": "transformers' VitPoseImageProcessor calls scipy.ndimage.affine_transform when pose "
    "detection (desktop/conditions/preprocessors/neural.py) maps keypoints back to the photo; "
    "without scipy it fails with NameError: name 'affine_transform' is not defined",
}


def _normalise(name: str) -> str:
    """PEP 503 names: `PySide6_Essentials` and `pyside6-essentials` are one distribution."""
    return re.sub(r"[-_.]+", "-", name).lower()


def listed_requirements(path: Path = ROOT / "requirements.txt") -> set[str]:
    names = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            names.add(_normalise(re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", line).group()))
    return names


def imported_modules(folder: Path) -> dict[str, set[str]]:
    """Top-level name of every absolute import in the folder's Python files -> the files."""
    found: dict[str, set[str]] = {}
    for file in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"), str(file))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name.split(".")[0], set()).add(file.relative_to(folder).as_posix())
    return found


def test_the_import_walk_sees_function_level_optional_and_nested_imports(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "mod.py").write_text(
        "import os.path\nfrom . import sibling\n"
        "def memory():\n    try:\n        import psutil\n    except ImportError:\n        pass\n"
        "class Model:\n    def load(self):\n        from transformers.models import vitpose\n"
    )
    assert imported_modules(tmp_path) == {"os": {"pkg/mod.py"}, "psutil": {"pkg/mod.py"},
                                          "transformers": {"pkg/mod.py"}}


def test_every_import_under_desktop_comes_from_a_listed_requirement():
    listed = listed_requirements()
    providers = packages_distributions()
    unlisted = {}
    for module, files in imported_modules(ROOT / "desktop").items():
        if module in sys.stdlib_module_names or module in FIRST_PARTY:
            continue
        distributions = {_normalise(name) for name in providers.get(module, [])}
        if not distributions & listed:
            unlisted[module] = (sorted(distributions) or "installed by nothing", sorted(files)[0])
    assert unlisted == {}, f"imported but not in requirements.txt (module: (distribution, first file)): {unlisted}"


def test_runtime_only_needs_are_listed_and_installed():
    listed = listed_requirements()
    assert {name for name in RUNTIME_ONLY if _normalise(name) not in listed} == set()
    assert [name for name in RUNTIME_ONLY if find_spec(name) is None] == []


def test_the_log_and_the_app_data_are_in_the_runs_temp_folder(isolated_dirs):
    from desktop.logs import log_path
    from desktop.ui.paths import app_data_dir

    assert log_path().is_relative_to(isolated_dirs)
    assert app_data_dir().is_relative_to(isolated_dirs)


def test_a_cli_run_logs_into_the_temp_folder_and_writes_nothing_in_home(tmp_path, isolated_dirs):
    from desktop.logs import log_path

    home = tmp_path / "home"
    home.mkdir()
    before = log_path().stat().st_size if log_path().exists() else 0
    result = subprocess.run(
        [sys.executable, "main.py", "render", str(tmp_path / "missing.json"), "-o", str(tmp_path / "out.png")],
        cwd=ROOT, env={**os.environ, "HOME": str(home)}, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert log_path().stat().st_size > before
    assert sorted(path.relative_to(home).as_posix() for path in home.rglob("*")) == []


def test_ci_runs_the_readmes_test_command_in_a_fresh_environment():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    command = readme.split("## Run the tests", 1)[1].split("```")[1].strip()
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert command.startswith("python3 -m venv .venv && ") and command in script
    assert "rm -rf .venv" in script[: script.index(command)]
