"""The shipped example recipe is valid; the benchmark runs end to end and reports every figure
(speed itself is judged by the benchmark, never by timed assertions here)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from desktop.cli import main
from desktop.domain.recipe import load_recipe_file

ROOT = Path(__file__).resolve().parents[1]


def test_example_recipe_is_valid_and_its_image_resolves():
    recipe = load_recipe_file(ROOT / "resources" / "examples" / "scribble_sd15.json")
    assert recipe.base_model == "stable-diffusion-v1-5/stable-diffusion-v1-5"
    assert Path(recipe.local_file(recipe.conditions[0].image, "image")).exists()


def test_bench_reports_every_figure(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert main(["bench", "--model", "tiny", "--steps", "3", "--repeats", "1", "--size", "64",
                 "--workdir", str(tmp_path / "models"), "--json", str(out)]) == 0
    figures = json.loads(out.read_text())["figures"]
    for key in ("loop_vs_diffusers", "preview_overhead", "inactive_vs_1", "first_preview_ms", "peak_memory_mb"):
        assert math.isfinite(figures[key]) and figures[key] > 0, key
    assert math.isfinite(figures["ui_stall_ms"]["max"]) and figures["ui_stall_ms"]["ticks"] > 0
    assert set(figures["conditions_1_2_3_ms"]) == {"1", "2", "3", "3_with_2_inactive"}
    assert "loop_vs_diffusers" in capsys.readouterr().out



class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _generation(name: str, clock: FakeClock, log: list, cost: float, steps: int, fail_at: int | None = None):
    def run(hook) -> None:
        clock.now += 100.0  # setup: never counted
        for step in range(steps):
            if step == fail_at:
                raise RuntimeError("out of memory")
            clock.now += cost
            log.append((name, step))
            hook()
        clock.now += 50.0  # decode: never counted
    return run


def test_lockstep_runs_one_step_each_in_turn_and_counts_only_the_turns(monkeypatch):
    from desktop.bench import lockstep as module

    clock, log = FakeClock(), []
    monkeypatch.setattr(module.time, "perf_counter", clock)
    seconds = module.lockstep({"a": _generation("a", clock, log, 2.0, 4), "b": _generation("b", clock, log, 3.0, 4)}, 4)
    assert log == [("a", 0), ("b", 0), ("a", 1), ("b", 1), ("b", 2), ("a", 2), ("a", 3), ("b", 3)]
    assert seconds == {"a": [2.0, 2.0, 2.0], "b": [3.0, 3.0, 3.0]}


def test_a_failing_generation_stops_the_comparison_without_hanging(monkeypatch):
    from desktop.bench import lockstep as module

    clock, log = FakeClock(), []
    monkeypatch.setattr(module.time, "perf_counter", clock)
    with pytest.raises(module.LockstepError, match="b failed: out of memory"):
        module.lockstep({"a": _generation("a", clock, log, 1.0, 5), "b": _generation("b", clock, log, 1.0, 5, 2)}, 5)
    assert ("a", 4) in log  # the other generation was let run to its end


def test_a_generation_with_fewer_steps_is_named():
    from desktop.bench import lockstep as module

    clock, log = FakeClock(), []
    with pytest.raises(module.LockstepError, match="b stopped after 3 of 4 steps"):
        module.lockstep({"a": _generation("a", clock, log, 1.0, 4), "b": _generation("b", clock, log, 1.0, 3)}, 4)
