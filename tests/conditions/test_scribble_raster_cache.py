"""A layer's strokes are rasterised once, by content: the cached raster is the very mask a full
replay draws, a new stroke draws only itself, and the cache keeps within its budget."""

from __future__ import annotations

import numpy as np
import pytest

from desktop.conditions import scribble
from desktop.conditions.image_io import read_image
from desktop.conditions.layer_images import (
    control_image,
    control_images_png,
    inpaint_mask,
)
from desktop.conditions.scribble import (
    _RasterCache,
    layer_raster,
    mask_to_control,
    rasterize,
)
from desktop.domain.layers import Fill, ImageLayer, ScribbleLayer, Stroke


def _operations(seed: int, count: int, size: int) -> list:
    rng = np.random.default_rng(seed)
    ops = []
    for i in range(count):
        if i % 7 == 6:
            ops.append(Fill(*rng.uniform(0, size, 2), erase=bool(rng.integers(2))))
            continue
        points = tuple((float(x), float(y), float(p)) for x, y, p in
                       zip(rng.uniform(-4, size + 4, 6), rng.uniform(-4, size + 4, 6), rng.uniform(0.1, 1, 6)))
        ops.append(Stroke(points, float(rng.uniform(1, 12)), erase=i % 5 == 4))
    return ops


@pytest.fixture()
def drawn(monkeypatch) -> list:
    scribble.clear_raster_cache()
    ops: list = []
    original = scribble.draw_operation
    monkeypatch.setattr(scribble, "draw_operation", lambda mask, op: (ops.append(op), original(mask, op)))
    yield ops
    scribble.clear_raster_cache()


def test_stroke_by_stroke_the_cached_raster_is_the_full_replays_mask(drawn):
    layer = ScribbleLayer(name="ink")
    for op in _operations(3, 30, 96):
        layer = layer.copy(operations=layer.operations + (op,))  # as the canvas commits a stroke
        drawn.clear()
        cached = layer_raster(layer.operations, 96, 80)
        assert len(drawn) == 1 and drawn[0] is op, "only the new operation is drawn"
        assert np.array_equal(cached, rasterize(layer.operations, 96, 80)), "as a full replay draws it"
    assert not layer_raster(layer.operations, 96, 80).flags.writeable, "shared: nobody may paint on it"


def test_edits_that_change_no_pixel_and_undo_reuse_the_raster(drawn):
    ops = tuple(_operations(5, 12, 64))
    layer = ScribbleLayer(name="ink", operations=ops[:-1])
    first = layer_raster(layer.operations, 64, 64)
    longer = layer.copy(operations=layer.operations + ops[-1:])
    second = layer_raster(longer.operations, 64, 64)
    drawn.clear()
    for edited in (longer.copy(weight=0.3), longer.copy(name="x", start=0.2, end=0.5, mode="prompt")):
        assert layer_raster(edited.operations, 64, 64) is second
    assert layer_raster(layer.copy().operations, 64, 64) is first, "undo: the previous version is still cached"
    assert drawn == []
    assert np.array_equal(control_image(longer.copy(weight=1.7), 64, 64), mask_to_control(rasterize(ops, 64, 64)))
    assert layer_raster(longer.operations, 32, 32).shape == (32, 32), "another size is another raster"


def test_the_recipe_and_the_inpaint_mask_are_pixel_identical_to_a_full_replay():
    scribble.clear_raster_cache()
    ops = tuple(_operations(9, 20, 64))
    ink = ScribbleLayer(name="ink", operations=ops)
    layer_raster(ops[:10], 64, 64)  # a cached prefix: the rest is drawn onto a copy of it
    sent = read_image(control_images_png([ink], 64, 64)[ink.id])
    assert np.array_equal(sent, mask_to_control(rasterize(ops, 64, 64)))
    photo = ImageLayer(name="photo", png=b"x", preprocessor="inpaint", mask_operations=ops)
    assert np.array_equal(inpaint_mask(photo, 64, 64), rasterize(ops, 64, 64))


def test_the_cache_drops_the_least_recently_used_masks_past_its_budget():
    cache = _RasterCache(budget_bytes=3 * 64 * 64)
    kept = [tuple(_operations(i, 2, 64)) for i in range(5)]
    for ops in kept:
        cache.put(ops, 64, 64, rasterize(ops, 64, 64))
        cache.get(kept[0], 64, 64)  # the first is used all along
    assert cache.get(kept[0], 64, 64)[1] == 2 and cache.get(kept[4], 64, 64)[1] == 2
    assert cache.get(kept[1], 64, 64) == (None, 0)
