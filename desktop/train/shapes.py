"""The `shapes` dataset: synthetic pairs like the paper's fill50k.

One filled shape (circle, square, triangle) at a random place and size, or (with `person_share`)
a posed mannequin (`mannequin.py`), in one palette colour on a background of another; its
outline, white on black, is the control image; the prompt names both colours. Seeded, any size.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from desktop.domain.pose import Person

from .mannequin import draw_mannequin, random_person

PALETTE = {
    "red": (220, 30, 30), "green": (30, 170, 60), "blue": (30, 60, 220), "yellow": (240, 220, 40),
    "purple": (140, 40, 170), "orange": (245, 130, 20), "white": (245, 245, 245), "black": (15, 15, 15),
}
SHAPES = ("circle", "square", "triangle")
PERSON = "person"


@dataclass(frozen=True)
class ShapeSample:
    image: np.ndarray  # (size, size, 3) uint8 target
    outline: np.ndarray  # (size, size, 3) uint8 control: white outline on black
    mask: np.ndarray  # (size, size) bool: the filled shape
    prompt: str
    shape: str
    colour: str
    background: str
    polygon: np.ndarray | None = None  # a shape's vertices (pixels), to draw it again at another scale
    person: Person | None = None  # a mannequin's skeleton (pixels)


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


def make_sample(rng: np.random.Generator, size: int = 64, outline_width: int | None = None,
                person_share: float = 0.0) -> ShapeSample:
    """A random shape, or with probability `person_share` a random mannequin (`person_share` 0 draws
    exactly the shapes of earlier versions, seed for seed)."""
    names = list(PALETTE)
    if person_share > 0.0 and rng.random() < person_share:
        colour, background = rng.choice(len(names), size=2, replace=False)
        return render_person(random_person(rng, size), names[colour], names[background], size, outline_width)
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
    return ShapeSample(image, np.repeat(outline[:, :, None], 3, axis=2), mask > 0, _prompt(shape, colour, background),
                       shape, colour, background, polygon=polygon)


def render_person(person: Person, colour: str, background: str, size: int,
                  outline_width: int | None = None) -> ShapeSample:
    """A mannequin sample; its outline is the figure's contour, as a user would draw round it."""
    image = np.empty((size, size, 3), np.uint8)
    image[:] = PALETTE[background]
    draw_mannequin(image, person, PALETTE[colour])
    mask = np.zeros((size, size), np.uint8)
    draw_mannequin(mask, person, 255)
    contours, _ = cv2.findContours((mask > 127).astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    outline = np.zeros((size, size), np.uint8)
    cv2.drawContours(outline, contours, -1, 255, thickness=outline_width or max(1, size // 32))
    return ShapeSample(image, np.repeat(outline[:, :, None], 3, axis=2), mask > 127,
                       _prompt(PERSON, colour, background), PERSON, colour, background, person=person)


def _prompt(subject: str, colour: str, background: str) -> str:
    article = "an" if colour[0] in "aeiou" else "a"
    return f"{article} {colour} {subject} on a {background} background"


def make_batch(rng: np.random.Generator, count: int, size: int = 64) -> list[ShapeSample]:
    return [make_sample(rng, size) for _ in range(count)]
