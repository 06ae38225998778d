"""tools/gpu_bench.sh, the one-call CUDA benchmark for a lent GPU machine, run here as its CPU dry run:
tiny model, the interpreter's own packages (--no-wheels), and Qt blocked as it is missing there, so
the run also proves that `bench --engine-only` never imports PySide6."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tools" / "gpu_bench.sh"

# Run in every Python process the script starts: no PySide6 (importing it, or any PySide6.*, raises),
# and a line per process at exit, to show the blocker was there in the bench itself.
BLOCK_QT = """\
import atexit, sys
sys.modules["PySide6"] = None

def _report():
    with open({marker!r}, "a") as f:
        f.write(" ".join(sys.argv) + " | PySide6 blocked: " + str(sys.modules.get("PySide6", "absent") is None) + "\\n")

atexit.register(_report)
"""

MAIN_ROWS = ("fast_vs_diffusers", "fast_vs_diffusers_same_precision", "compile_seconds", "loop_vs_diffusers",
             "preview_overhead", "conditions 1 / 2 / 3", "three_vs_one", "inactive_vs_1", "peak_memory_mb")


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_cpu_dry_run_writes_versions_json_and_table_without_qt(tmp_path):
    blocker, out = tmp_path / "noqt", tmp_path / "out"
    blocker.mkdir()
    marker = tmp_path / "processes.txt"
    (blocker / "sitecustomize.py").write_text(BLOCK_QT.format(marker=str(marker)))
    env = dict(os.environ, PYTHON=sys.executable, OUT=str(out),
               PYTHONPATH=os.pathsep.join(filter(None, [str(blocker), os.environ.get("PYTHONPATH")])))
    run = subprocess.run(
        ["bash", str(SCRIPT), "--device", "cpu", "--model", "tiny", "--size", "64", "--steps", "2", "--repeats", "1",
         "--precision", "float32", "--threads", "1", "--no-compile", "--no-diffusers-compiled", "--no-wheels"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert f"results in {out}" in run.stdout

    bench_lines = [line for line in marker.read_text().splitlines() if "main.py bench" in line]
    assert bench_lines and all(line.endswith("PySide6 blocked: True") for line in bench_lines), marker.read_text()
    assert "--engine-only" in bench_lines[0]

    result = json.loads((out / "bench.json").read_text())
    assert (result["model"], result["size"], result["steps"], result["repeats"]) == ("tiny", 64, 2, 1)
    figures = result["figures"]
    assert "first_preview_ms" not in figures  # --engine-only: no app worker, no UI figures
    speed = figures["speed_step_ms"]
    assert set(speed) == {"fast", "diffusers", "diffusers_same_precision"}
    for name in ("fast_vs_diffusers", "fast_vs_diffusers_same_precision", "loop_vs_diffusers", "preview_overhead",
                 "three_vs_one", "inactive_vs_1", "peak_memory_mb", *(f"speed_step_ms.{k}" for k in speed),
                 *(f"conditions_1_2_3_ms.{k}" for k in ("1", "2", "3", "3_with_2_inactive"))):
        value = figures
        for part in name.split("."):
            value = value[part]
        assert math.isfinite(value) and value > 0, (name, value)

    versions = (out / "versions.txt").read_text()
    for line in ("torch: ", "diffusers: ", "transformers: ", "python: ", "nvidia-smi: ", "wheels: skipped (--no-wheels)"):
        assert line in versions, line
    assert "bench: tiny at 64 x 64" in (out / "bench_log.txt").read_text()

    table = (out / "table.md").read_text()
    assert "| figure | value | note | target | met |" in table
    for row in MAIN_ROWS:
        assert f"\n| {row} | " in table, row
    assert f"| {figures['fast_vs_diffusers']:.3f} x |" in table
    assert "--model tiny --size 64 --steps 2 --repeats 1" in table
    assert "- torch: " in table and "- diffusers: " in table and "- transformers: " in table


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_unknown_argument_is_refused_before_anything_runs(tmp_path):
    run = subprocess.run(["bash", str(SCRIPT), "--bogus"], cwd=tmp_path, capture_output=True, text=True,
                         env=dict(os.environ, OUT=str(tmp_path / "out")), timeout=60)
    assert run.returncode == 2 and "unknown argument: --bogus" in run.stderr
    assert not (tmp_path / "out").exists()
