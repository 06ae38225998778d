"""Scribble layers to pixels: strokes replayed in order, white on black, as the model expects.

Consecutive points are joined by round-capped segments, so a fast mouse leaves no gaps;
pressure scales the brush size per segment.
"""

from __future__ import annotations

import cv2
import numpy as np

from desktop.domain.layers import Fill, Stroke


def rasterize(operations, width: int, height: int) -> np.ndarray:
    """(height, width) uint8 mask: 255 where ink is."""
    mask = np.zeros((height, width), np.uint8)
    for op in operations:
        if isinstance(op, Stroke):
            draw_stroke(mask, op)
        elif isinstance(op, Fill):
            _fill(mask, op)
    return mask


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
