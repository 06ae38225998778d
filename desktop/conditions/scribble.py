"""Scribble layers to pixels: strokes replayed in order, white on black, as the model expects.

Consecutive points are joined by round-capped segments, so a fast mouse leaves no gaps;
pressure scales the brush size per segment.

`layer_raster` is what the app calls: a layer's operations are rasterised once and kept by
content (the operations tuple itself, which an edit of any other field, an undo snapshot and a
worker's snapshot all share). A tuple that extends a cached one (a new stroke, a redo) draws
only its new operations onto a copy of the cached mask, which gives the very pixels a full replay
gives, because each operation draws onto the mask its predecessors left. The canvas, the layer
thumbnail and the recipe's control image all read the one raster.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import cv2
import numpy as np

from desktop.domain.layers import Fill, Stroke

RASTER_CACHE_BYTES = 96 * 2**20  # ~380 masks at 512 x 512: every layer's latest versions and their undo steps


def rasterize(operations, width: int, height: int) -> np.ndarray:
    """(height, width) uint8 mask: 255 where ink is. A full replay into a new, writable array."""
    mask = np.zeros((height, width), np.uint8)
    for op in operations:
        draw_operation(mask, op)
    return mask


def draw_operation(mask: np.ndarray, op) -> None:
    """One operation onto `mask`, in place: the unit every rasterisation is made of."""
    if isinstance(op, Stroke):
        draw_stroke(mask, op)
    elif isinstance(op, Fill):
        _fill(mask, op)


def draw_stroke(mask: np.ndarray, stroke: Stroke) -> None:
    value = 0 if stroke.erase else 255
    points = stroke.points
    if not points:
        return
    for (x0, y0, p0), (x1, y1, p1) in zip(points, points[1:]):
        thickness = max(1, int(round(stroke.size * (p0 + p1) / 2)))
        cv2.line(mask, _px(x0, y0), _px(x1, y1), value, thickness=thickness, lineType=cv2.LINE_AA)
    for x, y, pressure in points[:: max(1, len(points) - 1)]:
        radius = max(1, int(round(stroke.size * pressure / 2)))
        cv2.circle(mask, _px(x, y), radius, value, thickness=-1, lineType=cv2.LINE_AA)


def _fill(mask: np.ndarray, fill: Fill) -> None:
    x, y = int(fill.x), int(fill.y)
    height, width = mask.shape
    if not (0 <= x < width and 0 <= y < height):
        return
    binary = (mask >= 128).astype(np.uint8)
    region = np.zeros((height + 2, width + 2), np.uint8)
    cv2.floodFill(binary, region, (x, y), 2, flags=4)
    mask[binary == 2] = 0 if fill.erase else 255


def _px(x: float, y: float) -> tuple[int, int]:
    return int(round(x)), int(round(y))


def mask_to_control(mask: np.ndarray) -> np.ndarray:
    return np.repeat(mask[:, :, None], 3, axis=2)


# -- the raster cache ------------------------------------------------------------------------------
class _RasterCache:
    """Masks by (operations tuple identity, width, height), least recently used out first. An entry
    holds its tuple, so the id it is filed under cannot be reused while it lives. Thread-safe: the
    UI thread and the generation worker read it; drawing happens outside the lock."""

    def __init__(self, budget_bytes: int) -> None:
        self.budget = budget_bytes
        self._entries: OrderedDict[tuple[int, int, int], tuple[tuple, np.ndarray]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, operations: tuple, width: int, height: int) -> tuple[np.ndarray | None, int]:
        """The cached mask of `operations` (and len(operations)), else the longest cached prefix of it
        (same operation objects, in order) and its length, else (None, 0)."""
        key = (id(operations), width, height)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[0] is operations:
                self._entries.move_to_end(key)
                return entry[1], len(operations)
            best, best_len = None, 0
            for (_, w, h), (ops, mask) in self._entries.items():
                n = len(ops)
                if (w, h) != (width, height) or not best_len < n < len(operations) or ops[0] is not operations[0]:
                    continue
                if all(a is b for a, b in zip(ops, operations)):
                    best, best_len = mask, n
            return best, best_len

    def put(self, operations: tuple, width: int, height: int, mask: np.ndarray) -> None:
        key = (id(operations), width, height)
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old[1].nbytes
            self._entries[key] = (operations, mask)
            self._bytes += mask.nbytes
            while self._bytes > self.budget and len(self._entries) > 1:
                _, (_, dropped) = self._entries.popitem(last=False)
                self._bytes -= dropped.nbytes

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0


_cache = _RasterCache(RASTER_CACHE_BYTES)


def layer_raster(operations, width: int, height: int) -> np.ndarray:
    """The (height, width) uint8 mask of a layer's operations, as `rasterize` draws it, read-only and
    shared: rasterised once per content, and only the operations a cached version lacks."""
    if not isinstance(operations, tuple):
        operations = tuple(operations)
    if not operations:
        mask = np.zeros((height, width), np.uint8)
        mask.setflags(write=False)
        return mask
    base, done = _cache.get(operations, width, height)
    if base is not None and done == len(operations):
        return base
    mask = np.zeros((height, width), np.uint8) if base is None else base.copy()
    for op in operations[done:]:
        draw_operation(mask, op)
    mask.setflags(write=False)
    _cache.put(operations, width, height, mask)
    return mask


def clear_raster_cache() -> None:
    """Forget every cached mask (tests, or memory pressure)."""
    _cache.clear()
