"""The bench's weight-drag figure runs in the app's own window and leaves nothing behind (its speed
is judged by the bench, never by a timed assertion here)."""

from __future__ import annotations

import math

from PySide6.QtCore import QStandardPaths

from desktop.bench.models import BenchModels
from desktop.bench.weight_drag import LAYERS, STROKES, bench_document, weight_drag_stall


def test_the_weight_drag_figure_drags_a_slider_through_a_generation(tiny_models, qapp, app_files, monkeypatch):
    looked_up: list[bool] = []  # whether Qt's test locations were on each time the window asked for its folder

    def app_data_dir():
        looked_up.append(QStandardPaths.isTestModeEnabled())
        return app_files

    monkeypatch.setattr("desktop.ui.paths.app_data_dir", app_data_dir)
    nets = [str(tiny_models.controlnet), str(tiny_models.controlnet2), str(tiny_models.controlnet)]
    models = BenchModels("tiny", str(tiny_models.base), nets, 64)
    document = bench_document(models, 64, 2)
    assert len(document.layers) == LAYERS and all(len(layer.operations) == STROKES for layer in document.layers)
    figure = weight_drag_stall(models, 64, 2, "cpu", compile_models=False, min_moves=5, max_seconds=60)
    assert math.isfinite(figure["max"]) and figure["ticks"] > 1 and figure["runs"] >= 1
    assert figure["moves"] >= 5 and figure["weight"] != 1.0, "the slider moved the layer's weight"
    assert not QStandardPaths.isTestModeEnabled(), "Qt's file locations are back as they were"
    assert looked_up and all(looked_up), "the bench's window keeps its settings and recovery files out of the user's"
