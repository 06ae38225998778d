"""The `shapes` dataset: synthetic pairs like the paper's fill50k.

One filled shape (circle, square, triangle) at a random place and size, in one palette colour
on a background of another; its outline, white on black, is the control image; the prompt
names both colours. Seeded, any size.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

PALETTE = {
    "red": (220, 30, 30), "green": (30, 170, 60), "blue": (30, 60, 220), "yellow": (240, 220, 40),
    "purple": (140, 40, 170), "orange": (245, 130, 20), "white": (245, 245, 245), "black": (15, 15, 15),
}
SHAPES = ("circle", "square", "triangle")


@dataclass(frozen=True)
class ShapeSample:
    image: np.ndarray  # (size, size, 3) uint8 target
    outline: np.ndarray  # (size, size, 3) uint8 control: white outline on black
    mask: np.ndarray  # (size, size) bool: the filled shape
    prompt: str
    shape: str
    colour: str
    background: str


def shape_polygon(rng: np.random.Generator, shape: str, size: int) -> np.ndarray:
    """Vertices (float, pixels) of a random shape that fits in the canvas with a margin."""
    radius = rng.uniform(0.18, 0.38) * size
    cx = rng.uniform(radius + 2, size - radius - 2)
    cy = rng.uniform(radius + 2, size - radius - 2)
    if shape == "circle":
        angles = np.linspace(0, 2 * np.pi, 64, endpoint=False)
    elif shape == "square":
        angles = np.array([0.25, 0.75, 1.25, 1.75]) * np.pi + rng.uniform(0, np.pi / 2)
    else:
        angles = np.array([0, 2 / 3, 4 / 3]) * np.pi + rng.uniform(0, 2 * np.pi)
    return np.stack([cx + radius * np.cos(angles), cy + radius * np.sin(angles)], axis=1)


def make_sample(rng: np.random.Generator, size: int = 64, outline_width: int | None = None) -> ShapeSample:
    names = list(PALETTE)
    colour, background = rng.choice(len(names), size=2, replace=False)
    shape = SHAPES[rng.integers(len(SHAPES))]
    polygon = shape_polygon(rng, shape, size)
    return render_sample(polygon, shape, names[colour], names[background], size, outline_width)


def render_sample(polygon: np.ndarray, shape: str, colour: str, background: str, size: int,
                  outline_width: int | None = None) -> ShapeSample:
    width = outline_width or max(1, size // 32)
    points = np.round(polygon * 16).astype(np.int32)
    image = np.empty((size, size, 3), np.uint8)
    image[:] = PALETTE[background]
    cv2.fillPoly(image, [points], PALETTE[colour], lineType=cv2.LINE_AA, shift=4)
    mask = np.zeros((size, size), np.uint8)
    cv2.fillPoly(mask, [points], 255, shift=4)
    outline = np.zeros((size, size), np.uint8)
    cv2.polylines(outline, [points], True, 255, thickness=width, lineType=cv2.LINE_AA, shift=4)
    article = "an" if colour[0] in "aeiou" else "a"
    prompt = f"{article} {colour} {shape} on a {background} background"
    return ShapeSample(image, np.repeat(outline[:, :, None], 3, axis=2), mask > 0, prompt, shape, colour, background)


def make_batch(rng: np.random.Generator, count: int, size: int = 64) -> list[ShapeSample]:
    return [make_sample(rng, size) for _ in range(count)]
