"""Start the built bundle the way a user would and make it generate once.

`python packaging/smoke_test.py [BUNDLE_DIR]` runs the bundled executable with
`--open <example project> --generate --screenshot OUT.png --quit`, checks the exit code and the
screenshot, and reports the time to the first painted window. Not part of CI (it needs a build).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "resources" / "examples" / "example.cnstudio"


def main() -> int:
    bundle = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "dist" / "ControlNetStudio"
    executable = bundle / ("ControlNetStudio.exe" if os.name == "nt" else "ControlNetStudio")
    if not executable.exists():
        print(f"no bundle at {executable}; run python packaging/build.py first", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as home:
        shot = Path(home) / "smoke.png"
        env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen"), "HOME": home,
               "XDG_DATA_HOME": f"{home}/data", "XDG_CONFIG_HOME": f"{home}/config", "XDG_STATE_HOME": f"{home}/state",
               "CNS_REPORT_STARTUP": "1"}
        started = time.perf_counter()
        result = subprocess.run([str(executable), "--open", str(EXAMPLE), "--generate", "--screenshot", str(shot),
                                 "--quit", "--device", "cpu"], env=env, capture_output=True, text=True, timeout=900)
        seconds = time.perf_counter() - started
        painted = re.search(r"first paint after (\d+) ms", result.stderr)
        ok = result.returncode == 0 and shot.exists() and shot.stat().st_size > 10_000
        print(f"exit {result.returncode}, screenshot {'ok' if ok else 'missing'}, whole run {seconds:.1f} s, "
              f"first painted window {painted.group(1) + ' ms' if painted else 'not reported'}")
        if not ok:
            print(result.stderr[-3000:], file=sys.stderr)
        if painted is None or not (Path(bundle) / "_internal" / "resources").exists():
            ok = ok and painted is not None
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
