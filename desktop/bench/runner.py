"""Runs every figure, prints a table and writes JSON."""

from __future__ import annotations

import json
import os
import platform
import resource
import shutil
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import torch

from desktop.domain.atomic import write_text_atomic
from desktop.engine.device import DeviceChoice, choose_device
from desktop.engine.fast_path import FastPathOptions
from desktop.engine.model_cache import ModelCache

from .engine_figures import engine_figures
from .models import LoadedModels, prepare_models

T = TypeVar("T")
TARGETS = {"fast_vs_diffusers": 2.0, "fast_vs_diffusers_same_precision": 1.15, "loop_vs_diffusers": 1.02,
           "preview_overhead": 1.03, "inactive_vs_1": 1.03}


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
              say=print, precision: str = "auto", compile_models: bool = True, engine_only: bool = False,
              diffusers_compiled: bool = False) -> dict:
    """Every figure on one device: the plain side in diffusers' default precision there (float32 on a CPU,
    float16 on a GPU), the fast side in `precision`; compiled code goes to a fresh folder, so the cold
    compile figure is a first start's."""
    fast_device = choose_device(device_name, precision)
    plain_device = DeviceChoice(fast_device.device, torch.float32 if fast_device.device.type == "cpu" else torch.float16)
    if fast_device.device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    compile_dir = Path(tempfile.mkdtemp(prefix="cns-bench-compiled-"))  # the app's worker below compiles here too
    options = FastPathOptions(compile=compile_models, cache_dir=compile_dir)

    def engine_part() -> tuple:
        models = prepare_models(model, Path(workdir) if workdir else None, size)
        say(f"bench: {models.name} at {models.size} x {models.size}, {steps} steps, {repeats} rounds on "
            f"{fast_device.label} (plain side: {plain_device.label})")
        started = time.perf_counter()
        plain, fast = _load(models, ModelCache(plain_device)), _load(models, ModelCache(fast_device, options))
        load_s = time.perf_counter() - started
        return models, load_s, engine_figures(plain, fast, models.size, steps, repeats, diffusers_compiled, say)

    try:
        models, load_s, figures = on_own_thread(engine_part)
        size = models.size
        if not engine_only:
            from .ui_figures import ui_figures  # needs Qt, which the GPU machine lacks

            figures.update(ui_figures(models, size, steps, device_name, repeats, precision, compile_models))
    finally:
        shutil.rmtree(compile_dir, ignore_errors=True)
    if fast_device.device.type == "cuda":
        figures["peak_memory_mb"] = torch.cuda.max_memory_allocated() / 2**20
    else:
        figures["peak_memory_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"model": models.name, "size": size, "steps": steps, "repeats": repeats, "device": fast_device.label,
            "plain_device": plain_device.label, "compile": compile_models, "load_seconds": load_s,
            "machine": machine(), "figures": figures}


def _load(models, cache: ModelCache) -> LoadedModels:
    base = cache.base(models.base)
    return LoadedModels(base, [cache.controlnet(path) for path in models.controlnets], cache.fast)


def table(result: dict) -> str:
    f = result["figures"]
    c = f["conditions_1_2_3_ms"]
    speed = f["speed_step_ms"]
    compile_s, first = f["compile_seconds"], f["first_image_seconds"]

    def rounds(key: str) -> str:
        return "rounds " + " ".join(f"{r:.3f}" for r in f[key + "_rounds"])

    compiled = "compiled" if f["fast_compiled"] else "not compiled: " + ("; ".join(f["fast_notices"]) or "off or small model")
    rows = [
        ("fast_vs_diffusers", f"{f['fast_vs_diffusers']:.3f}", f"x faster: diffusers {speed['diffusers']:.1f} ms ({result['plain_device']}) / fast {speed['fast']:.1f} ms per step ({compiled}); {rounds('fast_vs_diffusers')}", ">= 2.0"),
        ("fast_vs_diffusers_same_precision", f"{f['fast_vs_diffusers_same_precision']:.3f}", f"x faster: diffusers {speed['diffusers_same_precision']:.1f} ms in our precision and layout, eager; {rounds('fast_vs_diffusers_same_precision')}", ">= 1.15"),
    ]
    if "diffusers_compiled" in speed:
        rows.append(("diffusers_compiled_ms", f"{speed['diffusers_compiled']:.1f}", "diffusers' pipeline with its UNet and ControlNet under torch.compile", ""))
    rows += [
        ("fast_psnr_db", f"{f['fast_psnr_db']:.1f}", "the fast path's final image against the plain path's (PSNR)", ""),
        ("compile_seconds", f"cold {compile_s['cold']:.1f}, from disk {compile_s['from_disk_cache']:.1f}", f"first image cold {first['cold']:.1f} s, from disk cache {first['from_disk_cache']:.1f} s, warm {first['warm']:.2f} s (2 steps)", ""),
        ("loop_vs_diffusers", f"{f['loop_vs_diffusers']:.3f}", f"time ratio, both plain: ours {f['ours_step_ms']:.1f} ms / diffusers {f['diffusers_step_ms']:.1f} ms per step; {rounds('loop_vs_diffusers')}", "<= 1.02"),
        ("preview_overhead", f"{f['preview_overhead']:.3f}", f"fast path, preview every step / none; {rounds('preview_overhead')}", "<= 1.03"),
        ("preview_cost_ms", f"{f['preview_cost_ms']:.2f}", f"inside the previewer per step: {f['preview_cost_share']:.2%} of a step", ""),
        ("conditions_1_2_3", f"{c['1']:.1f} / {c['2']:.1f} / {c['3']:.1f} ms", f"fast path, per step with 1, 2, 3 active; 3 = {f['three_vs_one']:.2f} x one", ""),
        ("3 with 2 inactive", f"{c['3_with_2_inactive']:.1f} ms", f"{f['inactive_vs_1']:.3f} x one condition; {rounds('inactive_vs_1')}", "<= 1.03"),
    ]
    if "first_preview_ms" in f:
        rows += [
            ("first_preview_ms", f"{f['first_preview_ms']:.0f}", "request to first preview, warm worker", "~ one step"),
            ("ui_stall_ms", f"max {f['ui_stall_ms']['max']:.1f}, p99 {f['ui_stall_ms']['p99']:.1f}", "10 ms UI timer gaps while generating", "max < 50"),
        ]
    if "weight_drag_stall_ms" in f:
        d = f["weight_drag_stall_ms"]
        note = (f"10 ms UI timer gaps in the app's window while a weight slider is dragged during a generation, "
                f"{d['layers']} layers x {d['strokes_per_layer']} strokes; {d['moves']} moves over {d['runs']} run(s), "
                f"a move costs the UI thread {d['move_ms_median']:.2f} ms (max {d['move_ms_max']:.1f})")
        rows.append(("weight_drag_stall_ms", f"max {d['max']:.1f}, p99 {d['p99']:.1f}", note, "max < 30"))
    rows.append(("peak_memory_mb", f"{f['peak_memory_mb']:.0f}", "process peak (CPU) / device peak (CUDA)", ""))
    width = max(len(r[0]) for r in rows)
    lines = [f"{result['model']} {result['size']}x{result['size']}, {result['steps']} steps, {result['device']}",
             f"{'figure'.ljust(width)}  value  ({'note'}; target)"]
    lines += [f"{name.ljust(width)}  {value}  ({note}{'; ' + target if target else ''})" for name, value, note, target in rows]
    return "\n".join(lines)


def write_json(result: dict, path: str) -> None:
    write_text_atomic(path, json.dumps(result, indent=2))
