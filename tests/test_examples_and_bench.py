"""The shipped example recipe is valid; the benchmark runs end to end and reports every figure
(speed itself is judged by the benchmark, never by timed assertions here)."""

from __future__ import annotations

import json
from pathlib import Path

from desktop.cli import main
from desktop.domain.recipe import load_recipe_file

ROOT = Path(__file__).resolve().parents[1]


def test_example_recipe_is_valid_and_its_image_resolves():
    recipe = load_recipe_file(ROOT / "resources" / "examples" / "scribble_sd15.json")
    assert recipe.base_model == "stable-diffusion-v1-5/stable-diffusion-v1-5"
    assert Path(recipe.resolve_path(recipe.conditions[0].image)).exists()


def test_bench_reports_every_figure(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert main(["bench", "--model", "tiny", "--steps", "3", "--repeats", "1", "--size", "32",
                 "--workdir", str(tmp_path / "models"), "--json", str(out)]) == 0
    figures = json.loads(out.read_text())["figures"]
    for key in ("loop_vs_diffusers", "preview_overhead", "conditions_1_2_3_ms", "inactive_vs_1", "first_preview_ms",
                "ui_stall_ms", "peak_memory_mb"):
        assert key in figures
    assert set(figures["conditions_1_2_3_ms"]) == {"1", "2", "3", "3_with_2_inactive"}
    assert "loop_vs_diffusers" in capsys.readouterr().out
