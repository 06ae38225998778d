"""Write resources/examples/example.cnstudio, the example project the smoke tests open."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from desktop.domain.project import save_project  # noqa: E402
from desktop.ui.example import example_document  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "resources" / "examples" / "example.cnstudio"

if __name__ == "__main__":
    save_project(example_document(), OUT)
    print(f"wrote {OUT}")
