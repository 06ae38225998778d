"""Runs every figure, prints a table and writes JSON."""

from __future__ import annotations

import json
import os
import platform
import resource
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import torch

from desktop.domain.atomic import write_text_atomic
from desktop.engine.device import choose_device
from desktop.engine.model_cache import ModelCache

from .engine_figures import engine_figures
from .models import prepare_models
from .ui_figures import ui_figures

T = TypeVar("T")
TARGETS = {"loop_vs_diffusers": 1.02, "preview_overhead": 1.03, "inactive_vs_1": 1.03}


def machine() -> dict:
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {"cpu": cpu, "cores": os.cpu_count(), "torch": torch.__version__, "torch_threads": torch.get_num_threads()}
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def on_own_thread(work: Callable[[], T]) -> T:
    """Run `work` on a thread that then ends. torch's OpenMP runtime gives every OS thread that
    computes a worker team of its own, and while two teams live, libgomp stops spinning and small
    ops run about twice as slow; the app computes only on its worker thread, so the bench leaves
    no team behind on the main thread before measuring that worker."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="bench-engine") as pool:  # joined on exit
        return pool.submit(work).result()


def run_bench(model: str, device_name: str, size: int | None, steps: int, repeats: int, workdir: str | None,
              say=print) -> dict:
    device = choose_device(device_name)
    if device.device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()

    def engine_part() -> tuple:
        models = prepare_models(model, Path(workdir) if workdir else None, size)
        say(f"bench: {models.name} at {models.size} x {models.size}, {steps} steps, {repeats} rounds on {device.label}")
        cache = ModelCache(device)
        started = time.perf_counter()
        base = cache.base(models.base)
        nets = [cache.controlnet(path) for path in models.controlnets]
        load_s = time.perf_counter() - started
        return models, load_s, engine_figures(base, nets, models.size, steps, repeats)

    models, load_s, figures = on_own_thread(engine_part)
    size = models.size
    figures.update(ui_figures(models, size, steps, device_name, repeats))
    if device.device.type == "cuda":
        figures["peak_memory_mb"] = torch.cuda.max_memory_allocated() / 2**20
    else:
        figures["peak_memory_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"model": models.name, "size": size, "steps": steps, "repeats": repeats, "device": device.label,
            "load_seconds": load_s, "machine": machine(), "figures": figures}


def table(result: dict) -> str:
    f = result["figures"]
    c = f["conditions_1_2_3_ms"]
    def rounds(key: str) -> str:
        return "rounds " + " ".join(f"{r:.3f}" for r in f[key + "_rounds"])

    rows = [
        ("loop_vs_diffusers", f"{f['loop_vs_diffusers']:.3f}", f"ours {f['ours_step_ms']:.1f} ms / diffusers {f['diffusers_step_ms']:.1f} ms per step; {rounds('loop_vs_diffusers')}", "<= 1.02"),
        ("preview_overhead", f"{f['preview_overhead']:.3f}", f"preview every step / none; {rounds('preview_overhead')}", "<= 1.03"),
        ("preview_cost_ms", f"{f['preview_cost_ms']:.2f}", f"inside the previewer per step: {f['preview_cost_share']:.2%} of a step", ""),
        ("conditions_1_2_3", f"{c['1']:.1f} / {c['2']:.1f} / {c['3']:.1f} ms", "per step with 1, 2, 3 active", ""),
        ("3 with 2 inactive", f"{c['3_with_2_inactive']:.1f} ms", f"{f['inactive_vs_1']:.3f} x one condition; {rounds('inactive_vs_1')}", "<= 1.03"),
        ("first_preview_ms", f"{f['first_preview_ms']:.0f}", "request to first preview, warm worker", "~ one step"),
        ("ui_stall_ms", f"max {f['ui_stall_ms']['max']:.1f}, p99 {f['ui_stall_ms']['p99']:.1f}", "10 ms UI timer gaps while generating", "max < 50"),
        ("peak_memory_mb", f"{f['peak_memory_mb']:.0f}", "process peak (CPU) / device peak (CUDA)", ""),
    ]
    width = max(len(r[0]) for r in rows)
    lines = [f"{result['model']} {result['size']}x{result['size']}, {result['steps']} steps, {result['device']}",
             f"{'figure'.ljust(width)}  value  ({'note'}; target)"]
    lines += [f"{name.ljust(width)}  {value}  ({note}{'; ' + target if target else ''})" for name, value, note, target in rows]
    return "\n".join(lines)


def write_json(result: dict, path: str) -> None:
    write_text_atomic(path, json.dumps(result, indent=2))
