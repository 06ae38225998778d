"""Build the one-folder bundle: `python packaging/build.py` -> dist/ControlNetStudio/.

Installs PyInstaller if it is missing, builds from the spec, and reports the bundle's size.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DIST = ROOT / "dist" / "ControlNetStudio"


def folder_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def main() -> int:
    if shutil.which("pyinstaller") is None:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "pyinstaller>=6.10"], check=True)
    command = [sys.executable, "-m", "PyInstaller", "--noconfirm", "--clean", "--distpath", str(ROOT / "dist"),
               "--workpath", str(ROOT / "build" / "pyinstaller"), str(ROOT / "packaging" / "controlnet_studio.spec")]
    result = subprocess.run(command, cwd=ROOT)
    if result.returncode != 0:
        print("build failed", file=sys.stderr)
        return result.returncode
    size = folder_size(DIST)
    print(f"bundle: {DIST} ({size / 2**20:,.0f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
