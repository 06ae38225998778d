"""Responsiveness measured in the app's own worker: time to the first preview on a warm worker,
and how long the UI thread's event loop stalls while a generation runs; then the same stall in the
app's window while the user drags a weight slider over three layers of 50 strokes (weight_drag.py)."""

from __future__ import annotations

import statistics
import time

import numpy as np
from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

from desktop.conditions.image_io import encode_png
from desktop.domain.recipe import Condition, Recipe
from desktop.workers.generation import GenerationController

from .engine_figures import control_image
from .weight_drag import weight_drag_stall


def _recipe(models, size: int, steps: int, seed: int) -> Recipe:
    return Recipe(prompt="a red circle on a blue background", seed=seed, steps=steps, width=size, height=size,
                  base_model=models.base, conditions=[Condition(
                      kind="scribble", image="bench.png", image_data=encode_png(control_image(size, 0)),
                      controlnet=models.controlnets[0])])


def _wait(controller: GenerationController, signal, timeout_s: float) -> None:
    """Until `signal`; a failed run raises, so no figure is ever made from a run that did not happen."""
    loop = QEventLoop()
    failures: list[str] = []
    signal.connect(loop.quit)
    controller.error.connect(lambda kind, message: (failures.append(message), loop.quit()))
    QTimer.singleShot(int(timeout_s * 1000), loop.quit)
    loop.exec()
    signal.disconnect(loop.quit)
    controller.error.disconnect()
    if failures:
        raise RuntimeError(f"a generation in the app's worker failed: {failures[0]}")


def ui_figures(models, size: int, steps: int, device: str, repeats: int = 3, precision: str = "auto",
               compile_models: bool = True) -> dict:
    app = QApplication.instance() or QApplication([])
    controller = GenerationController(device, precision=precision, compile_models=compile_models)
    try:
        controller.start(_recipe(models, size, steps, 0))  # warm: load models, fit preview map
        _wait(controller, controller.result_ready, 3600)
        first_ms = []
        for run in range(repeats):
            arrived: list[float] = []
            controller.preview_ready.connect(lambda *_: arrived.append(time.perf_counter()))
            started = time.perf_counter()
            controller.start(_recipe(models, size, steps, run + 1))
            _wait(controller, controller.result_ready, 3600)
            controller.preview_ready.disconnect()
            controller.preview_ready.connect(lambda *_: None)
            if arrived:
                first_ms.append((arrived[0] - started) * 1000)
        ticks: list[float] = []
        timer = QTimer(interval=10)
        timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
        timer.start()
        controller.start(_recipe(models, size, steps, 99))
        _wait(controller, controller.result_ready, 3600)
        timer.stop()
        gaps = np.diff(ticks) * 1000 if len(ticks) > 1 else np.array([float("nan")])
        app.processEvents()
        figures = {
            "first_preview_ms": statistics.median(first_ms) if first_ms else float("nan"),
            "ui_stall_ms": {"max": float(gaps.max()), "p99": float(np.percentile(gaps, 99)),
                            "ticks": int(len(ticks))},
        }
    finally:
        controller.shutdown()
    # the app's own window, with its own worker: this one's models are gone, so none are held twice
    figures["weight_drag_stall_ms"] = weight_drag_stall(models, size, steps, device, precision, compile_models)
    return figures
